//! Several `evledger serve` instances on one PostgreSQL ledger (`specs/store.md`, "Several
//! service instances"): exactly one sequences, holding the lease with a fencing epoch; the
//! others queue the registrations they receive in the database for it, and answer their clients
//! once it has settled them.
//!
//! Everything here runs on the writer thread ([`super::writer::run`]), on a connection of its
//! own (the lease and the queue), beside the ledger's connection that appends. A second thread
//! only listens for the database's notifications (`LISTEN`) and wakes the writer, so that a
//! queued or settled registration is seen at once instead of at the next poll.
//!
//! **Correctness does not rest on the lease.** The database refuses an entry from any epoch but
//! the lease's, and every write transaction locks the lease row, so an instance that lost its
//! lease without knowing it (paused, partitioned) cannot append. The lease only decides who
//! tries.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use sha2::{Digest as _, Sha256};
use tokio::sync::{Notify, oneshot};

use super::log;
use super::problem::Problem;
use super::writer::{Answer, Job, Pending};
use crate::ledger::Ledger;
use crate::merkle::Hash;
use crate::store::postgres::{PostgresStore, Settled};
use crate::store::{StoreError, StoreRead as _};

/// How often the writer looks at the queue and the lease when no notification comes: the
/// notifications make the common case immediate; this bounds the wait when the listening
/// connection is down.
pub const POLL: Duration = Duration::from_millis(250);

/// How long a registration handed to the sequencer may wait for it to be settled before its
/// client is told to retry (registering a statement twice appends it once).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// Settled rows whose instance never read them back (it died) are deleted after this long.
pub const STALE: Duration = Duration::from_secs(3600);

/// A registration this instance queued for the sequencer.
struct Forwarded {
    seq: i64,
    entry_hash: Hash,
    queued_at: Instant,
    committed: Option<oneshot::Sender<Hash>>,
    reply: oneshot::Sender<Result<Answer, Problem>>,
}

/// A queued registration this instance, as the sequencer, is registering.
pub struct Taken {
    seq: i64,
    entry_hash: Hash,
    committed: oneshot::Receiver<Hash>,
    reply: oneshot::Receiver<Result<Answer, Problem>>,
}

/// This instance's part in sequencing a shared ledger.
pub struct Cluster {
    /// The lease and queue connection.
    coord: PostgresStore,
    /// Who this instance is in the lease row.
    holder: String,
    ttl: Duration,
    /// The epoch while this instance sequences.
    epoch: Option<i64>,
    /// When the lease was last taken or renewed (this machine's monotonic clock, read before
    /// asking, so the lease is believed to end no later than the database says it does).
    renewed: Option<Instant>,
    /// When to renew the lease, or try to take it.
    next_lease: Instant,
    /// Registrations queued for the sequencer, waiting to be settled.
    forwarded: Vec<Forwarded>,
    /// Registrations settled as committed, waiting for a checkpoint to cover their entry.
    covering: Vec<Pending>,
    /// Woken by the listening thread.
    wake: Arc<Notify>,
    /// Tells the listening thread to stop.
    stop: Arc<AtomicBool>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Cluster {
    /// Joins the sequencing of the ledger at `url` as `holder`, with a lease of `ttl`; starts
    /// the thread that listens for queued and settled registrations.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub fn join(url: &str, holder: String, ttl: Duration) -> Result<Cluster, StoreError> {
        let coord = PostgresStore::open(url)?;
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        listen(url.to_owned(), Arc::clone(&wake), Arc::clone(&stop));
        Ok(Cluster {
            coord,
            holder,
            ttl,
            epoch: None,
            renewed: None,
            next_lease: Instant::now(),
            forwarded: Vec::new(),
            covering: Vec::new(),
            wake,
            stop,
        })
    }

    /// What wakes the writer besides its own queue.
    pub fn wake(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// When the writer must look again at the latest: the lease's renewal, or the next poll.
    pub fn wake_at(&self) -> Instant {
        self.next_lease.min(Instant::now() + POLL)
    }

    /// The lease epoch this instance sequences under (0 while it does not).
    pub fn epoch(&self) -> u64 {
        self.epoch.and_then(|e| u64::try_from(e).ok()).unwrap_or(0)
    }

    /// Whether this instance sequences now.
    pub fn sequencing(&self) -> bool {
        self.epoch.is_some()
    }

    /// Renews or tries to take the lease when due. Returns true if this instance has just
    /// become the sequencer: the ledger's store is then fenced to the new epoch, and the caller
    /// covers what a predecessor left uncovered before anything else.
    pub fn tick(&mut self, ledger: &mut Ledger) -> bool {
        let now = Instant::now();
        // A lease not renewed in time is over, whatever the database says later.
        if self.epoch.is_some() && self.renewed.is_none_or(|at| now >= at + self.ttl) {
            self.lost("expired before it could be renewed");
        }
        if now < self.next_lease {
            return false;
        }
        self.next_lease = now + self.ttl / 3;
        match self.coord.take_lease(&self.holder, self.ttl) {
            Ok(Some(epoch)) => {
                self.renewed = Some(now);
                if self.epoch == Some(epoch) {
                    return false;
                }
                self.epoch = Some(epoch);
                ledger.store_mut().fence(epoch);
                log::Line::new("lease")
                    .kv("state", "sequencing")
                    .kv("epoch", epoch)
                    .kv("holder", &self.holder)
                    .emit();
                true
            }
            Ok(None) => {
                if self.epoch.is_some() {
                    self.lost("another instance holds it");
                }
                false
            }
            Err(e) => {
                log::Line::new("lease")
                    .kv("state", "unknown")
                    .kv("holder", &self.holder)
                    .kv("reason", e)
                    .emit();
                false
            }
        }
    }

    fn lost(&mut self, why: &str) {
        log::Line::new("lease")
            .kv("state", "following")
            .kv("epoch", self.epoch.map_or(-1, |e| e))
            .kv("holder", &self.holder)
            .kv("reason", why)
            .emit();
        self.epoch = None;
        self.renewed = None;
    }

    /// Gives the lease up (a clean stop), so another instance takes over at once.
    pub fn release(&mut self) {
        if self.epoch.take().is_some() {
            let _ = self.coord.release_lease(&self.holder);
            log::Line::new("lease")
                .kv("state", "released")
                .kv("holder", &self.holder)
                .emit();
        }
    }

    /// As the sequencer: takes up to `room` registrations other instances queued, as jobs for
    /// the writer's next batch.
    pub fn take(&mut self, room: usize) -> (Vec<Job>, Vec<Taken>) {
        let Some(epoch) = self.epoch.filter(|_| room > 0) else {
            return (Vec::new(), Vec::new());
        };
        let queued = match self.coord.take_queued(epoch, room) {
            Ok(q) => q,
            Err(e) => {
                log::Line::new("queue")
                    .kv("outcome", "failed")
                    .kv("reason", e)
                    .emit();
                return (Vec::new(), Vec::new());
            }
        };
        queued
            .into_iter()
            .map(|q| {
                let (committed_tx, committed) = oneshot::channel();
                let (reply_tx, reply) = oneshot::channel();
                let taken = Taken {
                    seq: q.seq,
                    entry_hash: Sha256::digest(&q.statement).into(),
                    committed,
                    reply,
                };
                let job = Job {
                    statement: q.statement,
                    documents: q.documents,
                    committed: Some(committed_tx),
                    verified: None,
                    reply: reply_tx,
                };
                (job, taken)
            })
            .unzip()
    }

    /// As the sequencer, after the batch holding `taken` was committed (or refused): records
    /// each outcome for the instance that queued it. `committed` holds the batch's committed
    /// registrations, to tell new entries from ones registered before.
    pub fn settle(&mut self, taken: Vec<Taken>, committed: &[Pending]) {
        if taken.is_empty() {
            return;
        }
        let created: HashMap<Hash, bool> = committed
            .iter()
            .map(|p| (p.entry_hash, p.created))
            .collect();
        let outcomes: Vec<(i64, Settled)> = taken
            .into_iter()
            .map(|mut t| {
                let outcome = if t.committed.try_recv().is_ok() {
                    Settled::Committed {
                        created: created.get(&t.entry_hash).copied().unwrap_or(false),
                    }
                } else {
                    match t.reply.try_recv() {
                        Ok(Err(p)) => Settled::Refused {
                            status: p.status,
                            detail: p.detail,
                        },
                        _ => Settled::Refused {
                            status: 503,
                            detail: "the sequencer could not register the statement; try again"
                                .into(),
                        },
                    }
                };
                (t.seq, outcome)
            })
            .collect();
        if let Err(e) = self.coord.settle(&outcomes) {
            // Unsettled rows are taken again under the next epoch; the registrations that were
            // committed are then found registered, so nothing is appended twice.
            log::Line::new("queue")
                .kv("outcome", "failed")
                .kv("reason", e)
                .emit();
        }
    }

    /// Not sequencing: queues `batch` for the sequencer. A registration that cannot be queued
    /// is answered 503 at once.
    pub fn forward(&mut self, batch: Vec<Job>) {
        if batch.is_empty() {
            return;
        }
        let items: Vec<(&[u8], &[Vec<u8>])> = batch
            .iter()
            .map(|j| (j.statement.as_slice(), j.documents.as_slice()))
            .collect();
        match self.coord.enqueue(&items) {
            Ok(seqs) => {
                let now = Instant::now();
                for (seq, job) in seqs.into_iter().zip(batch) {
                    self.forwarded.push(Forwarded {
                        seq,
                        entry_hash: Sha256::digest(&job.statement).into(),
                        queued_at: now,
                        committed: job.committed,
                        reply: job.reply,
                    });
                }
            }
            Err(e) => {
                let p = Problem::new(
                    503,
                    "Service Unavailable",
                    format!(
                        "this instance cannot hand the registration to the sequencer: {e}; try again"
                    ),
                );
                for job in batch {
                    let _ = job.reply.send(Err(p.clone()));
                }
            }
        }
    }

    /// Answers the registrations this instance queued whose outcome is known: a refusal at
    /// once; a commit with a receipt once a checkpoint covers the entry.
    pub fn collect(&mut self, ledger: &Ledger) {
        if !self.forwarded.is_empty() {
            let seqs: Vec<i64> = self.forwarded.iter().map(|f| f.seq).collect();
            match self.coord.settled(&seqs) {
                Ok(settled) => self.answer_settled(ledger, settled),
                Err(e) => log::Line::new("queue")
                    .kv("outcome", "failed")
                    .kv("reason", e)
                    .emit(),
            }
            let now = Instant::now();
            let (late, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.forwarded)
                .into_iter()
                .partition(|f| now >= f.queued_at + FORWARD_TIMEOUT);
            self.forwarded = kept;
            for f in late {
                let _ = f.reply.send(Err(Problem::new(
                    503,
                    "Service Unavailable",
                    format!(
                        "no sequencer settled this registration within {} s; try again (a statement registered twice is appended once)",
                        FORWARD_TIMEOUT.as_secs()
                    ),
                )));
            }
        }
        if self.covering.is_empty() {
            return;
        }
        let covered = match ledger.store().latest_checkpoint() {
            Ok(cp) => cp.map_or(0, |c| c.size),
            Err(_) => return,
        };
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.covering)
            .into_iter()
            .partition(|p| p.index < covered);
        self.covering = waiting;
        super::writer::answer(ledger, ready);
    }

    fn answer_settled(&mut self, ledger: &Ledger, settled: Vec<(i64, Settled)>) {
        if settled.is_empty() {
            return;
        }
        let mut by_seq: HashMap<i64, Settled> = settled.into_iter().collect();
        let mut done = Vec::new();
        let forwarded = std::mem::take(&mut self.forwarded);
        for f in forwarded {
            let Some(outcome) = by_seq.remove(&f.seq) else {
                self.forwarded.push(f);
                continue;
            };
            done.push(f.seq);
            match outcome {
                Settled::Refused { status, detail } => {
                    let title = hyper::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Error");
                    let _ = f.reply.send(Err(Problem::new(status, title, detail)));
                }
                Settled::Committed { created } => match ledger.store().find(&f.entry_hash) {
                    Ok(Some(entry)) => {
                        if let Some(c) = f.committed {
                            let _ = c.send(f.entry_hash);
                        }
                        self.covering.push(Pending {
                            entry_hash: f.entry_hash,
                            index: entry.index,
                            created,
                            reply: f.reply,
                        });
                    }
                    // Settled as committed, yet not in the log this instance reads: a replica
                    // behind, or a database that lost it. Never answered as registered.
                    other => {
                        let why = match other {
                            Err(e) => e.to_string(),
                            _ => "the sequencer settled it as committed, but this instance does not find its entry".into(),
                        };
                        let _ = f.reply.send(Err(Problem::new(
                            503,
                            "Service Unavailable",
                            format!("{why}; try again"),
                        )));
                    }
                },
            }
        }
        if let Err(e) = self.coord.forget_queued(&done, STALE) {
            log::Line::new("queue")
                .kv("outcome", "failed")
                .kv("reason", e)
                .emit();
        }
    }

    /// Registrations this instance committed as the sequencer before it lost the lease: they
    /// are answered once the next sequencer's checkpoint covers them.
    pub fn adopt(&mut self, committed: Vec<Pending>) {
        self.covering.extend(committed);
    }

    /// Wakes the instances waiting for a checkpoint to cover their registrations.
    pub fn signed(&self) {
        let _ = self.coord.batch_execute("NOTIFY evledger_settled");
    }

    /// Registrations waiting on the sequencer or a checkpoint.
    pub fn waiting(&self) -> usize {
        self.forwarded.len() + self.covering.len()
    }
}

/// Listens for `evledger_queued` and `evledger_settled` on a connection of its own and wakes the
/// writer on each, reconnecting after a failure, until `stop`.
fn listen(url: String, wake: Arc<Notify>, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("evledger-listen".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(config) = url.parse::<postgres::Config>() else {
                    return;
                };
                let mut client = match config.connect(postgres::NoTls) {
                    Ok(c) => c,
                    Err(_) => {
                        std::thread::sleep(POLL);
                        continue;
                    }
                };
                if client
                    .batch_execute("LISTEN evledger_queued; LISTEN evledger_settled")
                    .is_err()
                {
                    std::thread::sleep(POLL);
                    continue;
                }
                // The writer polls anyway: waking it after a reconnect covers what was missed.
                wake.notify_one();
                while !stop.load(Ordering::Relaxed) && !client.is_closed() {
                    // One notification or none within POLL; the stop flag is read between.
                    let mut notes = client.notifications();
                    if let Ok(Some(_)) = FallibleIterator::next(&mut notes.timeout_iter(POLL)) {
                        wake.notify_one();
                    }
                }
            }
        });
    if spawned.is_err() {
        // Without the listener the writer still polls every POLL.
        log::Line::new("queue")
            .kv("outcome", "failed")
            .kv(
                "reason",
                "cannot start the listening thread; polling instead",
            )
            .emit();
    }
}

/// A name for this instance in the lease row: the host, the process, and a random part, so two
/// instances never share one.
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "instance".into());
    let mut r = [0u8; 4];
    let _ = getrandom::fill(&mut r);
    format!("{host}/{}/{}", std::process::id(), crate::hex::encode(&r))
}
