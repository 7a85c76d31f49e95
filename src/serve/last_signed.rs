//! The last checkpoint this instance saw signed, kept outside the database, so that a sequencer
//! never signs a checkpoint over a database that lost what an earlier checkpoint covered
//! (`specs/store.md`, "Replication"): a promoted asynchronous standby, or a restored backup.
//!
//! Signing there would be a **signed fork**: two trees of one size, or a tree that does not
//! extend an earlier signed one, which witnesses refuse and monitors report forever. So before
//! every checkpoint it signs, the writer checks that the database still holds the checkpoint
//! recorded here, with the same root; the database's own signing then recomputes the tree from
//! its latest stored checkpoint (`specs/store.md`, "Fail-closed writes"), and every stored
//! checkpoint was checked against the one before it when it was signed, so the new one extends
//! the recorded one. If the check fails, the service stops and says why.
//!
//! The file is `last-signed.checkpoint` in the ledger directory: the note of the largest
//! checkpoint this instance signed or, while another instance sequences, read from the database.
//! It is replaced durably (write, fsync, rename, fsync of the directory) before any registration
//! is answered with a receipt against the checkpoint it records.

use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::hex;
use crate::ledger::Ledger;
use crate::merkle::Hash;
use crate::note::Note;
use crate::store::{StoreRead as _, StoredCheckpoint};

/// The file's name in the ledger directory.
pub const FILE: &str = "last-signed.checkpoint";

/// The recorded checkpoint, and where it is kept.
#[derive(Debug)]
pub struct LastSigned {
    path: PathBuf,
    /// The recorded checkpoint's size and root.
    last: Option<(u64, Hash)>,
}

impl LastSigned {
    /// Reads the record in ledger directory `dir` (none yet is not an error).
    ///
    /// # Errors
    /// The file exists and cannot be read, or does not hold a checkpoint of the log `origin`.
    pub fn open(dir: &Path, origin: &str) -> Result<LastSigned, String> {
        let path = dir.join(FILE);
        let last = match std::fs::read_to_string(&path) {
            Ok(text) => Some(parse(&text, origin).map_err(|e| format!("{}: {e}", path.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(LastSigned { path, last })
    }

    /// The recorded checkpoint's size, if any.
    pub fn size(&self) -> Option<u64> {
        self.last.map(|(size, _)| size)
    }

    /// Checks that `ledger`'s database holds the recorded checkpoint, root for root.
    ///
    /// # Errors
    /// What is missing or different, for the operator: the database is behind the last
    /// checkpoint signed, or holds another tree at its size.
    pub fn check(&self, ledger: &Ledger) -> Result<(), String> {
        let Some((size, root)) = self.last else {
            return Ok(());
        };
        let stored = ledger
            .store()
            .checkpoint_at(size)
            .map_err(|e| format!("cannot read the checkpoint of size {size}: {e}"))?;
        match stored {
            Some(cp) if cp.root == root => Ok(()),
            Some(cp) => Err(format!(
                "the database's checkpoint of size {size} has root {}, but the checkpoint of that size signed before (recorded in {}) has root {}: signing now would fork the log",
                hex::encode(&cp.root),
                self.path.display(),
                hex::encode(&root)
            )),
            None => {
                let held = ledger
                    .store()
                    .latest_checkpoint()
                    .ok()
                    .flatten()
                    .map_or(0, |c| c.size);
                Err(format!(
                    "the database does not hold the checkpoint of size {size} signed before (recorded in {}; its latest is of size {held}): it lost transactions, as a promoted asynchronous standby or a restored backup can, and signing now could fork the log",
                    self.path.display()
                ))
            }
        }
    }

    /// Records `cp` if it is larger than the recorded one, durably.
    ///
    /// # Errors
    /// The file cannot be written (the record is unchanged then).
    pub fn record(&mut self, cp: &StoredCheckpoint) -> Result<(), String> {
        if self.last.is_some_and(|(size, _)| size >= cp.size) {
            return Ok(());
        }
        crate::durable::replace(&self.path, cp.note.as_bytes())
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.last = Some((cp.size, cp.root));
        Ok(())
    }
}

/// The size and root of a checkpoint note of log `origin`. The signatures are not checked: the
/// file is this instance's own record, and the database's checkpoint it is compared with was
/// verified when it was signed.
fn parse(text: &str, origin: &str) -> Result<(u64, Hash), String> {
    let note = Note::parse(text).map_err(|e| format!("not a signed note: {e}"))?;
    let cp = Checkpoint::parse(note.text()).map_err(|e| format!("not a checkpoint: {e}"))?;
    if cp.origin != origin {
        return Err(format!(
            "a checkpoint of log {:?}, not of this log {origin:?}",
            cp.origin
        ));
    }
    Ok((cp.size, cp.root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger_with(n: u64) -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::init(dir.path(), "example.org/log").unwrap();
        let evidence = crate::evidence::Evidence::from_input(
            "firmware-build",
            include_str!("../../examples/facegate/firmware-4.2.0.toml"),
            crate::evidence::InputFormat::Toml,
        )
        .unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        for i in 0..n {
            let signer = crate::ledger::Signer {
                key: &key,
                issuer: "Aurelis",
                subject: &format!("unit {i}"),
                x5chain: Vec::new(),
            };
            ledger
                .record(&evidence, &signer, 1_800_000_000 + i)
                .unwrap();
        }
        (dir, ledger)
    }

    #[test]
    fn a_database_behind_or_beside_the_recorded_checkpoint_is_refused() {
        let (dir, mut ledger) = ledger_with(2);
        let cp = ledger.checkpoint().unwrap();
        let mut last = LastSigned::open(dir.path(), "example.org/log").unwrap();
        assert_eq!(last.size(), None);
        last.check(&ledger).unwrap();
        last.record(&cp).unwrap();
        last.check(&ledger).unwrap();
        // Read back from the file, as a restarted instance does.
        let again = LastSigned::open(dir.path(), "example.org/log").unwrap();
        assert_eq!(again.size(), Some(cp.size));
        again.check(&ledger).unwrap();

        // Another database of the same log that lacks the recorded checkpoint: refused.
        let (_other_dir, other) = ledger_with(1);
        let e = again.check(&other).unwrap_err();
        assert!(e.contains("does not hold the checkpoint of size"), "{e}");

        // A smaller record is kept as it is; the file of another log is refused.
        last.record(&StoredCheckpoint {
            size: 1,
            ..cp.clone()
        })
        .unwrap();
        assert_eq!(last.size(), Some(cp.size));
        let e = LastSigned::open(dir.path(), "example.org/other").unwrap_err();
        assert!(e.contains("not of this log"), "{e}");
        std::fs::write(dir.path().join(FILE), "garbage").unwrap();
        let e = LastSigned::open(dir.path(), "example.org/log").unwrap_err();
        assert!(e.contains("not a signed note"), "{e}");
    }
}
