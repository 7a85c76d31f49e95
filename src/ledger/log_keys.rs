//! Log key rotation: registered log keys, the keys that sign new checkpoints, adding a successor
//! and retiring a key.

use std::path::PathBuf;

use ed25519_dalek::SigningKey;

use super::{LOG_KEY_FILE, Ledger, LedgerError};
use crate::keys::{self, KeyId};
use crate::note::{NoteSigner, NoteVerifier};
use crate::store::Store;

impl Ledger {
    /// The C2SP verifier keys of every log key (creation key first, then rotations).
    ///
    /// # Errors
    /// On read failure or an origin that is not a valid key name.
    pub fn log_verifiers(&self) -> Result<Vec<NoteVerifier>, LedgerError> {
        self.log_keys()?
            .into_iter()
            .map(|k| {
                NoteVerifier::new(&self.info.origin, k)
                    .map_err(|e| LedgerError::Checkpoint(e.to_string()))
            })
            .collect()
    }

    /// Verifies a checkpoint note with any of this ledger's log keys.
    ///
    /// # Errors
    /// The last verification error if no log key verifies it.
    pub fn verify_checkpoint(
        &self,
        note: &str,
    ) -> Result<crate::checkpoint::VerifiedCheckpoint, LedgerError> {
        let mut last = String::from("no log key");
        for v in self.log_verifiers()? {
            match crate::checkpoint::verify(note, &v) {
                Ok(c) => return Ok(c),
                Err(e) => last = e.to_string(),
            }
        }
        Err(LedgerError::Checkpoint(last))
    }

    /// Every log public key: the one the ledger was created with, then those added by rotation.
    ///
    /// # Errors
    /// On read failure.
    pub fn log_keys(&self) -> Result<Vec<ed25519_dalek::VerifyingKey>, LedgerError> {
        let mut keys = vec![self.info.log_key];
        keys.extend(self.store.added_log_keys()?.into_iter().map(|(k, _)| k));
        Ok(keys)
    }

    /// The file a log key's private half lives in: `log.key` for the first, `log-<kid prefix>.key` for later ones.
    pub fn log_key_path(&self, key: &ed25519_dalek::VerifyingKey) -> PathBuf {
        if *key == self.info.log_key {
            self.dir.join(LOG_KEY_FILE)
        } else {
            self.dir
                .join(format!("log-{}.key", &KeyId::of(key).to_string()[..16]))
        }
    }

    /// The signers of new checkpoints: every registered log key whose private key file is present
    /// (during a rotation, the old and the new key; retiring a key removes its file).
    pub(super) fn log_signers(&self) -> Result<Vec<NoteSigner>, LedgerError> {
        let mut signers = Vec::new();
        for key in self.log_keys()? {
            let path = self.log_key_path(&key);
            if !path.exists() {
                continue;
            }
            let private = keys::read_signing_key(&path)?;
            if private.verifying_key() != key {
                return Err(LedgerError::WrongLogKey { path });
            }
            signers.push(
                NoteSigner::new(&self.info.origin, private)
                    .map_err(|e| LedgerError::Checkpoint(e.to_string()))?,
            );
        }
        if signers.is_empty() {
            return Err(LedgerError::Checkpoint(format!(
                "no log key file in {}: every registered log key has been retired",
                self.dir.display()
            )));
        }
        Ok(signers)
    }

    /// Starts a log key rotation: registers `key` and copies it into the ledger directory, so that
    /// checkpoints are signed by the old and the new key until the old one is retired.
    ///
    /// # Errors
    /// If the key is already a log key of this ledger, or on I/O failure.
    pub fn add_log_key(&mut self, key: &SigningKey) -> Result<u64, LedgerError> {
        let public = key.verifying_key();
        if self.log_keys()?.contains(&public) {
            return Err(LedgerError::LogKey(format!(
                "key {} is already a log key of this ledger",
                KeyId::of(&public)
            )));
        }
        let path = self.log_key_path(&public);
        keys::write_key_pair(&path, key)?;
        match self.store.add_log_key(&public) {
            Ok(size) => Ok(size),
            Err(e) => {
                // Not registered: the copied key must not linger as if it were.
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(keys::public_path(&path));
                Err(e.into())
            }
        }
    }

    /// Ends a log key's use: its private key file is renamed to `*.retired`, so checkpoints are no
    /// longer signed with it. Its past signatures stay valid for the sizes it signed.
    ///
    /// # Errors
    /// If it is not a log key, or it is the only one left.
    pub fn retire_log_key(
        &mut self,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<PathBuf, LedgerError> {
        let keys = self.log_keys()?;
        if !keys.contains(key) {
            return Err(LedgerError::LogKey(format!(
                "key {} is not a log key of this ledger",
                KeyId::of(key)
            )));
        }
        let active = keys
            .iter()
            .filter(|k| self.log_key_path(k).exists())
            .count();
        let path = self.log_key_path(key);
        if !path.exists() {
            return Err(LedgerError::LogKey(format!(
                "log key {} is already retired",
                KeyId::of(key)
            )));
        }
        if active < 2 {
            return Err(LedgerError::LogKey(
                "refusing to retire the only active log key: add its successor first (evledger log-key add)".into(),
            ));
        }
        let mut retired = path.as_os_str().to_owned();
        retired.push(".retired");
        let retired = PathBuf::from(retired);
        crate::durable::rename(&path, &retired).map_err(|source| LedgerError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(retired)
    }
}
