//! The one writer: a thread that owns the ledger, takes registrations off a bounded queue in
//! batches, commits each batch in one transaction (group commit), signs a checkpoint, and only
//! then answers each registration with its receipt.
//!
//! **Sequencing has one owner.** Within this server only this thread appends: the HTTP handlers
//! hold the sending end of the queue and read the ledger through read-only connections. Against
//! other processes (an operator running `evledger register` on the same directory) the SQLite
//! write transaction of `Ledger::register` excludes every other writer, and the append checks
//! the stored tree against the latest signed checkpoint inside it (`specs/store.md`).
//!
//! **Killed at each step.** Before `register` commits, nothing of the batch is in the ledger and
//! no registration of it was answered: every client sees its connection close and may retry.
//! After the commit and before the checkpoint, the entries are in the log but no client was
//! answered; a retry of the same statement is answered with its receipt once a checkpoint covers
//! it (the next batch signs one). After the checkpoint, a registration whose answer was lost is
//! answered again, by a retry, with a receipt of the same entry.

use std::collections::HashMap;

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::problem::Problem;
use crate::evidence::Evidence;
use crate::hex;
use crate::keys::KeyId;
use crate::ledger::{Ledger, LedgerError, RegisterError, RegisterOptions, Submission};
use crate::merkle::Hash;
use crate::statement::VerifiedStatement;
use crate::statement::batch::KeyVerifier;
use crate::store::{StoreError, StoreRead as _};

/// The most registrations committed in one transaction: bounds the memory of a batch (each
/// statement is at most 1 MiB) and the time a batch holds the write lock.
pub const MAX_BATCH: usize = 64;

/// A registration waiting for the writer.
#[derive(Debug)]
pub struct Job {
    /// The signed statement, as received.
    pub statement: Vec<u8>,
    /// The statement with its signature verified by the handler, off this thread, under the
    /// key [`SignerKeys`] knew for its kid; `register` skips only that check, and only if the
    /// key is the one it finds.
    pub verified: Option<VerifiedStatement>,
    /// Where the answer goes once the batch is committed and a checkpoint covers it.
    pub reply: oneshot::Sender<Result<Answer, Problem>>,
}

/// The keys that signed registered statements, by kid, each with its kept comb table
/// ([`KeyVerifier`]): the handlers verify a statement's signature under the key known for its
/// kid before the writer sees it. Only the writer adds to it, the key of each statement it
/// registered, so it holds at most one key (640 KiB of table) per signer the registration policy
/// admitted.
pub type SignerKeys = std::sync::RwLock<HashMap<KeyId, Arc<KeyVerifier>>>;

/// The answer to a registration: a receipt of the entry against a checkpoint covering it.
#[derive(Clone, Debug)]
pub struct Answer {
    /// True if this call appended the entry; false if the statement was already in the log.
    pub created: bool,
    /// The entry hash, SHA-256 of the statement.
    pub entry_hash: Hash,
    /// The RFC 9942 receipt (`Ledger::cose_receipt`).
    pub receipt: Vec<u8>,
}

/// Runs the writer until every sender of the queue is dropped.
///
/// It first signs a checkpoint over entries a killed predecessor committed but did not cover,
/// so that every registration it acknowledged has a receipt again from the start.
pub fn run(mut ledger: Ledger, mut jobs: mpsc::Receiver<Job>, keys: &SignerKeys) {
    if let Err(e) = uncovered(&ledger).and_then(|yes| match yes {
        true => ledger.checkpoint().map(drop),
        false => Ok(()),
    }) {
        // Not fatal: the next batch tries again, and its registrations are answered with why.
        eprintln!("checkpoint at start: {e}");
    }
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&mut ledger, batch, keys);
    }
}

/// Whether the log holds entries no checkpoint covers.
fn uncovered(ledger: &Ledger) -> Result<bool, LedgerError> {
    let size = ledger.store().size()?;
    let covered = ledger.store().latest_checkpoint()?.map_or(0, |c| c.size);
    Ok(size > covered)
}

/// Registrations over HTTP carry no documents yet, so a firmware build citing a Sigstore bundle
/// cannot have it re-verified here: it is refused, as `evledger register` refuses it without
/// `--document`.
fn no_documents(evidence: &Evidence, _documents: &[Vec<u8>]) -> Result<(), LedgerError> {
    match evidence {
        Evidence::FirmwareBuild(fb) if fb.sigstore.is_some() => Err(LedgerError::Sigstore(
            "the firmware build cites a Sigstore bundle, which POST /entries cannot carry: register it with `evledger register FILE --document BUNDLE --trusted-root ROOT`".into(),
        )),
        _ => Ok(()),
    }
}

/// Commits one batch, all that can be: a statement the registration refuses is answered with
/// its refusal and taken out, and the rest is tried again, so one bad statement never holds back
/// the others. A statement already in the log is answered with the receipt of its entry.
fn commit(ledger: &mut Ledger, batch: Vec<Job>, keys: &SignerKeys) {
    let mut verified = Vec::with_capacity(batch.len());
    let (mut subs, mut replies): (Vec<Submission>, Vec<_>) = batch
        .into_iter()
        .map(|j| {
            verified.push(j.verified);
            let sub = Submission {
                statement: j.statement,
                documents: Vec::new(),
            };
            (sub, j.reply)
        })
        .unzip();
    let check = no_documents;
    let options = RegisterOptions {
        dry_run: false,
        local_key: None,
        documents: Some(&check),
    };
    let mut existing = Vec::new();
    let created = loop {
        if subs.is_empty() {
            break Vec::new();
        }
        match ledger.register_verified(&subs, &verified, &options) {
            Ok(done) => break done,
            Err(RegisterError {
                position: Some(p),
                error,
            }) => {
                subs.remove(p);
                verified.remove(p);
                let reply = replies.remove(p);
                match error {
                    LedgerError::Store(StoreError::Duplicate { entry_hash, .. }) => {
                        existing.push((entry_hash, reply));
                    }
                    e => {
                        // The client may have gone away; its statement was refused either way.
                        let _ = reply.send(Err(Problem::from_registration(&e)));
                    }
                }
            }
            Err(RegisterError {
                position: None,
                error,
            }) => {
                let problem = Problem::from_registration(&error);
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(problem.clone()));
                }
                break Vec::new();
            }
        }
    };
    // The commit point: `register` returned, so every entry of `created` is durable. No
    // registration was answered before this line.
    let new: Vec<_> = match keys.read() {
        Ok(known) => created
            .iter()
            .map(|r| (KeyId::of(&r.signer), r.signer))
            .filter(|(kid, _)| !known.contains_key(kid))
            .collect(),
        Err(_) => Vec::new(),
    };
    for (kid, key) in new {
        // Built outside the lock: the handlers keep reading the others meanwhile.
        let verifier = Arc::new(KeyVerifier::new(&key));
        if let Ok(mut known) = keys.write() {
            known.entry(kid).or_insert(verifier);
        }
    }
    let mut created_index = created.iter().map(|r| r.index);
    let answers = created
        .iter()
        .map(|r| (r.entry_hash, true))
        .zip(replies)
        .chain(existing.into_iter().map(|(h, reply)| ((h, false), reply)));
    let answers: Vec<_> = answers.collect();
    if answers.is_empty() {
        return;
    }
    if let Err(e) = ledger.checkpoint() {
        for ((hash, _), reply) in answers {
            let _ = reply.send(Err(Problem::new(
                500,
                "Internal Server Error",
                format!(
                    "the statement is registered as entry {}, but no checkpoint could be signed: {e}; GET /entries/{} once one is",
                    hex::encode(&hash),
                    hex::encode(&hash)
                ),
            )));
        }
        return;
    }
    // The entries already in the log before this batch are looked up for their index.
    let mut located = Vec::with_capacity(answers.len());
    for ((entry_hash, created), reply) in answers {
        let index = match created {
            true => created_index.next(),
            false => ledger
                .store()
                .find(&entry_hash)
                .ok()
                .flatten()
                .map(|e| e.index),
        };
        match index {
            Some(i) => located.push(((i, entry_hash), created, reply)),
            None => {
                let _ = reply.send(receipt_of(ledger, &entry_hash).map(|receipt| Answer {
                    created,
                    entry_hash,
                    receipt,
                }));
            }
        }
    }
    let wanted: Vec<_> = located.iter().map(|(e, _, _)| *e).collect();
    match ledger.cose_receipts(&wanted) {
        Ok(receipts) => {
            for (((_, entry_hash), created, reply), receipt) in located.into_iter().zip(receipts) {
                let answer = receipt
                    .map(|r| Answer {
                        created,
                        entry_hash,
                        receipt: r.bytes,
                    })
                    .map_err(|e| receipt_problem(&e));
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            let problem = receipt_problem(&e);
            for (_, _, reply) in located {
                let _ = reply.send(Err(problem.clone()));
            }
        }
    }
}

/// The answer to a receipt that could not be made: 404 when no checkpoint covers the entry,
/// else 500.
fn receipt_problem(e: &LedgerError) -> Problem {
    match e {
        LedgerError::NoProof(why) => Problem::new(404, "Not Found", why.clone()),
        e => Problem::new(500, "Internal Server Error", format!("receipt: {e}")),
    }
}

/// The receipt of the entry `entry_hash` against the latest checkpoint.
///
/// # Errors
/// A [`Problem`]: 404 if the log holds no such entry or no checkpoint covers it yet, 500 when
/// the ledger cannot be read or the receipt signed.
pub fn receipt_of<S: crate::store::Store>(
    ledger: &Ledger<S>,
    entry_hash: &Hash,
) -> Result<Vec<u8>, Problem> {
    let internal = |e: &dyn std::fmt::Display| {
        Problem::new(500, "Internal Server Error", format!("receipt: {e}"))
    };
    let entry = ledger
        .store()
        .find(entry_hash)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            Problem::new(
                404,
                "Not Found",
                format!("no entry {} in this log", hex::encode(entry_hash)),
            )
        })?;
    match ledger.cose_receipt(&entry) {
        Ok(r) => Ok(r.bytes),
        Err(LedgerError::NoProof(why)) => Err(Problem::new(404, "Not Found", why)),
        Err(e) => Err(internal(&e)),
    }
}
