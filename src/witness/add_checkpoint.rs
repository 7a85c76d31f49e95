//! The c2sp.org/tlog-witness `add-checkpoint` request: its body, and the answer a witness gives
//! it, without HTTP. The server (`evledger witness serve`, `src/serve/witness_server.rs`) only
//! moves bytes to [`answer`] and back; the checks are [`Witness::cosign`]'s.
//!
//! A request body is an old size line (`old N`), zero to 63 consistency proof lines (standard
//! base64 of 32 bytes), an empty line, then the signed checkpoint note; every line ends in a
//! newline. `specs/witness.md` §7 maps each outcome to its status code.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Witness, WitnessError};
use crate::checkpoint::consistency::{InconsistencyReason, ProofFile, parse_decimal, parse_hash};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::merkle::ConsistencyProof;
use crate::note::{Note, NoteError};

/// Most proof lines a request may carry (tlog-witness: "MUST NOT send more than 63").
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body: 128 KiB. The old size line and 63 proof lines take under 3 KiB; a
/// checkpoint note is three lines, a few extension lines and its signatures, about 130 bytes per
/// cosignature, so 100 signature lines (the note limit) fit with ample room. The signed-note
/// format would allow notes up to [`crate::note::MAX_NOTE_LEN`] (1.8 MiB), which no checkpoint needs; a
/// witness serving the Internet should not read that much from anyone. A longer body is refused
/// with 413, unread.
pub const MAX_REQUEST_LEN: usize = 128 * 1024;

/// The media type of a 409 answer's body (tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: ConsistencyProof,
    /// The signed checkpoint note, exactly as received.
    pub note: String,
}

impl AddCheckpoint {
    /// The request body: `old N`, the proof lines, an empty line, the note.
    pub fn to_body(&self) -> String {
        let file = ProofFile {
            old_size: self.old_size,
            new_size: None,
            proof: self.proof.clone(),
        };
        format!("{}\n{}", file.to_text(), self.note)
    }

    /// Parses a request body strictly.
    ///
    /// # Errors
    /// A message naming the first bad line.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, String> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(format!("the body is over {MAX_REQUEST_LEN} bytes"));
        }
        let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
        let mut rest = text;
        let mut line_no = 0;
        let mut next_line = |rest: &mut &str| -> Result<(usize, String), String> {
            line_no += 1;
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| format!("line {line_no}: missing, or not ending in a newline"))?;
            *rest = after;
            Ok((line_no, line.to_owned()))
        };
        let (_, first) = next_line(&mut rest)?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or("line 1: expected `old <size>` (ASCII decimal, no leading zeros)")?;
        let mut hashes = Vec::new();
        loop {
            let (n, line) = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_LINES {
                return Err(format!(
                    "line {n}: more than {MAX_PROOF_LINES} consistency proof lines"
                ));
            }
            hashes.push(parse_hash(&line).ok_or_else(|| {
                format!("line {n}: not the standard base64 of a 32-byte hash (a consistency proof line), nor the empty line before the checkpoint")
            })?);
        }
        Ok(AddCheckpoint {
            old_size,
            proof: ConsistencyProof::new(hashes),
            note: rest.to_owned(),
        })
    }
}

/// A witness's answer to `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body's media type.
    pub content_type: &'static str,
    /// The body: cosignature lines (200), the known size (409), or a message.
    pub body: String,
}

impl Answer {
    fn text(status: u16, message: impl Into<String>) -> Answer {
        let mut body = message.into();
        body.push('\n');
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
        }
    }

    fn conflict(size: u64) -> Answer {
        Answer {
            status: 409,
            content_type: SIZE_CONTENT_TYPE,
            body: format!("{size}\n"),
        }
    }
}

/// The current time in POSIX seconds, for a cosignature's timestamp.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers one `add-checkpoint` request body, cosigning at `timestamp` if every check passes.
/// Never panics; every refusal leaves the witness's state unchanged.
pub fn answer(witness: &Witness, body: &[u8], timestamp: u64) -> Answer {
    let req = match AddCheckpoint::parse(body) {
        Ok(r) => r,
        Err(e) => return Answer::text(400, format!("malformed add-checkpoint body: {e}")),
    };
    // The origin decides 404 before any signature is checked (tlog-witness: an unknown origin
    // is 404, a known one without a valid signature 403).
    let cp = match Note::parse(&req.note)
        .map_err(CheckpointError::Note)
        .and_then(|n| Checkpoint::parse(n.text()))
    {
        Ok(cp) => cp,
        Err(e) => return Answer::text(400, format!("malformed checkpoint: {e}")),
    };
    let watched = witness.log_key().name();
    if cp.origin != watched {
        return Answer::text(
            404,
            format!(
                "unknown log: this witness watches only the log {watched:?}, not {:?}",
                cp.origin
            ),
        );
    }
    if req.old_size > cp.size {
        return Answer::text(
            400,
            format!(
                "old size {} is larger than the checkpoint's size {}",
                req.old_size, cp.size
            ),
        );
    }
    let proof = ProofFile {
        old_size: req.old_size,
        new_size: None,
        proof: req.proof,
    };
    match witness.cosign(&req.note, Some(&proof), timestamp) {
        Ok(c) => Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: format!("{}\n", c.signature),
        },
        Err(e) => refusal(e),
    }
}

/// The status of each refusal of [`Witness::cosign`], as tlog-witness specifies.
fn refusal(e: WitnessError) -> Answer {
    use WitnessError as W;
    match e {
        W::MalformedCheckpoint(_) => Answer::text(400, e.to_string()),
        W::NotSigned { .. } => Answer::text(403, e.to_string()),
        W::WrongOrigin { .. } => Answer::text(404, e.to_string()),
        // The old size is not the size last cosigned: the client learns that size and asks again.
        W::Older { cosigned_size, .. } | W::WrongProof { cosigned_size, .. } => {
            Answer::conflict(cosigned_size)
        }
        // Same size, other root (or a size-0 tree with another root): the log signed two trees.
        W::Inconsistent(i)
            if matches!(
                i.reason,
                InconsistencyReason::SameSizeDifferentRoots | InconsistencyReason::EmptyTreeRoot
            ) =>
        {
            Answer::conflict(i.older.size)
        }
        W::Inconsistent(_) | W::MalformedProof(_) | W::ProofRequired { .. } => {
            Answer::text(422, e.to_string())
        }
        W::Sign(NoteError::TooManySignatures { .. }) => Answer::text(400, e.to_string()),
        other => {
            eprintln!("add-checkpoint: {other}");
            Answer::text(500, format!("the witness could not answer: {other}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AddCheckpoint, MAX_PROOF_LINES, MAX_REQUEST_LEN};
    use crate::merkle::ConsistencyProof;

    const H: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn bodies_parse_strictly_and_round_trip() {
        let req = AddCheckpoint::parse(format!("old 5\n{H}\n{H}\n\nnote\n").as_bytes()).unwrap();
        assert_eq!(req.old_size, 5);
        assert_eq!(req.proof.len(), 2);
        assert_eq!(req.note, "note\n");
        assert_eq!(req.to_body(), format!("old 5\n{H}\n{H}\n\nnote\n"));
        let empty = AddCheckpoint {
            old_size: 0,
            proof: ConsistencyProof::default(),
            note: "n\n".into(),
        };
        assert_eq!(
            AddCheckpoint::parse(empty.to_body().as_bytes()).unwrap(),
            empty
        );
    }

    #[test]
    fn malformed_bodies_name_the_line() {
        let bad = |b: &str, want: &str| {
            let e = AddCheckpoint::parse(b.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{b:?}: {e}");
        };
        bad("", "line 1: missing");
        bad("old 5", "line 1: missing");
        bad("old -1\n\n", "line 1: expected `old <size>`");
        bad("old 007\n\n", "line 1");
        bad("old 1\n", "line 2: missing");
        bad(
            &format!("old 1\n{H}x\n\n"),
            "line 2: not the standard base64",
        );
        bad(&format!("old 1\n{H}\n"), "line 3: missing");
        let many = format!("old 1\n{}\n", format!("{H}\n").repeat(MAX_PROOF_LINES + 1));
        bad(&many, "line 65: more than 63");
        assert!(
            AddCheckpoint::parse(&[0xff, b'\n'])
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(
            AddCheckpoint::parse(&vec![b'\n'; MAX_REQUEST_LEN + 1])
                .unwrap_err()
                .contains("over")
        );
    }
}
