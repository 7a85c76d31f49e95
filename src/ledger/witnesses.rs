//! The witnesses the operator configured (`evledger witness add`): the ledger stores only
//! cosignatures that verify under one of their keys (`evledger checkpoint --cosigned`), and a
//! service asks them for cosignatures.
//!
//! The table is append-only like every other: a witness is never changed or removed
//! (`specs/store.md`, "Witnesses"). One name and one key are each configured at most once, since
//! a `cosignature/v1` signature does not sign the witness's name and one key under two names is
//! one witness.

use crate::ledger::{Ledger, LedgerError};
use crate::note::CosignatureVerifier;
use crate::store::{Store, StoreError, StoreRead, StoreWrite, StoredWitness};

/// The longest URL a witness may be given, in bytes; a URL is for asking the witness over HTTP,
/// and no real one comes near this.
pub const MAX_WITNESS_URL_LEN: usize = 2048;

/// A configured witness: its cosignature verifier key and where to ask it, if known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// Its cosignature verifier key (`<name>+<key id>+<base64(0x04 || key)>`).
    pub verifier: CosignatureVerifier,
    /// Where it can be asked for cosignatures.
    pub url: Option<String>,
}

/// Why a witness could not be added.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The URL is not one the ledger accepts.
    #[error("witness URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The witness's key is one of the log's own keys: a log cannot witness itself.
    #[error("the witness key is this ledger's log key: a log cannot witness its own checkpoints")]
    LogKey,
    /// A configured witness has the same name or key, or storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Checks a witness URL: `https://` or `http://`, at most [`MAX_WITNESS_URL_LEN`] bytes, printable
/// ASCII only (an international name is written in its ASCII form), so that it prints as it is.
fn check_url(url: &str) -> Result<(), &'static str> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("must start with https:// or http://");
    }
    if url.len() > MAX_WITNESS_URL_LEN {
        return Err("is longer than 2048 bytes");
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces");
    }
    Ok(())
}

impl<S: Store> Ledger<S> {
    /// Adds a witness whose cosignatures the ledger will accept.
    ///
    /// # Errors
    /// [`WitnessError::Url`] for a URL that is not http(s); [`WitnessError::LogKey`] for one of
    /// the log's keys; [`StoreError::WitnessConflict`] when a configured witness has the same
    /// name or key; a write failure. Nothing is stored on error.
    pub fn add_witness(
        &mut self,
        verifier: &CosignatureVerifier,
        url: Option<&str>,
    ) -> Result<(), WitnessError> {
        if let Some(u) = url {
            check_url(u).map_err(|reason| WitnessError::Url {
                url: u.to_owned(),
                reason,
            })?;
        }
        let key = *verifier.key();
        let witness = StoredWitness {
            name: verifier.name().to_owned(),
            key,
            url: url.map(str::to_owned),
        };
        // The log keys and the witnesses are read in the transaction that adds the witness.
        self.store_mut().write(|tx| {
            let log_keys = tx.added_log_keys()?;
            if key == tx.info()?.log_key || log_keys.iter().any(|(k, _)| *k == key) {
                return Err(WitnessError::LogKey);
            }
            tx.add_witness(&witness)?;
            Ok(())
        })
    }

    /// The configured witnesses, in the order they were added.
    ///
    /// # Errors
    /// On read failure, or a stored witness whose name or key is not valid
    /// ([`StoreError::Corrupt`]).
    pub fn witnesses(&self) -> Result<Vec<Witness>, StoreError> {
        self.store()
            .witnesses()?
            .into_iter()
            .map(|w| {
                let verifier = CosignatureVerifier::new(&w.name, w.key).map_err(|e| {
                    StoreError::Corrupt(format!("stored witness {:?}: {e}", w.name))
                })?;
                Ok(Witness {
                    verifier,
                    url: w.url,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_are_http_without_spaces() {
        assert!(check_url("https://witness.example/w1").is_ok());
        assert!(check_url("http://localhost:8080").is_ok());
        assert!(check_url("ftp://witness.example").is_err());
        assert!(check_url("https://a b").is_err());
        assert!(check_url("https://a\u{202e}b").is_err());
        assert!(check_url(&format!("https://{}", "a".repeat(2048))).is_err());
    }
}
