//! `GET /metrics`: the service's counters in the Prometheus text exposition format 0.0.4,
//! kept in atomics (no metrics crate).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the registration latency histogram's buckets (`+Inf` follows).
pub const LATENCY_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Upper bounds of the batch size histogram's buckets (`+Inf` follows): powers of two up to
/// the writer's `MAX_BATCH` (64).
pub const BATCH_BUCKETS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

/// The service's counters, shared by every connection and the writer.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: index 0 is 1xx … index 4 is 5xx.
    http: [AtomicU64; 5],
    /// `POST /entries` answers: 201, 200, 202, 4xx, 5xx.
    registrations: [AtomicU64; 5],
    /// Registration latency, request received to answer ready: one count per bucket, then `+Inf`.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of registration latencies, in microseconds.
    latency_sum_us: AtomicU64,
    /// Batches the writer committed, by size: one count per bucket, then `+Inf`.
    batches: [AtomicU64; BATCH_BUCKETS.len() + 1],
    /// Sum of batch sizes: registrations the writer took off the queue.
    batched: AtomicU64,
    /// Checkpoints the writer signed.
    checkpoints: AtomicU64,
    /// The size of the latest checkpoint signed (published or not).
    signed_tree_size: AtomicU64,
    /// 1 while this instance's writer appends (always on SQLite), 0 while it hands
    /// registrations to another instance.
    sequencing: AtomicU64,
    /// The sequencing lease's epoch this instance holds (0 on SQLite, or while not sequencing).
    lease_epoch: AtomicU64,
}

/// The `outcome` label of a registration answered with `status`, and its counter's index.
fn outcome(status: u16) -> Option<usize> {
    match status {
        201 => Some(0),
        200 => Some(1),
        202 => Some(2),
        400..=499 => Some(3),
        500..=599 => Some(4),
        _ => None,
    }
}

const OUTCOMES: [&str; 5] = ["created", "repeated", "accepted", "refused", "failed"];

impl Metrics {
    /// Counts one response of `status`.
    pub fn http(&self, status: u16) {
        if let Some(c) = self.http.get(usize::from(status / 100).wrapping_sub(1)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one `POST /entries` answered with `status` after `took`.
    pub fn registration(&self, status: u16, took: Duration) {
        if let Some(i) = outcome(status) {
            self.registrations[i].fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        let b = LATENCY_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[b].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Counts one batch of `size` registrations taken off the queue by the writer.
    pub fn batch(&self, size: usize) {
        let size = size as u64;
        let b = BATCH_BUCKETS
            .iter()
            .position(|&le| size <= le)
            .unwrap_or(BATCH_BUCKETS.len());
        self.batches[b].fetch_add(1, Ordering::Relaxed);
        self.batched.fetch_add(size, Ordering::Relaxed);
    }

    /// Records a checkpoint of `size` signed by the writer; `new` counts it (false for the
    /// latest one found at start).
    pub fn signed(&self, size: u64, new: bool) {
        if new {
            self.checkpoints.fetch_add(1, Ordering::Relaxed);
        }
        self.signed_tree_size.store(size, Ordering::Relaxed);
    }

    /// Records whether this instance sequences, and under which lease epoch (0: none).
    pub fn sequencing(&self, yes: bool, epoch: u64) {
        self.sequencing.store(u64::from(yes), Ordering::Relaxed);
        self.lease_epoch
            .store(if yes { epoch } else { 0 }, Ordering::Relaxed);
    }

    /// The counters as Prometheus text (format 0.0.4); `extra` (the witnessing counters) is
    /// appended as it is.
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::from(
            "# HELP evledger_http_responses_total HTTP responses, by status class.\n# TYPE evledger_http_responses_total counter\n",
        );
        for (i, c) in self.http.iter().enumerate() {
            let _ = writeln!(
                out,
                "evledger_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP evledger_registrations_total POST /entries answers, by outcome: created (201), repeated (200), accepted (202), refused (4xx), failed (5xx).\n# TYPE evledger_registrations_total counter\n");
        for (name, c) in OUTCOMES.iter().zip(&self.registrations) {
            let _ = writeln!(
                out,
                "evledger_registrations_total{{outcome=\"{name}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP evledger_registration_seconds POST /entries, request received to answer ready.\n# TYPE evledger_registration_seconds histogram\n");
        let mut cumulative = 0u64;
        for (i, c) in self.latency.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), ToString::to_string);
            let _ = writeln!(
                out,
                "evledger_registration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        #[allow(clippy::cast_precision_loss)]
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "evledger_registration_seconds_sum {sum}");
        let _ = writeln!(out, "evledger_registration_seconds_count {cumulative}");
        out.push_str("# HELP evledger_batch_size Registrations the writer committed in one transaction (group commit).\n# TYPE evledger_batch_size histogram\n");
        let mut cumulative = 0u64;
        for (i, c) in self.batches.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BATCH_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), ToString::to_string);
            let _ = writeln!(
                out,
                "evledger_batch_size_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "evledger_batch_size_sum {}",
            self.batched.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "evledger_batch_size_count {cumulative}");
        let _ = writeln!(
            out,
            "# HELP evledger_checkpoints_signed_total Checkpoints the writer signed.\n# TYPE evledger_checkpoints_signed_total counter\nevledger_checkpoints_signed_total {}",
            self.checkpoints.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP evledger_signed_tree_size Size of the latest checkpoint the writer signed, published or not.\n# TYPE evledger_signed_tree_size gauge\nevledger_signed_tree_size {}",
            self.signed_tree_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP evledger_sequencing 1 while this instance appends to the log, 0 while it hands registrations to the instance holding the sequencing lease.\n# TYPE evledger_sequencing gauge\nevledger_sequencing {}",
            self.sequencing.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP evledger_lease_epoch The sequencing lease epoch this instance holds on a shared PostgreSQL ledger (0: none).\n# TYPE evledger_lease_epoch gauge\nevledger_lease_epoch {}",
            self.lease_epoch.load(Ordering::Relaxed)
        );
        out.push_str(extra);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use std::time::Duration;

    #[test]
    fn counts_render_cumulatively() {
        let m = Metrics::default();
        m.http(201);
        m.http(404);
        m.http(404);
        m.http(99);
        m.registration(201, Duration::from_millis(2));
        m.registration(400, Duration::from_secs(10));
        let t = m.render("");
        assert!(
            t.contains("evledger_http_responses_total{class=\"2xx\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_http_responses_total{class=\"4xx\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registrations_total{outcome=\"created\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registrations_total{outcome=\"refused\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registration_seconds_bucket{le=\"0.001\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registration_seconds_bucket{le=\"0.0025\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registration_seconds_bucket{le=\"5\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("evledger_registration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{t}"
        );
        assert!(t.contains("evledger_registration_seconds_count 2\n"), "{t}");
        m.batch(1);
        m.batch(3);
        m.batch(64);
        m.batch(65);
        m.signed(7, false);
        m.signed(9, true);
        let t = m.render("");
        for line in [
            "evledger_batch_size_bucket{le=\"1\"} 1\n",
            "evledger_batch_size_bucket{le=\"2\"} 1\n",
            "evledger_batch_size_bucket{le=\"4\"} 2\n",
            "evledger_batch_size_bucket{le=\"64\"} 3\n",
            "evledger_batch_size_bucket{le=\"+Inf\"} 4\n",
            "evledger_batch_size_sum 133\n",
            "evledger_batch_size_count 4\n",
            "evledger_checkpoints_signed_total 1\n",
            "evledger_signed_tree_size 9\n",
        ] {
            assert!(t.contains(line), "{line} in {t}");
        }
    }
}
