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

    /// Makes the receipts of the entries `entries` (index, entry hash) against the published
    /// checkpoint, as [`Ledger::cose_receipt`] makes each, reading the checkpoint and the log
    /// key once and signing the checkpoint's root once ([`receipt::RootSignature`]): the bytes
    /// are those `cose_receipt` gives. Each entry's receipt is made from its inclusion proof in
    /// one read snapshot, and only if that proof leads to the checkpoint's root.
    ///
    /// # Errors
    /// As [`Ledger::cose_receipt`]: the outer error when no receipt can be made (no checkpoint,
    /// no log key, storage errors), an inner one for an entry the checkpoint does not cover or
    /// whose proof does not give its root.
    #[allow(clippy::type_complexity)]
    pub fn cose_receipts(
        &self,
        entries: &[(u64, crate::merkle::Hash)],
    ) -> Result<Vec<Result<CoseReceipt, LedgerError>>, LedgerError> {
        self.store.read_snapshot(|_| {
            let Some(cp) = self.published_checkpoint()? else {
                return Err(LedgerError::NoProof(
                    "no published checkpoint yet: run `evledger checkpoint` first".into(),
                ));
            };
            let key = self.index_key()?;
            let kid = crate::keys::KeyId::of(&key.verifying_key());
            let signature = receipt::RootSignature::sign(&key, &cp.root);
            let mut out = Vec::with_capacity(entries.len());
            for &(index, entry_hash) in entries {
                if index >= cp.size {
                    out.push(Err(LedgerError::NoProof(format!(
                        "no checkpoint covers entry {index} yet (latest checkpoint size {}): run `evledger checkpoint` first",
                        cp.size
                    ))));
                    continue;
                }
                let proof = crate::merkle::prove_inclusion(&self.store, index, cp.size)
                    .map_err(super::proof_error)?;
                out.push(
                    signature
                        .receipt(&entry_hash, index, cp.size, &proof)
                        .map(|bytes| CoseReceipt {
                            bytes,
                            index,
                            tree_size: cp.size,
                            root: cp.root,
                            kid,
                        })
                        .map_err(|e| {
                            LedgerError::Checkpoint(format!(
                                "the stored tree does not give the root the checkpoint of size {} signed ({e}): run `evledger audit`",
                                cp.size
                            ))
                        }),
                );
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use crate::evidence::{Evidence, InputFormat};
    use crate::ledger::{Ledger, LedgerError, Signer};
    use crate::store::StoreRead as _;

    #[test]
    fn receipts_made_together_are_the_bytes_made_one_by_one() {
        let mut ledger =
            Ledger::in_memory("r.example/log", SigningKey::from_bytes(&[7; 32])).unwrap();
        let evidence = Evidence::from_input(
            "firmware-build",
            include_str!("../../examples/facegate/firmware-4.2.0.toml"),
            InputFormat::Toml,
        )
        .unwrap();
        let key = SigningKey::from_bytes(&[9; 32]);
        let entries: Vec<_> = (0..5)
            .map(|i| {
                let subject = format!("unit {i}");
                let signer = Signer {
                    key: &key,
                    issuer: "Aurelis",
                    subject: &subject,
                    x5chain: Vec::new(),
                };
                Ledger::sign(&evidence, &signer, 1_800_000_000 + i).unwrap()
            })
            .collect();
        ledger.append(&entries[..4]).unwrap();
        ledger.checkpoint().unwrap();
        ledger.append(&entries[4..]).unwrap();
        let wanted: Vec<_> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u64, e.entry_hash))
            .collect();
        let together = ledger.cose_receipts(&wanted).unwrap();
        for (i, r) in together.iter().enumerate().take(4) {
            let one = ledger
                .cose_receipt(&ledger.store().entry(i as u64).unwrap())
                .unwrap();
            assert_eq!(r.as_ref().unwrap().bytes, one.bytes, "entry {i}");
        }
        // Entry 4 is not covered by the checkpoint; a wrong hash does not lead to its root.
        assert!(matches!(together[4], Err(LedgerError::NoProof(_))));
        let wrong = ledger.cose_receipts(&[(0, [0; 32])]).unwrap();
        assert!(
            matches!(wrong[0], Err(LedgerError::Checkpoint(_))),
            "{wrong:?}"
        );
    }
}
