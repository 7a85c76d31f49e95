//! C2SP tlog-checkpoint: a log's signed tree head, as the text of a signed note.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <base64 RFC 9162 root hash>
//! [extension lines]
//! ```
//!
//! Parsing is strict and canonical, so [`Checkpoint::to_text`] of a parsed
//! checkpoint gives back the same bytes. This crate requires the log key's name
//! to equal the origin (tlog-checkpoint "Signatures" says it SHOULD).

pub mod consistency;

// RFC 4648 §4 standard base64 with canonical padding and no trailing bits.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::note::{MAX_TEXT_LEN, Note, NoteError, NoteSigner, NoteVerifier};

/// Errors from parsing, signing and verifying checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint text is malformed at the given line.
    #[error("malformed checkpoint, line {line}: {reason}")]
    Malformed {
        /// 1-based line number in the checkpoint text.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The checkpoint text is longer than the note text limit.
    #[error("checkpoint is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Length of the text in bytes.
        len: usize,
        /// The limit, [`MAX_TEXT_LEN`].
        max: usize,
    },
    /// The origin line is not the log key's name.
    #[error("checkpoint origin {origin:?} does not match log key name {key_name:?}")]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
        /// The log key's name.
        key_name: String,
    },
    /// The signed note is malformed or does not verify.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
}

/// A tree head: origin, size and root hash, plus optional opaque extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin, its unique identity; equal to the log key's name.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 9162 Merkle tree root hash at `size`.
    pub root: [u8; 32],
    /// Extension lines, without newlines; each must be non-empty (use is NOT RECOMMENDED).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root lines, then the extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parse a checkpoint text strictly (see the module docs for the format).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] naming the first bad line, or [`CheckpointError::TooLarge`].
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(CheckpointError::TooLarge {
                len: text.len(),
                max: MAX_TEXT_LEN,
            });
        }
        let mut lines: Vec<&str> = text.split('\n').collect();
        // A text ending in a newline splits into its lines plus one empty string.
        if lines.pop() != Some("") {
            return Err(malformed(lines.len() + 1, "missing final newline"));
        }
        for (i, line) in lines.iter().enumerate() {
            check_line(line, i + 1)?;
        }
        let origin = lines.first().ok_or(malformed(1, "missing origin line"))?;
        if origin.is_empty() {
            return Err(malformed(1, "origin is empty"));
        }
        let size = parse_size(lines.get(1).ok_or(malformed(2, "missing tree size line"))?)?;
        let root = parse_root(lines.get(2).ok_or(malformed(3, "missing root hash line"))?)?;
        // Three lines were read above, so `3..` is in bounds.
        let extensions = &lines[3..];
        if let Some(i) = extensions.iter().position(|l| l.is_empty()) {
            return Err(malformed(4 + i, "extension line is empty"));
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|l| (*l).to_owned()).collect(),
        })
    }

    /// Sign this checkpoint with the log key, giving a one-signature note.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] when a field would not parse back (empty origin,
    /// newline or control character in a line, empty extension line),
    /// [`CheckpointError::OriginMismatch`] when the key name is not the origin.
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        if self.origin.is_empty() {
            return Err(malformed(1, "origin is empty"));
        }
        check_line(&self.origin, 1)?;
        for (i, ext) in self.extensions.iter().enumerate() {
            if ext.is_empty() {
                return Err(malformed(4 + i, "extension line is empty"));
            }
            check_line(ext, 4 + i)?;
        }
        if self.origin != signer.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key_name: signer.name().to_owned(),
            });
        }
        let text = self.to_text();
        let mut note = Note::new(&text)?;
        note.add_signature(signer.sign(&text)?);
        Ok(note)
    }
}

fn malformed(line: usize, reason: &'static str) -> CheckpointError {
    CheckpointError::Malformed { line, reason }
}

/// A line may hold neither a newline nor another ASCII control character (signed-note).
fn check_line(line: &str, number: usize) -> Result<(), CheckpointError> {
    if line.bytes().any(|b| b < b' ') {
        return Err(malformed(number, "control character or newline"));
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zero unless the size is 0, fits in a u64.
fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if line.is_empty() {
        return Err(malformed(2, "tree size is empty"));
    }
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(2, "tree size is not an unsigned decimal number"));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(malformed(2, "tree size has a leading zero"));
    }
    line.parse::<u64>()
        .map_err(|_| malformed(2, "tree size does not fit in 64 bits"))
}

/// Standard padded base64 of exactly 32 bytes.
fn parse_root(line: &str) -> Result<[u8; 32], CheckpointError> {
    let bad_len = malformed(3, "root hash is not 32 bytes");
    if line.len() > 64 {
        return Err(bad_len);
    }
    let raw = BASE64
        .decode(line)
        .map_err(|_| malformed(3, "root hash is not base64"))?;
    raw.try_into().map_err(|_| bad_len)
}

/// A checkpoint whose note verified under the pinned log key; only [`verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl VerifiedCheckpoint {
    /// The parsed checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note it came from, with every signature line as received (witness cosignatures included).
    pub fn note(&self) -> &Note {
        &self.note
    }
}

/// Parse a signed checkpoint note, verify the log key's signature, and parse the body.
///
/// The log key's name must equal the origin; signatures from other keys (such as witness
/// cosignatures) are ignored here.
///
/// # Errors
/// [`CheckpointError::Note`] when the note is malformed or the log key's signature is missing or
/// bad, [`CheckpointError::Malformed`] for a bad body, [`CheckpointError::OriginMismatch`].
pub fn verify(
    note_text: &str,
    log_key: &NoteVerifier,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = Note::parse(note_text)?;
    note.verify(std::slice::from_ref(log_key))?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != log_key.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: log_key.name().to_owned(),
        });
    }
    Ok(VerifiedCheckpoint { checkpoint, note })
}
