//! The registration queue of several service instances (`specs/store.md`, "Several service
//! instances"): an instance that does not hold the sequencing lease queues the registrations it
//! receives; the sequencer takes them, registers them and settles each row with the outcome,
//! which the queuing instance reads back and answers its client with.
//!
//! The queue is not history: rows are updated when settled and deleted once read. A row taken by
//! a sequencer that died before settling it is taken again under the next epoch; registering a
//! statement twice appends it once (the second finds it registered), so a retake never doubles
//! an entry.

use std::time::Duration;

use postgres::types::ToSql;

use super::{PostgresStore, prepared};
use crate::store::StoreError;

/// A registration the sequencer took off the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The row's sequence number, to settle it by.
    pub seq: i64,
    /// The signed statement, as the queuing instance received it.
    pub statement: Vec<u8>,
    /// Uploaded documents the statement cites, stored with its entry.
    pub documents: Vec<Vec<u8>>,
}

/// How the sequencer settled a queued registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The statement is in the log (committed; the receipt follows from a checkpoint covering
    /// it). `created` is false when it was registered before.
    Committed {
        /// Whether this registration appended the entry.
        created: bool,
    },
    /// The statement was refused: the HTTP status and the message to answer with.
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// Why, as the sequencer's registration said it.
        detail: String,
    },
}

impl PostgresStore {
    /// Queues registrations for the sequencer, in one transaction; returns each row's sequence
    /// number, in order.
    ///
    /// # Errors
    /// A database error (nothing is queued then).
    pub fn enqueue(&mut self, items: &[(&[u8], &[Vec<u8>])]) -> Result<Vec<i64>, StoreError> {
        self.reconnect_if_closed()?;
        let mut c = self.conn();
        let insert = prepared(
            &mut c,
            "INSERT INTO evledger.queue (statement, documents) VALUES ($1, $2) RETURNING seq",
        )?;
        let mut tx = c.client.transaction()?;
        let mut seqs = Vec::with_capacity(items.len());
        for (statement, documents) in items {
            let docs: Vec<&[u8]> = documents.iter().map(Vec::as_slice).collect();
            seqs.push(tx.query_one(&insert, &[statement, &docs])?.try_get(0)?);
        }
        tx.commit()?;
        Ok(seqs)
    }

    /// Takes up to `limit` queued registrations, oldest first, for the sequencer of `epoch`:
    /// rows no sequencer took, and rows a sequencer of another epoch took and never settled (it
    /// lost its lease or died). Rows another transaction is taking are skipped, not waited for.
    ///
    /// # Errors
    /// A database error.
    pub fn take_queued(&mut self, epoch: i64, limit: usize) -> Result<Vec<Queued>, StoreError> {
        self.reconnect_if_closed()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "UPDATE evledger.queue SET taken_epoch = $1
             WHERE seq IN (SELECT seq FROM evledger.queue
                           WHERE state = 'queued' AND taken_epoch IS DISTINCT FROM $1
                           ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING seq, statement, documents",
            &[&epoch, &limit],
        )?;
        let mut taken = rows
            .iter()
            .map(|r| {
                Ok(Queued {
                    seq: r.try_get(0)?,
                    statement: r.try_get(1)?,
                    documents: r.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        taken.sort_by_key(|q| q.seq);
        Ok(taken)
    }

    /// Settles taken registrations with their outcomes, in one transaction, and wakes the
    /// instances waiting on them (`NOTIFY evledger_settled`).
    ///
    /// # Errors
    /// A database error (nothing is settled then; the rows are taken again after a takeover).
    pub fn settle(&mut self, outcomes: &[(i64, Settled)]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.reconnect_if_closed()?;
        let mut c = self.conn();
        let committed = prepared(
            &mut c,
            "UPDATE evledger.queue SET state = 'committed', created = $2 WHERE seq = $1 AND state = 'queued'",
        )?;
        let refused = prepared(
            &mut c,
            "UPDATE evledger.queue SET state = 'refused', status = $2, detail = $3 WHERE seq = $1 AND state = 'queued'",
        )?;
        let mut tx = c.client.transaction()?;
        for (seq, outcome) in outcomes {
            match outcome {
                Settled::Committed { created } => tx.execute(&committed, &[seq, created])?,
                Settled::Refused { status, detail } => {
                    tx.execute(&refused, &[seq, &i32::from(*status), detail])?
                }
            };
        }
        tx.batch_execute("NOTIFY evledger_settled")?;
        tx.commit()?;
        Ok(())
    }

    /// The outcomes of those of `seqs` that are settled.
    ///
    /// # Errors
    /// A database error; [`StoreError::Corrupt`] for a settled row whose status is not an HTTP
    /// status.
    pub fn settled(&mut self, seqs: &[i64]) -> Result<Vec<(i64, Settled)>, StoreError> {
        self.reconnect_if_closed()?;
        let rows = self.query(
            "SELECT seq, created, status, detail FROM evledger.queue
             WHERE seq = ANY($1) AND state <> 'queued'",
            &[&seqs],
        )?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0)?;
                let outcome = match r.try_get::<_, Option<bool>>(1)? {
                    Some(created) => Settled::Committed { created },
                    None => {
                        let status: i32 = r.try_get(2)?;
                        Settled::Refused {
                            status: u16::try_from(status).map_err(|_| {
                                StoreError::Corrupt(format!(
                                    "queued registration {seq} has status {status}"
                                ))
                            })?,
                            detail: r.try_get(3)?,
                        }
                    }
                };
                Ok((seq, outcome))
            })
            .collect()
    }

    /// Deletes queue rows: those of `seqs` (read by their instance), and settled rows older than
    /// `stale` whose instance never came back for them.
    ///
    /// # Errors
    /// A database error.
    pub fn forget_queued(&mut self, seqs: &[i64], stale: Duration) -> Result<u64, StoreError> {
        self.reconnect_if_closed()?;
        let ms = stale.as_millis() as f64;
        let params: [&(dyn ToSql + Sync); 2] = [&seqs, &ms];
        self.execute(
            "DELETE FROM evledger.queue WHERE seq = ANY($1)
                 OR (state <> 'queued' AND queued_at < now() - $2 * interval '1 millisecond')",
            &params,
        )
    }

    /// Registrations queued and not settled yet.
    ///
    /// # Errors
    /// A database error.
    pub fn queued_count(&self) -> Result<u64, StoreError> {
        let r = self.query_one(
            "SELECT count(*) FROM evledger.queue WHERE state = 'queued'",
            &[],
        )?;
        super::to_u64(r.try_get(0)?, "queue length")
    }
}
