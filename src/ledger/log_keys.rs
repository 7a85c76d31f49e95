//! Log key rotation: registered log keys, the keys that sign new checkpoints, adding a successor
//! and retiring a key.

use std::path::PathBuf;

use ed25519_dalek::SigningKey;

use super::{LOG_KEY_FILE, Ledger, LedgerError, LogKeyring};
use crate::keys::{self, KeyId};
use crate::note::{NoteSigner, NoteVerifier};
use crate::store::Store;

impl<S: Store> Ledger<S> {
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

    /// The file a log key's private half lives in, for a ledger that keeps its log keys in its
    /// directory: `log.key` for the first, `log-<kid prefix>.key` for later ones.
    pub fn log_key_path(&self, key: &ed25519_dalek::VerifyingKey) -> Option<PathBuf> {
        let LogKeyring::Dir(dir) = &self.log_keys else {
            return None;
        };
        Some(if *key == self.info.log_key {
            dir.join(LOG_KEY_FILE)
        } else {
            dir.join(format!("log-{}.key", &KeyId::of(key).to_string()[..16]))
        })
    }

    /// Whether this ledger still holds the private half of a log key (false once retired).
    ///
    /// # Errors
    /// A key file that cannot be read or holds another key.
    pub fn holds_log_key(&self, key: &ed25519_dalek::VerifyingKey) -> Result<bool, LedgerError> {
        Ok(self.held_log_key(key)?.is_some())
    }

    /// The private half of a registered log key, if this ledger still holds it (a retired key's
    /// file is renamed, so it is no longer held).
    fn held_log_key(
        &self,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<Option<SigningKey>, LedgerError> {
        match &self.log_keys {
            LogKeyring::Memory(held) => {
                Ok(held.iter().find(|k| k.verifying_key() == *key).cloned())
            }
            LogKeyring::Dir(_) => {
                let Some(path) = self.log_key_path(key) else {
                    return Ok(None);
                };
                if !path.exists() {
                    return Ok(None);
                }
                let private = keys::read_signing_key(&path)?;
                if private.verifying_key() != *key {
                    return Err(LedgerError::WrongLogKey { path });
                }
                Ok(Some(private))
            }
        }
    }

    /// The signers of new checkpoints: every registered log key this ledger holds (during a
    /// rotation, the old and the new key; retiring a key ends its use).
    ///
    /// # Errors
    /// [`LedgerError::Checkpoint`] when it holds none, saying whether the keys were retired or
    /// the key file is missing.
    pub(super) fn log_signers(&self) -> Result<Vec<NoteSigner>, LedgerError> {
        let mut signers = Vec::new();
        let registered = self.log_keys()?;
        for key in &registered {
            if let Some(private) = self.held_log_key(key)? {
                signers.push(
                    NoteSigner::new(&self.info.origin, private)
                        .map_err(|e| LedgerError::Checkpoint(e.to_string()))?,
                );
            }
        }
        if !signers.is_empty() {
            return Ok(signers);
        }
        Err(LedgerError::Checkpoint(match &self.log_keys {
            LogKeyring::Memory(_) => "this ledger holds none of its log keys".to_owned(),
            LogKeyring::Dir(dir) => {
                let retired = registered.iter().all(|k| {
                    self.log_key_path(k)
                        .is_some_and(|p| retired_path(&p).exists())
                });
                if retired {
                    format!(
                        "no log key file in {}: every registered log key has been retired",
                        dir.display()
                    )
                } else {
                    let missing = self
                        .log_key_path(&self.info.log_key)
                        .unwrap_or_else(|| dir.join(LOG_KEY_FILE));
                    format!(
                        "the log key file {} is missing, so no checkpoint can be signed: restore it from your backup of the ledger",
                        missing.display()
                    )
                }
            }
        }))
    }

    /// The key that signs the log's own statements (the adverse index): the first registered log
    /// key this ledger holds, the one whose signature comes first on every checkpoint.
    ///
    /// # Errors
    /// As [`Ledger::log_signers`].
    pub(super) fn index_key(&self) -> Result<SigningKey, LedgerError> {
        for key in &self.log_keys()? {
            if let Some(private) = self.held_log_key(key)? {
                return Ok(private);
            }
        }
        self.log_signers()?;
        Err(LedgerError::Checkpoint(
            "this ledger holds none of its log keys".into(),
        ))
    }

    /// Starts a log key rotation: registers `key` and keeps its private half (in the ledger
    /// directory, or in memory), so that checkpoints are signed by the old and the new key until
    /// the old one is retired.
    ///
    /// # Errors
    /// [`crate::store::StoreError::ReadOnly`]; if the key is already a log key of this ledger,
    /// or on I/O failure.
    pub fn add_log_key(&mut self, key: &SigningKey) -> Result<u64, LedgerError> {
        // Before any key file is written: a read-only ledger says so, not a file system error.
        self.store.check_writable()?;
        let public = key.verifying_key();
        if self.log_keys()?.contains(&public) {
            return Err(LedgerError::LogKey(format!(
                "key {} is already a log key of this ledger",
                KeyId::of(&public)
            )));
        }
        let path = self.log_key_path(&public);
        if let Some(path) = &path {
            keys::write_key_pair(path, key)?;
        }
        match self.store.add_log_key(&public) {
            Ok(size) => {
                if let LogKeyring::Memory(held) = &mut self.log_keys {
                    held.push(key.clone());
                }
                Ok(size)
            }
            Err(e) => {
                // Not registered: the copied key must not linger as if it were.
                if let Some(path) = &path {
                    let _ = std::fs::remove_file(path);
                    let _ = std::fs::remove_file(keys::public_path(path));
                }
                Err(e.into())
            }
        }
    }

    /// Ends a log key's use, so checkpoints are no longer signed with it: a key file is renamed
    /// to `*.retired` (returned), a key in memory is dropped. Its past signatures stay valid for
    /// the sizes it signed.
    ///
    /// # Errors
    /// [`crate::store::StoreError::ReadOnly`]; if it is not a log key, it is already retired, or
    /// it is the only one left.
    pub fn retire_log_key(
        &mut self,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<Option<PathBuf>, LedgerError> {
        // Retiring renames a file in the ledger directory, a write like any other.
        self.store.check_writable()?;
        let keys = self.log_keys()?;
        if !keys.contains(key) {
            return Err(LedgerError::LogKey(format!(
                "key {} is not a log key of this ledger",
                KeyId::of(key)
            )));
        }
        let mut active = 0;
        for k in &keys {
            if self.held_log_key(k)?.is_some() {
                active += 1;
            }
        }
        if self.held_log_key(key)?.is_none() {
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
        match &mut self.log_keys {
            LogKeyring::Memory(held) => {
                held.retain(|k| k.verifying_key() != *key);
                Ok(None)
            }
            LogKeyring::Dir(_) => {
                let Some(path) = self.log_key_path(key) else {
                    return Ok(None);
                };
                let retired = retired_path(&path);
                crate::durable::rename(&path, &retired).map_err(|source| LedgerError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(Some(retired))
            }
        }
    }
}

/// Where a retired log key's file goes: its name with `.retired` appended.
fn retired_path(path: &std::path::Path) -> PathBuf {
    let mut retired = path.as_os_str().to_owned();
    retired.push(".retired");
    PathBuf::from(retired)
}
