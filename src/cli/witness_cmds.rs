//! `evledger witness init|cosign|add|list`, `evledger checkpoint --cosigned` and
//! `evledger consistency-check`.

use std::io::Write as _;
use std::path::Path;

// RFC 4648 §4 standard base64, as roots appear in checkpoints.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::CliError;
use crate::checkpoint::consistency::{CheckError, ProofFile, check_pair};
use crate::checkpoint::{self, VerifiedCheckpoint};
use crate::keys;
use crate::ledger::Ledger;
use crate::ledger::cosignatures;
use crate::ledger::witnesses::WitnessError as WitnessesError;
use crate::note::{CosignatureVerifier, NoteVerifier};
use crate::witness::{LOG_VKEY_FILE, Witness, WitnessError};

/// Exit code of a usage error (as clap uses for bad arguments).
pub const EXIT_USAGE: i32 = 2;

/// Writes `text` to stdout in one piece; a closed pipe ends the process quietly with success.
pub(super) fn print_all(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Largest file these commands read: a signed note at its largest (its text and 100 signature
/// lines, [`crate::note::MAX_NOTE_LEN`]). Proof, key and cosigned-note files are smaller still.
/// A longer file is refused after reading one byte past the limit, so a file of any size costs
/// at most this much memory.
pub const MAX_INPUT_LEN: usize = crate::note::MAX_NOTE_LEN;

fn read_text(path: &Path) -> Result<String, CliError> {
    use std::io::Read as _;
    let err = |e: std::io::Error| CliError::new(format!("{}: {e}", path.display()));
    let f = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    f.take(MAX_INPUT_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() > MAX_INPUT_LEN {
        return Err(CliError::new(format!(
            "{}: over the limit of {MAX_INPUT_LEN} bytes",
            path.display()
        ))
        .hint("a signed note, its proof and key files are far smaller: is this the right file?"));
    }
    String::from_utf8(bytes).map_err(|_| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// A C2SP verifier key given as the key itself or as a file holding it on one line.
pub(super) fn parse_log_key(arg: &str) -> Result<NoteVerifier, CliError> {
    let direct = NoteVerifier::parse(arg);
    if let Ok(v) = direct {
        return Ok(v);
    }
    let path = Path::new(arg);
    if path.is_file() {
        let text = read_text(path)?;
        return NoteVerifier::parse(text.trim_end_matches('\n')).map_err(|e| {
            CliError::new(format!("--log-key {}: {e}", path.display()))
                .hint("the file must hold the line `evledger init` printed: <name>+<key id>+<key>")
        });
    }
    Err(CliError::new(format!(
        "--log-key: {}",
        direct.err().map(|e| e.to_string()).unwrap_or_default()
    ))
    .hint("pass the log's verifier key as `evledger init` printed it (<name>+<key id>+<key>), or a file holding it"))
}

fn read_proof(path: &Path) -> Result<ProofFile, CliError> {
    ProofFile::parse(&read_text(path)?).map_err(|e| {
        CliError::new(format!("{}: {e}", path.display()))
            .hint("use what `evledger consistency OLD NEW` prints (`old N`, then one base64 hash per line)")
    })
}

impl From<WitnessError> for CliError {
    fn from(e: WitnessError) -> CliError {
        let e = match e {
            WitnessError::Key(k) => return k.into(),
            other => other,
        };
        let hint = match &e {
            WitnessError::Exists(_) => Some("choose another --out directory".to_owned()),
            WitnessError::NotAWitness { .. } => {
                Some("create one with: evledger witness init --name NAME --log-key VKEY --out DIR".to_owned())
            }
            WitnessError::NotSigned { .. } | WitnessError::WrongOrigin { .. } => Some(format!(
                "this witness only cosigns checkpoints of the log in its {LOG_VKEY_FILE}"
            )),
            WitnessError::WrongProof {
                cosigned_size,
                size,
                ..
            } if cosigned_size == size => Some(
                "the checkpoint has the size last cosigned: it needs no --proof".to_owned(),
            ),
            WitnessError::ProofRequired {
                cosigned_size,
                size,
                ..
            }
            | WitnessError::WrongProof {
                cosigned_size,
                size,
                ..
            } => Some(format!(
                "on the ledger, run `evledger consistency {cosigned_size} {size} > proof.txt` and pass --proof proof.txt"
            )),
            WitnessError::Older { .. } => Some(
                "a witness never cosigns a checkpoint smaller than one it cosigned; cosign the log's latest checkpoint"
                    .to_owned(),
            ),
            WitnessError::Inconsistent(_) => Some(
                "keep this checkpoint and proof: with the log's signature they are evidence against the log; the state file holds the root cosigned before"
                    .to_owned(),
            ),
            _ => None,
        };
        let err = CliError::new(e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

/// `evledger witness init`.
pub fn init(name: &str, log_key: &str, out: &Path, key: Option<&Path>) -> Result<(), CliError> {
    let log_key = parse_log_key(log_key)?;
    let key = key.map(keys::read_signing_key).transpose()?;
    let witness = Witness::init(out, name, &log_key, key)?;
    eprintln!(
        "created witness state directory {} watching {}; buyers pin this cosignature key under [witnesses] in their trust file:",
        out.display(),
        log_key.name()
    );
    print_all(&format!("{}\n", witness.verifier()));
    Ok(())
}

/// `evledger witness cosign`.
pub fn cosign(
    checkpoint: &Path,
    proof: Option<&Path>,
    state: &Path,
    time: Option<u64>,
) -> Result<(), CliError> {
    let note = read_text(checkpoint)?;
    let proof = proof.map(read_proof).transpose()?;
    let witness = Witness::open(state)?;
    let timestamp = match time {
        Some(t) => t,
        None => u64::try_from(super::now())
            .map_err(|_| CliError::new("the system clock is before 1970"))?,
    };
    let cosigned = witness
        .cosign(&note, proof.as_ref(), timestamp)
        .map_err(|e| CliError::from(e).prefix(&checkpoint.display().to_string()))?;
    print_all(&cosigned.note);
    let cp = &cosigned.checkpoint;
    let before = match cosigned.previous {
        Some(p) if p.size == cp.size => "the size it had cosigned before".to_owned(),
        Some(p) => format!("extends size {} cosigned before", p.size),
        None => "the first checkpoint cosigned for this log".to_owned(),
    };
    eprintln!(
        "cosigned {} size {} at time {timestamp}: {before}",
        crate::terminal::escape(&cp.origin),
        cp.size
    );
    Ok(())
}

/// `evledger checkpoint --cosigned FILE...`: every line of every file is checked against the
/// configured witnesses before anything is stored; one bad line stores nothing.
pub fn collect(dir: &Path, files: &[std::path::PathBuf]) -> Result<(), CliError> {
    let mut ledger = Ledger::open(dir)?;
    let texts = files
        .iter()
        .map(|f| read_text(f))
        .collect::<Result<Vec<_>, _>>()?;
    let notes: Vec<&str> = texts.iter().map(String::as_str).collect();
    let collected = cosignatures::collect(&mut ledger, &notes).map_err(|(i, e)| {
        use cosignatures::CollectError as E;
        let file = files.get(i).map(|f| f.display().to_string()).unwrap_or_default();
        let hint = match &e {
            E::NoWitnesses => {
                return CliError::new(e.to_string()).hint(
                    "add each witness whose cosignatures you collect: evledger witness add VKEY (the key `evledger witness init` printed for it)",
                );
            }
            E::Store(_) | E::Ledger(_) => return CliError::new(format!("nothing stored: {e}")),
            E::NoCheckpoint { .. } | E::NotThisCheckpoint { .. } => {
                "give the witness a checkpoint printed by `evledger checkpoint` for this ledger"
            }
            E::UnknownWitness { .. } => {
                "`evledger witness list` shows the configured witnesses; add this one with `evledger witness add VKEY` if you trust it, or remove the line"
            }
            E::BadCosignature { .. } => {
                "the line is not this witness's cosignature of this checkpoint; ask the witness to cosign it again"
            }
            E::MalformedNote(_) | E::MalformedCheckpoint(_) => {
                "give the note as `evledger witness cosign` printed it"
            }
        };
        CliError::new(format!(
            "{file}: {}; nothing was stored",
            crate::terminal::escape(&e.to_string())
        ))
        .hint(hint)
    })?;
    let mut printed: Vec<(u64, String)> = Vec::new();
    for (f, c) in files.iter().zip(collected) {
        eprintln!(
            "{}: stored {} new cosignature line(s) for the checkpoint of size {} ({} ignored: already stored, or the log's own)",
            f.display(),
            c.added,
            c.size,
            c.ignored
        );
        printed.retain(|(size, _)| *size != c.size);
        printed.push((c.size, c.note));
    }
    printed.sort_by_key(|(size, _)| *size);
    for (_, note) in printed {
        print_all(&note);
    }
    Ok(())
}

/// A cosignature verifier key given as the key itself or as a file holding it on one line.
fn parse_witness_key(arg: &str) -> Result<CosignatureVerifier, CliError> {
    let direct = CosignatureVerifier::parse(arg);
    if let Ok(v) = direct {
        return Ok(v);
    }
    let path = Path::new(arg);
    if path.is_file() {
        let text = read_text(path)?;
        return CosignatureVerifier::parse(text.trim_end_matches('\n')).map_err(|e| {
            CliError::new(format!("{}: {e}", path.display())).hint(
                "the file must hold the line `evledger witness init` printed: <name>+<key id>+<key>",
            )
        });
    }
    Err(CliError::new(format!(
        "VKEY: {}",
        direct.err().map(|e| e.to_string()).unwrap_or_default()
    ))
    .hint("pass the witness's cosignature key as `evledger witness init` printed it (<name>+<key id>+<key>, type 0x04), or a file holding it"))
}

/// `evledger witness add`.
pub fn add(dir: &Path, vkey: &str, url: Option<&str>) -> Result<(), CliError> {
    let verifier = parse_witness_key(vkey)?;
    let mut ledger = Ledger::open(dir)?;
    ledger.add_witness(&verifier, url).map_err(|e| {
        let err = CliError::new(crate::terminal::escape(&e.to_string()));
        match e {
            WitnessesError::Store(crate::store::StoreError::WitnessConflict { .. }) => err.hint(
                "a witness is configured once, under one name and one key; `evledger witness list` shows them",
            ),
            WitnessesError::Store(s) => s.into(),
            WitnessesError::Ledger(l) => l.into(),
            _ => err,
        }
    })?;
    eprintln!(
        "added witness {}: `evledger checkpoint --cosigned` now stores its cosignatures",
        crate::terminal::escape(verifier.name())
    );
    Ok(())
}

/// `evledger witness list`.
pub fn list(dir: &Path, json_out: bool) -> Result<(), CliError> {
    let ledger = Ledger::open_read_only(dir)?;
    let witnesses = ledger.witnesses()?;
    if json_out {
        let list: Vec<_> = witnesses
            .iter()
            .map(|w| {
                let mut o = serde_json::json!({
                    "name": w.verifier.name(),
                    "vkey": w.verifier.to_string(),
                });
                if let Some(u) = &w.url {
                    o["url"] = serde_json::Value::String(u.clone());
                }
                o
            })
            .collect();
        print_all(&format!("{}\n", serde_json::Value::Array(list)));
        return Ok(());
    }
    let mut out = String::new();
    for w in &witnesses {
        out.push_str(&crate::terminal::escape(&w.verifier.to_string()));
        if let Some(u) = &w.url {
            out.push(' ');
            out.push_str(&crate::terminal::escape(u));
        }
        out.push('\n');
    }
    print_all(&out);
    if witnesses.is_empty() {
        eprintln!(
            "no witness is configured; `evledger witness add VKEY` adds one, and `evledger checkpoint --cosigned` stores only configured witnesses' cosignatures"
        );
    }
    Ok(())
}

/// `evledger consistency-check`.
pub fn consistency_check(
    a: &Path,
    b: &Path,
    log_key: Option<&str>,
    trust: Option<&Path>,
    proof: Option<&Path>,
) -> Result<(), CliError> {
    let usage = |e: CliError| e.code(EXIT_USAGE);
    let keys: Vec<NoteVerifier> = match (log_key, trust) {
        (Some(k), _) => vec![parse_log_key(k).map_err(usage)?],
        (None, Some(t)) => {
            // Every pinned log key, whatever size range the trust file gives it: this command
            // asks whether two checkpoints are one history, not whether a bundle is trusted.
            super::trust_file::load(t)
                .map_err(usage)?
                .log_keys
                .into_iter()
                .map(|k| k.verifier)
                .collect()
        }
        (None, None) => {
            return Err(usage(CliError::new("give --log-key VKEY or --trust FILE")));
        }
    };
    let text_a = read_text(a).map_err(usage)?;
    let text_b = read_text(b).map_err(usage)?;
    let proof = proof.map(read_proof).transpose().map_err(usage)?;
    let va = verify_with(&text_a, &keys, a)?;
    let vb = verify_with(&text_b, &keys, b)?;
    let (ca, cb) = (va.checkpoint(), vb.checkpoint());
    match check_pair(&va, &vb, proof.as_ref()) {
        Ok(()) => {
            let (o, n) = if ca.size <= cb.size {
                (ca, cb)
            } else {
                (cb, ca)
            };
            if o.size == n.size {
                print_all(&format!(
                    "consistent: both checkpoints of {} are size {} with root {}\n",
                    o.origin,
                    o.size,
                    BASE64.encode(o.root)
                ));
            } else {
                print_all(&format!(
                    "consistent: {} size {} (root {}) is a prefix of size {} (root {})\n",
                    crate::terminal::escape(&o.origin),
                    o.size,
                    BASE64.encode(o.root),
                    n.size,
                    BASE64.encode(n.root)
                ));
            }
            Ok(())
        }
        Err(CheckError::Inconsistent(i)) => {
            let headline = if i.is_conclusive() {
                "INCONSISTENT: the log has shown two histories"
            } else {
                "INCONSISTENT: the log has shown two histories, or served a wrong proof"
            };
            let mut out = format!("{headline}\n");
            for (path, c) in [(a, ca), (b, cb)] {
                out.push_str(&format!(
                    "  {}: origin {}, size {}, root {}\n",
                    path.display(),
                    crate::terminal::escape(&c.origin),
                    c.size,
                    BASE64.encode(c.root)
                ));
            }
            print_all(&out);
            Err(CliError::new(format!("{} and {}: {i}", a.display(), b.display())).hint(
                "keep both signed checkpoint files (and the proof): signed by the log key, they are the evidence",
            ))
        }
        Err(e @ CheckError::ProofRequired { .. }) => Err(usage(CliError::new(e.to_string()).hint(
            "on the ledger, `evledger consistency OLD NEW > proof.txt` prints it; pass --proof proof.txt",
        ))),
        Err(e) => Err(CliError::new(e.to_string())),
    }
}

/// Verifies a checkpoint note under the first of `keys` that accepts it.
fn verify_with(
    text: &str,
    keys: &[NoteVerifier],
    path: &Path,
) -> Result<VerifiedCheckpoint, CliError> {
    let mut last = None;
    for key in keys {
        match checkpoint::verify(text, key) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map_or_else(|| "no log key is pinned".to_owned(), |e| e.to_string());
    Err(CliError::new(format!(
        "{}: not a checkpoint signed by the log key: {reason}",
        path.display()
    )))
}

/// `evledger witness quorum [N]`.
pub fn quorum(dir: &Path, quorum: Option<u64>) -> Result<(), CliError> {
    use crate::ledger::publish::QuorumError;
    let Some(q) = quorum else {
        let ledger = Ledger::open_read_only(dir)?;
        let q = ledger.witness_quorum()?;
        print_all(&format!("{q}\n"));
        if q == 0 {
            eprintln!(
                "quorum 0: every checkpoint is published when signed; `evledger witness quorum N` requires N witnesses' cosignatures first"
            );
        }
        return Ok(());
    };
    let mut ledger = Ledger::open(dir)?;
    ledger.set_witness_quorum(q).map_err(|e| match e {
        QuorumError::TooFewWitnesses { .. } => CliError::new(e.to_string())
            .hint("add witnesses first: evledger witness add VKEY --url URL"),
        QuorumError::Store(s @ crate::store::StoreError::QuorumDecrease { .. }) => {
            CliError::new(s.to_string()).hint(
                "a lower quorum would let checkpoints fewer witnesses saw be published; to replace a witness that is gone, add another with `evledger witness add`",
            )
        }
        QuorumError::Store(s) => s.into(),
    })?;
    eprintln!(
        "witness quorum {q}: bundles, receipts and GET /checkpoint now use only checkpoints cosigned by {q} configured witnesses (evledger checkpoint --witnesses)"
    );
    Ok(())
}
