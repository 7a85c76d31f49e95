//! Publication: which checkpoint bundles, receipts and `GET /checkpoint` use.
//!
//! With a witness quorum `k > 0` (`evledger witness quorum k`), a checkpoint is *published* once
//! the ledger holds verified cosignatures of it from at least `k` distinct configured witnesses;
//! only published checkpoints are handed out, and a checkpoint that has not reached the quorum is
//! never used, however recent (fail closed). With quorum 0, the default, every checkpoint is
//! published as soon as it is signed, as before witnesses were counted.
//!
//! Publication is recorded, not recomputed: the transaction that stores the cosignature making
//! the count reach the quorum also records `(size, quorum)` in the append-only `published` table,
//! so reading the published checkpoint is one indexed lookup however many checkpoints were not
//! published. A checkpoint counts as published only under a quorum at least the current one: after
//! the quorum is raised, checkpoints published under the lower one are no longer handed out.
//! The quorum never decreases, and every value set is kept (`specs/witness.md` §8).

use crate::ledger::{Ledger, LedgerError};
use crate::note::NoteSignature;
use crate::store::{Store, StoreError, StoreRead, StoreWrite, StoredCheckpoint, StoredWitness};

/// Why a quorum could not be set.
#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    /// More witnesses than are configured could never cosign.
    #[error(
        "a quorum of {quorum} needs at least {quorum} configured witnesses, and this ledger has {configured}"
    )]
    TooFewWitnesses {
        /// The quorum asked for.
        quorum: u64,
        /// The witnesses configured.
        configured: usize,
    },
    /// The store refused (a decrease) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many distinct configured witnesses signed among `lines` (stored cosignature lines, each
/// verified when stored), matched by name and key id.
pub fn count_witnesses(lines: &[String], witnesses: &[StoredWitness]) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    for line in lines {
        let Ok(sig) = NoteSignature::parse_line(line) else {
            continue;
        };
        if let Some(w) = witnesses.iter().find(|w| {
            w.name == sig.name && crate::note::key_id(&w.name, 0x04, w.key.as_bytes()) == sig.key_id
        }) && !seen.contains(&w.name.as_str())
        {
            seen.push(&w.name);
        }
    }
    seen.len()
}

/// Inside a write transaction: records the checkpoint of `size` as published if the quorum is
/// above 0 and its stored cosignatures come from at least that many configured witnesses.
/// Returns whether it is published (always true with quorum 0).
///
/// # Errors
/// Storage errors.
pub fn publish_if_quorum<T: StoreWrite + ?Sized>(
    tx: &mut T,
    size: u64,
) -> Result<bool, StoreError> {
    let quorum = tx.witness_quorum()?;
    if quorum == 0 {
        return Ok(true);
    }
    let count = count_witnesses(&tx.cosignatures(size)?, &tx.witnesses()?);
    if (count as u64) < quorum {
        return Ok(false);
    }
    tx.publish(size, quorum)?;
    Ok(true)
}

impl<S: Store> Ledger<S> {
    /// The witness quorum (0: every checkpoint is published when signed).
    ///
    /// # Errors
    /// On read failure.
    pub fn witness_quorum(&self) -> Result<u64, StoreError> {
        self.store().witness_quorum()
    }

    /// Raises the witness quorum to `quorum` (setting the current value again is allowed), and
    /// publishes the latest checkpoint if its stored cosignatures already meet it.
    ///
    /// # Errors
    /// [`QuorumError::TooFewWitnesses`]; [`StoreError::QuorumDecrease`]; write failures.
    pub fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), QuorumError> {
        self.store_mut().write(|tx| {
            // Read in the transaction that sets it: witnesses only grow.
            let configured = tx.witnesses()?.len();
            if quorum > configured as u64 {
                return Err(QuorumError::TooFewWitnesses { quorum, configured });
            }
            tx.set_witness_quorum(quorum)?;
            if let Some(cp) = tx.latest_checkpoint()? {
                publish_if_quorum(tx, cp.size)?;
            }
            Ok(())
        })
    }

    /// The checkpoint bundles and receipts use: with quorum 0 the latest checkpoint; otherwise the
    /// largest checkpoint published under at least the current quorum, or none.
    ///
    /// # Errors
    /// On read failure.
    pub fn published_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.store().read_snapshot(|s| published_in(s))
    }

    /// [`Ledger::published_checkpoint`] if it covers entry `index`, else an error saying why not.
    ///
    /// # Errors
    /// [`LedgerError::NoProof`] naming the quorum when no published checkpoint covers the entry.
    pub fn published_covering(&self, index: u64) -> Result<StoredCheckpoint, LedgerError> {
        let published = self.published_checkpoint()?;
        match published {
            Some(cp) if cp.size > index => Ok(cp),
            other => {
                let quorum = self.witness_quorum()?;
                let have = other.map_or(0, |c| c.size);
                Err(LedgerError::NoProof(if quorum == 0 {
                    format!(
                        "no checkpoint covers entry {index} yet (latest checkpoint size {have}): run `evledger checkpoint` first"
                    )
                } else {
                    format!(
                        "no published checkpoint covers entry {index} yet (latest published size {have}; a checkpoint is published once {quorum} witnesses have cosigned it): run `evledger checkpoint --witnesses`"
                    )
                }))
            }
        }
    }
}

/// [`Ledger::published_checkpoint`], read from `s` (a snapshot or a transaction).
///
/// # Errors
/// On read failure.
pub fn published_in<R: StoreRead + ?Sized>(s: &R) -> Result<Option<StoredCheckpoint>, StoreError> {
    let quorum = s.witness_quorum()?;
    if quorum == 0 {
        return s.latest_checkpoint();
    }
    match s.latest_published(quorum)? {
        Some(size) => s.checkpoint_at(size),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use crate::ledger::Ledger;
    use crate::ledger::cosignatures::collect;
    use crate::note::{CosignatureSigner, Note};

    fn witness(ledger: &mut Ledger<crate::store::MemoryStore>, i: u8) -> CosignatureSigner {
        let signer =
            CosignatureSigner::new(&format!("w.example/w{i}"), SigningKey::from_bytes(&[i; 32]))
                .unwrap();
        ledger.add_witness(&signer.verifier(), None).unwrap();
        signer
    }

    #[test]
    fn a_checkpoint_is_published_once_the_quorum_cosigned_it() {
        let mut ledger =
            Ledger::in_memory("log.example/l", SigningKey::from_bytes(&[7; 32])).unwrap();
        let w1 = witness(&mut ledger, 1);
        let w2 = witness(&mut ledger, 2);
        assert!(matches!(
            ledger.set_witness_quorum(3),
            Err(super::QuorumError::TooFewWitnesses {
                quorum: 3,
                configured: 2
            })
        ));
        let cp = ledger.checkpoint().unwrap();
        // Quorum 0: the latest checkpoint is the published one.
        assert_eq!(ledger.published_checkpoint().unwrap(), Some(cp.clone()));
        ledger.set_witness_quorum(2).unwrap();
        assert_eq!(ledger.published_checkpoint().unwrap(), None);
        let text = Note::parse(&cp.note).unwrap().text().to_owned();
        let cosigned =
            |w: &CosignatureSigner, t| format!("{}{}\n", cp.note, w.sign(&text, t).unwrap());
        // One witness, twice: still one of two.
        let c = collect(&mut ledger, &[&cosigned(&w1, 1)]).unwrap();
        assert!(!c[0].published);
        let c = collect(&mut ledger, &[&cosigned(&w1, 2)]).unwrap();
        assert!(!c[0].published);
        assert_eq!(ledger.published_checkpoint().unwrap(), None);
        let c = collect(&mut ledger, &[&cosigned(&w2, 3)]).unwrap();
        assert!(c[0].published);
        let published = ledger.published_checkpoint().unwrap().unwrap();
        assert_eq!(published.size, cp.size);
        assert_eq!(
            published
                .note
                .lines()
                .filter(|l| l.starts_with("— w.example/"))
                .count(),
            3
        );
        // A higher quorum: what was published under the lower one is no longer handed out.
        let _w3 = witness(&mut ledger, 3);
        ledger.set_witness_quorum(3).unwrap();
        assert_eq!(ledger.published_checkpoint().unwrap(), None);
        assert!(ledger.set_witness_quorum(2).is_err());
    }
}
