//! RFC 9942 COSE receipts of stored entries, against the latest signed checkpoint.

use super::{Ledger, LedgerError};
use crate::merkle::Hex;
use crate::receipt::{self, ReceiptError};
use crate::store::{Store, StoredEntry};

/// A COSE receipt made for a stored entry, with what it proves.
#[derive(Clone, Debug)]
pub struct CoseReceipt {
    /// The tagged COSE_Sign1 receipt bytes (`specs/service.md`, "Receipts").
    pub bytes: Vec<u8>,
    /// The entry's index.
    pub index: u64,
    /// The size of the checkpoint the receipt is made against.
    pub tree_size: u64,
    /// That checkpoint's root, the payload the log key signed.
    pub root: crate::merkle::Hash,
    /// The log key that signed it.
    pub kid: crate::keys::KeyId,
}

impl<S: Store> Ledger<S> {
    /// Makes the RFC 9942 receipt of inclusion of `entry` in the tree of the published checkpoint
    /// ([`Ledger::published_checkpoint`]: the latest, unless a witness quorum is configured),
    /// signed by the log key that signs the log's own statements (the first registered log key
    /// this ledger holds). The root it signs is the checkpoint's: a receipt never commits to a
    /// tree no checkpoint has signed.
    ///
    /// # Errors
    /// [`LedgerError::NoProof`] when no published checkpoint covers the entry yet;
    /// [`LedgerError::Checkpoint`] when the stored tree does not give the checkpoint's root or the
    /// ledger holds no log key; storage errors.
    pub fn cose_receipt(&self, entry: &StoredEntry) -> Result<CoseReceipt, LedgerError> {
        let cp = self.published_covering(entry.index)?;
        let inclusion = self.prove(entry, Some(cp.size))?;
        let key = self.index_key()?;
        let (bytes, root) = receipt::sign_receipt(
            &key,
            &entry.entry_hash,
            inclusion.index,
            inclusion.size,
            &inclusion.proof,
        )
        .map_err(|e: ReceiptError| LedgerError::Checkpoint(e.to_string()))?;
        if root != cp.root {
            return Err(LedgerError::Checkpoint(format!(
                "the stored tree gives root {} at size {}, but the checkpoint signed {}: run `evledger audit`",
                Hex(&root),
                cp.size,
                Hex(&cp.root)
            )));
        }
        Ok(CoseReceipt {
            bytes,
            index: inclusion.index,
            tree_size: cp.size,
            root,
            kid: crate::keys::KeyId::of(&key.verifying_key()),
        })
    }
}
