//! The one writer: a thread that owns the ledger, takes registrations off a bounded queue in
//! batches, commits each batch in one transaction (group commit), signs a checkpoint at most once
//! per `checkpoint_interval` (the integration step), and only then answers each registration with
//! its receipt.
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
//! it (the restarted writer signs one before the service accepts a connection,
//! [`cover_at_start`]). After the checkpoint, a registration whose answer was lost is
//! answered again, by a retry, with a receipt of the same entry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::cluster::Cluster;
use super::last_signed::LastSigned;
use super::log;
use super::problem::Problem;
use crate::evidence::Evidence;
use crate::hex;
use crate::keys::KeyId;
use crate::ledger::{Ledger, LedgerError, RegisterError, RegisterOptions, Submission};
use crate::merkle::Hash;
use crate::statement::VerifiedStatement;
use crate::statement::batch::KeyVerifier;
use crate::store::{StoreError, StoreRead as _, StoredCheckpoint};

/// The most registrations committed in one transaction: bounds the memory of a batch (each
/// statement is at most 1 MiB) and the time a batch holds the write lock.
pub const MAX_BATCH: usize = 64;

/// A registration waiting for the writer.
#[derive(Debug)]
pub struct Job {
    /// The signed statement, as received.
    pub statement: Vec<u8>,
    /// Uploaded documents the statement cites by digest, stored with its entry.
    pub documents: Vec<Vec<u8>>,
    /// Told the entry hash at the commit point, before the checkpoint: from then on the entry
    /// is durable and the registration may be acknowledged `202 Accepted`. Dropped unsent when
    /// the statement is refused.
    pub committed: Option<oneshot::Sender<Hash>>,
    /// The statement with its signature verified by the handler, off this thread, under the
    /// key [`SignerKeys`] knew for its kid; `register` skips only that check, and only if the
    /// key is the one it finds.
    pub verified: Option<VerifiedStatement>,
    /// Where the answer goes once the batch is committed and a checkpoint covers it.
    pub reply: oneshot::Sender<Result<Answer, Problem>>,
}

/// The verifiers of the signer keys registrations were made with, by kid, shared with the
/// handlers so they verify signatures before the writer (a kept precomputed table per key).
pub type SignerKeys = std::sync::RwLock<HashMap<KeyId, Arc<KeyVerifier>>>;

/// The answer to a registration: a receipt of the entry against a checkpoint covering it.
#[derive(Clone, Debug)]
pub struct Answer {
    /// True if this call appended the entry; false if the statement was already in the log.
    pub created: bool,
    /// The entry hash, SHA-256 of the statement.
    pub entry_hash: Hash,
    /// The RFC 9942 receipt (`Ledger::cose_receipt`); none while no published checkpoint covers
    /// the entry (a witness quorum is configured and has not cosigned one yet).
    pub receipt: Option<Vec<u8>>,
}

/// Signs a checkpoint over entries a killed predecessor committed but did not cover, so that
/// every registration it acknowledged has a receipt again before the service accepts a
/// connection; `signed` receives its size. A failure is not fatal: the next batch tries again,
/// and its registrations are answered with why.
///
/// # Errors
/// The database does not hold the checkpoint `last` records ([`LastSigned::check`]): nothing
/// may be signed, and the service must stop.
pub fn cover_at_start(
    ledger: &mut Ledger,
    signed: &watch::Sender<u64>,
    last: &mut LastSigned,
) -> Result<(), String> {
    last.check(ledger)?;
    let began = Instant::now();
    match uncovered(ledger).and_then(|yes| match yes {
        true => ledger.checkpoint().map(Some),
        false => Ok(None),
    }) {
        Ok(Some(cp)) => {
            log::checkpoint("start", Ok(cp.size), began.elapsed());
            keep(last, &cp);
            signed.send_replace(cp.size);
        }
        Ok(None) => {
            if let Ok(Some(cp)) = ledger.store().latest_checkpoint() {
                keep(last, &cp);
            }
        }
        Err(e) => log::checkpoint("start", Err(&e.to_string()), began.elapsed()),
    }
    Ok(())
}

/// Records `cp` as the last checkpoint signed; a failed write is logged, not fatal (the record
/// only guards the next signature, and the previous one stays in place).
fn keep(last: &mut LastSigned, cp: &StoredCheckpoint) {
    if let Err(e) = last.record(cp) {
        log::Line::new("last-signed")
            .kv("outcome", "failed")
            .kv("size", cp.size)
            .kv("reason", e)
            .emit();
    }
}

/// Stops the writer when signing would fork the log: says why in the log and to the service
/// (which stops), and answers every registration waiting with it.
fn refuse_to_sign(settings: &Settings, why: &str, waiting: Vec<Pending>) {
    log::Line::new("refused-to-sign").kv("reason", why).emit();
    let p = Problem::new(
        503,
        "Service Unavailable",
        format!("the service stopped signing checkpoints: {why}"),
    );
    for w in waiting {
        let _ = w.reply.send(Err(p.clone()));
    }
    if let Some(f) = &settings.fatal {
        f.send_replace(Some(why.to_owned()));
    }
}

/// After a checkpoint could not be signed, the least time before the writer tries again, so a
/// failing signature (a full disk, say) is not retried in a tight loop when the interval is 0.
pub const RETRY_AFTER_FAILED_CHECKPOINT: Duration = Duration::from_secs(1);

/// How the writer runs, beyond its ledger and queue.
#[derive(Debug, Default)]
pub struct Settings {
    /// The least time between two checkpoints (`checkpoint_interval_ms`); zero: every batch.
    pub interval: Duration,
    /// Where batch sizes and signed checkpoints are counted (`GET /metrics`).
    pub metrics: Arc<super::metrics::Metrics>,
    /// Told why, when the writer refuses to sign because the database lost what an earlier
    /// checkpoint covered ([`LastSigned`]); the service then stops.
    pub fatal: Option<watch::Sender<Option<String>>>,
}

/// Runs the writer until every sender of the queue is dropped; `signed` receives the size of
/// each checkpoint signed (the witnessing task waits on it).
///
/// **Shared ledgers.** With a `cluster` (a PostgreSQL ledger), the writer appends and signs only
/// while this instance holds the sequencing lease, and then also registers what other instances
/// queued; otherwise it queues its registrations for the sequencer and answers them once
/// settled ([`Cluster`]). On becoming the sequencer it first covers what a predecessor left
/// uncovered ([`cover_at_start`]); on a clean stop it gives the lease up.
///
/// **Checkpoint cadence.** A checkpoint is signed after a batch if at least `interval` has
/// passed since the last one this writer signed (or none was signed yet), else as soon as the
/// interval has passed; meanwhile more batches are committed, each acknowledged at its commit,
/// and their registrations wait for the checkpoint for their receipts. An interval of zero signs
/// after every batch. When the queue closes (the service stops), the entries still waiting are
/// covered before the writer returns.
pub fn run(
    mut ledger: Ledger,
    mut jobs: mpsc::Receiver<Job>,
    signed: watch::Sender<u64>,
    keys: &SignerKeys,
    settings: &Settings,
    mut cluster: Option<Cluster>,
    mut last: LastSigned,
) {
    let (interval, metrics) = (settings.interval, &*settings.metrics);
    // The size of the latest checkpoint: entries below it are covered.
    let mut covered = 0;
    if let Ok(Some(cp)) = ledger.store().latest_checkpoint() {
        metrics.signed(cp.size, false);
        covered = cp.size;
    }
    // Only to wait on the queue with a deadline: this thread runs no other task.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        eprintln!("ledger writer: cannot start its timer; registrations are refused");
        return;
    };
    let wake = cluster.as_ref().map(Cluster::wake);
    // A SQLite ledger has this one writer; a shared one, whoever holds the lease.
    metrics.sequencing(cluster.is_none(), 0);
    // Registrations committed and acknowledged that no checkpoint covers yet.
    let mut waiting: Vec<Pending> = Vec::new();
    // The log holds entries no checkpoint covers (some may have no waiter: a failed
    // checkpoint's, answered 202 already).
    let mut uncovered = false;
    // When this writer last tried to sign, and whether that failed.
    let mut tried: Option<(Instant, bool)> = None;
    let due = |tried: Option<(Instant, bool)>| {
        tried.map(|(at, failed)| {
            at + if failed {
                interval.max(RETRY_AFTER_FAILED_CHECKPOINT)
            } else {
                interval
            }
        })
    };
    loop {
        let sequencing = cluster.as_ref().is_none_or(Cluster::sequencing);
        let sign_at = due(tried).filter(|_| uncovered && sequencing);
        let deadline = match (sign_at, cluster.as_ref().map(Cluster::wake_at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let first = match wait(&rt, &mut jobs, deadline, wake.as_deref()) {
            Woke::Closed => break,
            Woke::Job(job) => Some(*job),
            // The interval has passed, or the cluster has news: look below.
            Woke::Timer => None,
        };
        let took = cluster.as_mut().is_some_and(|c| c.tick(&mut ledger));
        if let Some(c) = cluster.as_ref() {
            metrics.sequencing(c.sequencing(), c.epoch());
        }
        if took {
            // Just became the sequencer: first cover what a predecessor committed.
            if let Err(why) = cover_at_start(&mut ledger, &signed, &mut last) {
                refuse_to_sign(settings, &why, waiting);
                return;
            }
            covered = ledger
                .store()
                .latest_checkpoint()
                .ok()
                .flatten()
                .map_or(covered, |cp| cp.size);
        }
        let sequencing = cluster.as_ref().is_none_or(Cluster::sequencing);
        let mut batch: Vec<Job> = first.into_iter().collect();
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !sequencing {
            if let Some(c) = cluster.as_mut() {
                // Committed while this instance sequenced, covered by whoever sequences next.
                c.adopt(std::mem::take(&mut waiting));
                uncovered = false;
                c.forward(batch);
                c.collect(&ledger);
            }
            // The sequencer's checkpoints, recorded here too, guard this instance's first
            // signature should it take over.
            if let Ok(Some(cp)) = ledger.store().latest_checkpoint() {
                keep(&mut last, &cp);
            }
            continue;
        }
        let (queued, taken) = match cluster.as_mut() {
            Some(c) => c.take(MAX_BATCH - batch.len()),
            None => (Vec::new(), Vec::new()),
        };
        batch.extend(queued);
        if !batch.is_empty() {
            let (size, began) = (batch.len(), Instant::now());
            metrics.batch(size);
            let committed = commit(&mut ledger, batch, keys);
            let created = committed.iter().filter(|p| p.created).count();
            log::batch(size, created, committed.len() - created, began.elapsed());
            if let Some(c) = cluster.as_mut() {
                c.settle(taken, &committed);
            }
            // A statement registered before may name an entry no checkpoint covers either (one
            // another process appended): it waits for the checkpoint too.
            uncovered |= committed.iter().any(|p| p.index >= covered);
            waiting.extend(committed);
        }
        if !uncovered && !waiting.is_empty() {
            // Statements registered before, whose entries a checkpoint covers: answered now.
            answer(&ledger, std::mem::take(&mut waiting));
        }
        if uncovered && due(tried).is_none_or(|d| Instant::now() >= d) {
            if let Err(why) = last.check(&ledger) {
                refuse_to_sign(settings, &why, waiting);
                return;
            }
            let size = integrate(
                &mut ledger,
                std::mem::take(&mut waiting),
                metrics,
                "cadence",
                &mut last,
            );
            tried = Some((Instant::now(), size.is_none()));
            if let Some(size) = size {
                uncovered = false;
                covered = size;
                signed.send_replace(size);
                if let Some(c) = cluster.as_ref() {
                    c.signed();
                }
            }
        }
        if let Some(c) = cluster.as_mut() {
            c.collect(&ledger);
        }
    }
    let sequencing = cluster.as_ref().is_none_or(Cluster::sequencing);
    if uncovered
        && sequencing
        && let Err(why) = last.check(&ledger)
    {
        refuse_to_sign(settings, &why, waiting);
        return;
    }
    if uncovered
        && sequencing
        && let Some(size) = integrate(&mut ledger, waiting, metrics, "stop", &mut last)
    {
        signed.send_replace(size);
        if let Some(c) = cluster.as_ref() {
            c.signed();
        }
    }
    if let Some(c) = cluster.as_mut() {
        c.release();
    }
}

/// What ended the writer's wait.
enum Woke {
    /// A registration (boxed: a job is large, and this enum is only moved once).
    Job(Box<Job>),
    /// Every sender of the queue is gone: the service stops.
    Closed,
    /// The deadline passed, or the cluster's listener woke the writer.
    Timer,
}

/// Waits for a registration until `deadline` (none: forever), or until `wake` is notified.
fn wait(
    rt: &tokio::runtime::Runtime,
    jobs: &mut mpsc::Receiver<Job>,
    deadline: Option<Instant>,
    wake: Option<&tokio::sync::Notify>,
) -> Woke {
    rt.block_on(async {
        // The timer is made inside the runtime, whose clock it needs.
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let woken = async {
            match wake {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            job = jobs.recv() => job.map_or(Woke::Closed, |j| Woke::Job(Box::new(j))),
            () = timer => Woke::Timer,
            () = woken => Woke::Timer,
        }
    })
}

/// A registration committed and acknowledged, waiting for a checkpoint for its receipt.
pub struct Pending {
    /// The entry hash.
    pub entry_hash: Hash,
    /// The entry's index.
    pub index: u64,
    /// Whether this registration appended the entry (else it was in the log already).
    pub created: bool,
    /// Where its answer goes.
    pub reply: oneshot::Sender<Result<Answer, Problem>>,
}

/// Whether the log holds entries no checkpoint covers.
fn uncovered(ledger: &Ledger) -> Result<bool, LedgerError> {
    let size = ledger.store().size()?;
    let covered = ledger.store().latest_checkpoint()?.map_or(0, |c| c.size);
    Ok(size > covered)
}

/// The documents check of registrations over HTTP: a firmware build citing a Sigstore bundle
/// needs the bundle (and its managed key) uploaded first (`POST /documents`), as `evledger
/// register` needs it with `--document`; the message is the CLI's "citation missing". Once
/// uploaded, the bundle cannot be re-verified here (that needs a trusted root the operator pins
/// and the `sigstore` feature), so it is refused, naming the CLI command that registers it.
fn sigstore_documents(evidence: &Evidence, documents: &[Vec<u8>]) -> Result<(), LedgerError> {
    use sha2::Digest as _;
    let Evidence::FirmwareBuild(fb) = evidence else {
        return Ok(());
    };
    let cited: Vec<_> = [&fb.sigstore, &fb.attestation]
        .into_iter()
        .flatten()
        .collect();
    if cited.is_empty() {
        return Ok(());
    }
    let held = |d: &[u8; 32]| {
        documents
            .iter()
            .any(|b| <[u8; 32]>::from(sha2::Sha256::digest(b)) == *d)
    };
    for sg in cited {
        if !held(&sg.bundle_sha256.0) {
            return Err(LedgerError::Sigstore(format!(
                "the firmware build cites Sigstore bundle {}, which this ledger does not hold: upload it first with POST /documents",
                hex::encode(&sg.bundle_sha256.0)
            )));
        }
        if let Some(k) = sg.key_sha256.as_ref().filter(|k| !held(&k.0)) {
            return Err(LedgerError::Sigstore(format!(
                "the firmware build cites the managed Sigstore key {}, which this ledger does not hold: upload the key (SubjectPublicKeyInfo DER) first with POST /documents",
                hex::encode(&k.0)
            )));
        }
    }
    Err(LedgerError::Sigstore(
        "the firmware build cites a Sigstore bundle, which this service does not re-verify: register it with `evledger register FILE --document BUNDLE --trusted-root ROOT`".into(),
    ))
}

/// Commits one batch, all that can be: a statement the registration refuses is answered with
/// its refusal and taken out, and the rest is tried again, so one bad statement never holds back
/// the others. Returns the registrations committed (and told so), each to be answered with its
/// receipt once a checkpoint covers it ([`integrate`]); a statement already in the log is among
/// them, to be answered with the receipt of its entry.
fn commit(ledger: &mut Ledger, batch: Vec<Job>, keys: &SignerKeys) -> Vec<Pending> {
    let mut verified = Vec::with_capacity(batch.len());
    let (mut subs, mut replies): (Vec<Submission>, Vec<_>) = batch
        .into_iter()
        .map(|j| {
            verified.push(j.verified);
            let sub = Submission {
                statement: j.statement,
                documents: j.documents,
            };
            (sub, (j.reply, j.committed))
        })
        .unzip();
    let check = sigstore_documents;
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
                    LedgerError::Store(StoreError::Duplicate { entry_hash, index }) => {
                        existing.push(((entry_hash, index), reply));
                    }
                    e => {
                        // The client may have gone away; its statement was refused either way.
                        let _ = reply.0.send(Err(Problem::from_registration(&e)));
                    }
                }
            }
            Err(RegisterError {
                position: None,
                error,
            }) => {
                let problem = Problem::from_registration(&error);
                for reply in replies.drain(..) {
                    let _ = reply.0.send(Err(problem.clone()));
                }
                break Vec::new();
            }
        }
    };
    // The commit point: `register` returned, so every entry of `created` is durable. No
    // registration was answered before this line.
    learn_keys(keys, &created);
    let answers = created
        .iter()
        .map(|r| ((r.entry_hash, r.index), true))
        .zip(replies)
        .chain(existing.into_iter().map(|(h, reply)| ((h, false), reply)));
    answers
        .map(|(((entry_hash, index), created), (reply, committed))| {
            if let Some(c) = committed {
                let _ = c.send(entry_hash);
            }
            Pending {
                entry_hash,
                index,
                created,
                reply,
            }
        })
        .collect()
}

/// The integration step: signs a checkpoint over the whole log and answers each of `waiting`
/// with a receipt against it. Returns the size of the checkpoint, or `None` if it could not be
/// signed: then each registration is answered with why (its handler answers `202`, the entry
/// being durable), and the writer tries again later.
fn integrate(
    ledger: &mut Ledger,
    waiting: Vec<Pending>,
    metrics: &super::metrics::Metrics,
    at: &str,
    last: &mut LastSigned,
) -> Option<u64> {
    let began = Instant::now();
    let signed = match ledger.checkpoint() {
        // Counted (and recorded) before any registration is answered, so a client that has
        // its receipt scrapes a signed tree size that covers it.
        Ok(cp) => {
            metrics.signed(cp.size, true);
            log::checkpoint(at, Ok(cp.size), began.elapsed());
            keep(last, &cp);
            cp.size
        }
        Err(e) => {
            log::checkpoint(at, Err(&e.to_string()), began.elapsed());
            for Pending {
                entry_hash: hash,
                reply,
                ..
            } in waiting
            {
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
            return None;
        }
    };
    answer(ledger, waiting);
    Some(signed)
}

/// Answers each of `waiting` with a receipt against the latest checkpoint.
///
/// The receipts are made together (`Ledger::cose_receipts`): the checkpoint and the log key are
/// read once and the root signed once for the whole batch, and each receipt is byte for byte the
/// one `Ledger::cose_receipt` makes.
pub fn answer(ledger: &Ledger, waiting: Vec<Pending>) {
    if waiting.is_empty() {
        return;
    }
    let wanted: Vec<_> = waiting.iter().map(|p| (p.index, p.entry_hash)).collect();
    let internal = |e: &dyn std::fmt::Display| {
        Problem::new(500, "Internal Server Error", format!("receipt: {e}"))
    };
    // The entries were just committed, so "no proof" means no published checkpoint covers them
    // yet: the witnesses have not cosigned one (`specs/witness.md` §8). Answered without a
    // receipt (202), not as an error.
    let receipts: Vec<Result<Option<Vec<u8>>, Problem>> = match ledger.cose_receipts(&wanted) {
        Ok(each) => each
            .into_iter()
            .map(|r| match r {
                Ok(r) => Ok(Some(r.bytes)),
                Err(LedgerError::NoProof(_)) => Ok(None),
                Err(e) => Err(internal(&e)),
            })
            .collect(),
        Err(LedgerError::NoProof(_)) => waiting.iter().map(|_| Ok(None)).collect(),
        Err(e) => waiting.iter().map(|_| Err(internal(&e))).collect(),
    };
    for (
        Pending {
            entry_hash,
            created,
            reply,
            ..
        },
        receipt,
    ) in waiting.into_iter().zip(receipts)
    {
        let answer = receipt.map(|receipt| Answer {
            created,
            entry_hash,
            receipt,
        });
        let _ = reply.send(answer);
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

/// Keeps a verifier for each signer key of `created` not known yet, so the handlers verify its
/// next statements before the writer.
fn learn_keys(keys: &SignerKeys, created: &[crate::ledger::Registered]) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::InputFormat;

    fn firmware_build(sigstore: bool) -> Evidence {
        let mut text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/facegate/firmware-4.2.0.toml"
        ))
        .unwrap();
        if sigstore {
            text.push_str(&format!(
                "\n[sigstore]\nbundle_sha256 = \"{b}\"\ntrusted_root_sha256 = \"{r}\"\nartifact = \"facegate-4.2.0-fg3.img\"\nkey_sha256 = \"{k}\"\n",
                b = hex::encode(&<[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(b"bundle"))),
                r = "cd".repeat(32),
                k = hex::encode(&<[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(b"key"))),
            ));
        }
        Evidence::from_input("firmware-build", &text, InputFormat::Toml).unwrap()
    }

    #[test]
    fn a_sigstore_bundle_not_uploaded_is_a_missing_citation() {
        assert!(sigstore_documents(&firmware_build(false), &[]).is_ok());
        let fb = firmware_build(true);
        let e = sigstore_documents(&fb, &[]).unwrap_err().to_string();
        // The CLI's words up to the remedy, which names this interface's way to supply it.
        assert!(
            e.starts_with("sigstore: the firmware build cites Sigstore bundle ")
                && e.ends_with(
                    "which this ledger does not hold: upload it first with POST /documents"
                ),
            "{e}"
        );
        // The managed key is a document too.
        let e = sigstore_documents(&fb, &[b"bundle".to_vec()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cites the managed Sigstore key"), "{e}");
        // Uploaded, the bundle is not re-verified here: refused, naming the CLI command.
        let all = [b"bundle".to_vec(), b"key".to_vec()];
        let e = sigstore_documents(&fb, &all).unwrap_err().to_string();
        assert!(
            e.contains("evledger register FILE --document BUNDLE"),
            "{e}"
        );
    }
}
