//! Gathering the witness quorum: one round asks every configured witness with a URL that has not
//! cosigned the checkpoint yet ([`round`]); `evledger checkpoint --witnesses` runs one round,
//! `evledger serve` runs [`run`] in the background after each integration.
//!
//! **Killed at each step.** Nothing here is the only copy of anything: a cosignature is stored
//! (and the checkpoint published when it makes the quorum) in one ledger transaction, and a
//! witness that cosigned keeps its state in its own directory. Killed before a cosignature is
//! stored, the next round asks the witness again: it answers 409 with the size it recorded, and
//! is asked again from that size. Killed after, the cosignature and the publication stand.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::witness_client::{self, Outcome};
use crate::ledger::Ledger;
use crate::ledger::publish::{count_witnesses, published_in};
use crate::ledger::witnesses::Witness;
use crate::store::{StoreRead as _, StoredCheckpoint, StoredWitness};

/// The first wait before asking a witness that failed again; doubled after each failure.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);

/// The longest wait between two requests to a witness that keeps failing: a witness back up is
/// asked again within this.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What a round did for one checkpoint.
#[derive(Clone, Debug)]
pub struct Report {
    /// The checkpoint asked about.
    pub size: u64,
    /// The quorum.
    pub quorum: u64,
    /// Distinct configured witnesses whose cosignatures of it are stored.
    pub cosigned: usize,
    /// Whether it is published (the published checkpoint is at least this size).
    pub published: bool,
    /// Each witness asked in this round, by name, with what it did.
    pub asked: Vec<(String, Outcome)>,
    /// Configured witnesses without a URL, which cannot be asked.
    pub without_url: Vec<String>,
}

impl Report {
    /// One line per witness that failed, `name: reason`.
    pub fn failures(&self) -> Vec<String> {
        self.asked
            .iter()
            .filter_map(|(n, o)| match o {
                Outcome::Failed(why) => Some(format!("{n}: {why}")),
                Outcome::Cosigned { .. } => None,
            })
            .collect()
    }
}

/// What a round needs from the ledger, read in one blocking call.
struct View {
    cp: StoredCheckpoint,
    quorum: u64,
    witnesses: Vec<Witness>,
    /// Names of the witnesses whose cosignatures of `cp` are stored.
    done: Vec<String>,
    published: Option<u64>,
}

fn read_view(dir: &Path, size: Option<u64>) -> Result<Option<View>, String> {
    let ledger = Ledger::open_read_only(dir).map_err(|e| e.to_string())?;
    let store = ledger.store();
    let cp = match size {
        Some(s) => store.checkpoint_at(s),
        None => store.latest_checkpoint(),
    }
    .map_err(|e| e.to_string())?;
    let Some(cp) = cp else { return Ok(None) };
    let witnesses = ledger.witnesses().map_err(|e| e.to_string())?;
    let stored: Vec<StoredWitness> = store.witnesses().map_err(|e| e.to_string())?;
    let lines = store.cosignatures(cp.size).map_err(|e| e.to_string())?;
    let done = stored
        .iter()
        .filter(|w| count_witnesses(&lines, std::slice::from_ref(w)) > 0)
        .map(|w| w.name.clone())
        .collect();
    Ok(Some(View {
        quorum: store.witness_quorum().map_err(|e| e.to_string())?,
        published: published_in(store)
            .map_err(|e| e.to_string())?
            .map(|c| c.size),
        cp,
        witnesses,
        done,
    }))
}

async fn view(dir: &Path, size: Option<u64>) -> Result<Option<View>, String> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || read_view(&dir, size))
        .await
        .map_err(|e| e.to_string())?
}

/// Asks every configured witness with a URL that has not cosigned the checkpoint of `size` (the
/// latest if `None`) and whose name `skip` does not return true for, concurrently; returns what
/// each did. `hints` holds the size each witness is believed to have cosigned; it is updated.
///
/// # Errors
/// When the ledger cannot be read, or has no such checkpoint.
pub async fn round(
    dir: &Path,
    size: Option<u64>,
    hints: &mut HashMap<String, u64>,
    skip: impl Fn(&str) -> bool,
) -> Result<Report, String> {
    let v = view(dir, size).await?.ok_or_else(|| match size {
        Some(s) => format!("the ledger has no checkpoint of size {s}"),
        None => "the ledger has no checkpoint yet".to_owned(),
    })?;
    let mut tasks = JoinSet::new();
    let mut without_url = Vec::new();
    for w in &v.witnesses {
        let name = w.verifier.name().to_owned();
        if w.url.is_none() {
            without_url.push(name);
            continue;
        }
        if v.done.contains(&name) || skip(&name) {
            continue;
        }
        let hint = hints.get(&name).copied().unwrap_or(0);
        let (dir, w, cp) = (dir.to_path_buf(), w.clone(), v.cp.clone());
        tasks.spawn(async move { (name, witness_client::ask(dir, w, cp, hint).await) });
    }
    let mut asked = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((name, outcome)) => {
                if let Outcome::Cosigned { size, .. } = outcome {
                    hints.insert(name.clone(), size);
                }
                asked.push((name, outcome));
            }
            Err(e) => asked.push(("?".into(), Outcome::Failed(e.to_string()))),
        }
    }
    asked.sort_by(|a, b| a.0.cmp(&b.0));
    let after = view(dir, Some(v.cp.size))
        .await?
        .ok_or("checkpoint vanished")?;
    Ok(Report {
        size: v.cp.size,
        quorum: after.quorum,
        cosigned: after.done.len(),
        published: after.published.is_some_and(|p| p >= v.cp.size),
        asked,
        without_url,
    })
}

/// Counters of the witnessing task, for the service's metrics: requests to each witness by
/// outcome, and the size of the checkpoint last published by a round.
#[derive(Debug, Default)]
pub struct WitnessStats {
    /// Witness name to (cosigned, failed) request counts.
    requests: Mutex<BTreeMap<String, (u64, u64)>>,
    /// The size of the latest checkpoint seen published.
    published_size: AtomicU64,
}

impl WitnessStats {
    fn record(&self, name: &str, cosigned: bool) {
        // A poisoned lock only means another thread panicked while counting; the counts stay
        // usable.
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let c = m.entry(name.to_owned()).or_default();
        if cosigned {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }

    /// (cosigned, failed) requests to the witness `name` so far.
    pub fn requests(&self, name: &str) -> (u64, u64) {
        let m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        m.get(name).copied().unwrap_or_default()
    }

    /// The size of the latest checkpoint a round saw published (0 before).
    pub fn published_size(&self) -> u64 {
        self.published_size.load(Ordering::Relaxed)
    }

    /// The counters in the Prometheus text exposition format:
    /// `evledger_witness_requests_total{witness="…",outcome="cosigned"|"failed"}` and
    /// `evledger_published_tree_size`.
    pub fn prometheus(&self) -> String {
        let mut out = String::from(
            "# HELP evledger_witness_requests_total add-checkpoint requests to each witness, by outcome.\n# TYPE evledger_witness_requests_total counter\n",
        );
        let m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for (name, (ok, failed)) in m.iter() {
            // Witness names are C2SP key names: printable ASCII without spaces; quotes and
            // backslashes are escaped as the format requires.
            let n = name.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!(
                "evledger_witness_requests_total{{witness=\"{n}\",outcome=\"cosigned\"}} {ok}\nevledger_witness_requests_total{{witness=\"{n}\",outcome=\"failed\"}} {failed}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP evledger_published_tree_size the size of the published checkpoint.\n# TYPE evledger_published_tree_size gauge\nevledger_published_tree_size {}\n",
            self.published_size()
        ));
        out
    }
}

/// One witness's retry schedule, and why it last failed.
#[derive(Clone, Debug)]
struct Backoff {
    failures: u32,
    next: Instant,
    why: String,
}

impl Backoff {
    fn delay(failures: u32) -> Duration {
        BACKOFF_MIN
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(BACKOFF_MAX)
    }
}

/// The service's witnessing loop: whenever `latest` changes (the writer signed a checkpoint) or a
/// witness's backoff ends, asks the witnesses that have not cosigned the latest checkpoint, and
/// logs why it is not published when it is not; counts outcomes in `stats`. Runs until the
/// sender is dropped.
pub async fn run(dir: PathBuf, mut latest: watch::Receiver<u64>, stats: Arc<WitnessStats>) {
    let mut hints = HashMap::new();
    let mut backoff: HashMap<String, Backoff> = HashMap::new();
    let mut last_logged: Option<(u64, Vec<String>)> = None;
    loop {
        let now = Instant::now();
        let waiting = |name: &str| backoff.get(name).is_some_and(|b| b.next > now);
        match round(&dir, None, &mut hints, waiting).await {
            Ok(r) => {
                if r.published {
                    stats.published_size.fetch_max(r.size, Ordering::Relaxed);
                }
                for (name, outcome) in &r.asked {
                    stats.record(name, matches!(outcome, Outcome::Cosigned { .. }));
                    match outcome {
                        Outcome::Cosigned { .. } => {
                            backoff.remove(name);
                        }
                        Outcome::Failed(why) => {
                            let b = backoff.entry(name.clone()).or_insert(Backoff {
                                failures: 0,
                                next: now,
                                why: String::new(),
                            });
                            b.failures += 1;
                            b.why.clone_from(why);
                            let wait = Backoff::delay(b.failures);
                            b.next = Instant::now() + wait;
                            super::log::witnessing(
                                Some(r.size),
                                "witness-failed",
                                &format!(
                                    "witness {name}: checkpoint {} not cosigned: {why}; asking again in {:.1} s",
                                    r.size,
                                    wait.as_secs_f64()
                                ),
                            );
                        }
                    }
                }
                // A witness not asked although its wait was over has cosigned (or has no URL):
                // it needs no schedule.
                backoff.retain(|n, b| r.asked.iter().any(|(a, _)| a == n) || b.next > now);
                // Every witness still failing, with its last error, whether asked in this round
                // or waiting out its backoff.
                let mut failing: Vec<String> = backoff
                    .iter()
                    .map(|(n, b)| format!("{n}: {}", b.why))
                    .collect();
                failing.sort();
                let state = (r.size, failing);
                if r.published {
                    if r.asked
                        .iter()
                        .any(|(_, o)| matches!(o, Outcome::Cosigned { .. }))
                    {
                        super::log::witnessing(
                            Some(r.size),
                            "published",
                            &format!(
                                "checkpoint {} published: cosigned by {} witnesses (quorum {})",
                                r.size, r.cosigned, r.quorum
                            ),
                        );
                    }
                } else if last_logged.as_ref() != Some(&state) {
                    super::log::witnessing(
                        Some(r.size),
                        "not-published",
                        &format!(
                            "checkpoint {} not published: {} of the {} witnesses the quorum needs have cosigned it{}{}",
                            r.size,
                            r.cosigned,
                            r.quorum,
                            if state.1.is_empty() {
                                String::new()
                            } else {
                                format!("; failed: {}", state.1.join("; "))
                            },
                            if r.without_url.is_empty() {
                                String::new()
                            } else {
                                format!("; without a URL: {}", r.without_url.join(", "))
                            },
                        ),
                    );
                }
                last_logged = Some(state);
            }
            Err(e) if e.contains("no checkpoint yet") => {}
            Err(e) => super::log::witnessing(None, "failed", &e),
        }
        // Wait for a new checkpoint, or for the first witness whose backoff ends.
        let wake = backoff.values().map(|b| b.next).min();
        let changed = match wake {
            Some(t) => tokio::time::timeout_at(t, latest.changed()).await.ok(),
            None => Some(latest.changed().await),
        };
        if let Some(Err(_)) = changed {
            // The writer is gone: the service is stopping.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BACKOFF_MAX, BACKOFF_MIN, Backoff, WitnessStats};

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(Backoff::delay(1), BACKOFF_MIN);
        assert_eq!(Backoff::delay(2), BACKOFF_MIN * 2);
        assert_eq!(Backoff::delay(4), BACKOFF_MIN * 8);
        assert_eq!(Backoff::delay(30), BACKOFF_MAX);
        assert_eq!(Backoff::delay(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn stats_render_as_prometheus_text() {
        let s = WitnessStats::default();
        s.record("w.example/w1", true);
        s.record("w.example/w1", false);
        s.record("w.example/w1", true);
        s.published_size
            .store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(s.requests("w.example/w1"), (2, 1));
        let text = s.prometheus();
        assert!(
            text.contains(
                "evledger_witness_requests_total{witness=\"w.example/w1\",outcome=\"cosigned\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "evledger_witness_requests_total{witness=\"w.example/w1\",outcome=\"failed\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("evledger_published_tree_size 7\n"), "{text}");
    }
}
