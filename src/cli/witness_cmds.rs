//! `evledger witness init|cosign` and `evledger checkpoint --cosigned`.

use std::io::Write as _;
use std::path::Path;

use super::CliError;
use crate::collect;
use crate::consistency_check::ProofFile;
use crate::keys;
use crate::ledger::Ledger;
use crate::note::NoteVerifier;
use crate::witness::{LOG_VKEY_FILE, Witness, WitnessError};

/// Writes `text` to stdout in one piece; a closed pipe ends the process quietly with success.
fn print_all(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

/// A C2SP verifier key given as the key itself or as a file holding it on one line.
fn parse_log_key(arg: &str) -> Result<NoteVerifier, CliError> {
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
        None => u64::try_from(crate::time::now())
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
        cp.origin, cp.size
    );
    Ok(())
}

/// `evledger checkpoint --cosigned FILE...`.
pub fn collect(dir: &Path, files: &[std::path::PathBuf]) -> Result<(), CliError> {
    let mut ledger = Ledger::open(dir)?;
    let mut notes: Vec<(u64, String)> = Vec::new();
    for f in files {
        let text = read_text(f)?;
        let c = collect::collect(&mut ledger, &text).map_err(|e| {
            let err = CliError::new(format!("{}: {e}", f.display()));
            match e {
                collect::CollectError::NoCheckpoint { .. }
                | collect::CollectError::NotThisCheckpoint { .. } => err.hint(
                    "give the witness a checkpoint printed by `evledger checkpoint` for this ledger",
                ),
                _ => err,
            }
        })?;
        eprintln!(
            "{}: stored {} new cosignature line(s) for the checkpoint of size {} ({} ignored: already stored, or the log's own)",
            f.display(),
            c.added,
            c.size,
            c.ignored
        );
        notes.retain(|(size, _)| *size != c.size);
        notes.push((c.size, c.note));
    }
    notes.sort_by_key(|(size, _)| *size);
    for (_, note) in notes {
        print_all(&note);
    }
    Ok(())
}
