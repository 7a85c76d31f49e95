//! Writes: [`StoreWrite`] on a transaction, and [`Store`] (transactions and snapshots).

use ed25519_dalek::VerifyingKey;

use super::{PostgresStore, PostgresTx, describe, size_of, to_i64};
use crate::merkle::Frontier;
use crate::store::{
    NewEntry, RuleSigner, SignerRule, Store, StoreError, StoreRead, StoreWrite, StoredCheckpoint,
    StoredWitness,
};

impl StoreWrite for PostgresTx<'_> {
    fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        // The lease row, locked FOR UPDATE when the transaction began, excludes every other
        // writer until COMMIT, so the size and the frontier read here stay exact; the
        // `entries_append` trigger refuses any index but the next and any epoch but the lease's.
        let mut frontier = match self.frontier.take() {
            Some(f) => f,
            None => Frontier::load(&*self, size_of(self.store)?)?,
        };
        let result = super::append::append(self, &mut frontier, entries);
        // After a refusal the frontier is unchanged: the transaction may go on (a duplicate
        // leaves it usable) and appends from the same right edge.
        self.frontier = Some(frontier);
        result
    }

    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError> {
        let s = self.store;
        let size = self.size()?;
        s.execute(
            "INSERT INTO evledger.log_keys (public_key, added_at_size) VALUES ($1, $2)",
            &[&key.to_bytes().as_slice(), &to_i64(size)?],
        )?;
        Ok(size)
    }

    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError> {
        let (key_type, value) = match &rule.signer {
            RuleSigner::Key(k) => ("ed25519", k.to_bytes().to_vec()),
            RuleSigner::X509Root(der) => ("x509-root", der.clone()),
        };
        let added = self.store.execute(
            "INSERT INTO evledger.signer_rules (kind, key_type, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&rule.kind, &key_type, &value],
        )?;
        Ok(added == 1)
    }

    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError> {
        // The conflict check and the insert happen under the transaction's writer lock.
        let s = self.store;
        let key = witness.key.to_bytes();
        let existing = s.query_opt(
            "SELECT name FROM evledger.witnesses WHERE name = $1 OR public_key = $2 ORDER BY seq LIMIT 1",
            &[&witness.name, &key.as_slice()],
        )?;
        if let Some(r) = existing {
            let name: String = r.try_get(0)?;
            let what = if name == witness.name { "name" } else { "key" };
            return Err(StoreError::WitnessConflict {
                existing: name,
                what,
            });
        }
        s.execute(
            "INSERT INTO evledger.witnesses (name, public_key, url) VALUES ($1, $2, $3)",
            &[&witness.name, &key.as_slice(), &witness.url],
        )?;
        Ok(())
    }

    fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), StoreError> {
        let current = self.witness_quorum()?;
        if quorum < current {
            return Err(StoreError::QuorumDecrease {
                current,
                requested: quorum,
            });
        }
        self.store.execute(
            "INSERT INTO evledger.witness_quorum (quorum) VALUES ($1)",
            &[&to_i64(quorum)?],
        )?;
        Ok(())
    }

    fn publish(&mut self, size: u64, quorum: u64) -> Result<(), StoreError> {
        let s = self.store;
        if s.query_opt(
            "SELECT 1 FROM evledger.checkpoints WHERE size = $1",
            &[&to_i64(size)?],
        )?
        .is_none()
        {
            return Err(StoreError::NoCheckpoint { size });
        }
        s.execute(
            "INSERT INTO evledger.published (size, quorum) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING",
            &[&to_i64(size)?, &to_i64(quorum)?],
        )?;
        Ok(())
    }

    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        // The comparison with the latest size and the insert happen under the writer lock.
        let s = self.store;
        let latest = s
            .query_one("SELECT MAX(size) FROM evledger.checkpoints", &[])?
            .try_get::<_, Option<i64>>(0)?;
        if let Some(latest) = latest {
            let latest = super::to_u64(latest, "checkpoint size")?;
            if cp.size < latest {
                return Err(StoreError::CheckpointRegression {
                    offered: cp.size,
                    latest,
                });
            }
            if cp.size == latest {
                // The same tree size has one root; the stored note stands.
                return Ok(());
            }
        }
        let size = self.size()?;
        if cp.size > size {
            return Err(StoreError::OutOfRange {
                what: "checkpoint size",
                value: cp.size,
                size,
            });
        }
        s.execute(
            "INSERT INTO evledger.checkpoints (size, root, note) VALUES ($1, $2, $3)",
            &[&to_i64(cp.size)?, &cp.root.as_slice(), &cp.note],
        )?;
        Ok(())
    }

    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError> {
        // The lookup, the inserts and the count that bounds them happen under the writer lock,
        // so concurrent collectors cannot together exceed `max_lines`.
        let s = self.store;
        let size_i = to_i64(size)?;
        if s.query_opt(
            "SELECT 1 FROM evledger.checkpoints WHERE size = $1",
            &[&size_i],
        )?
        .is_none()
        {
            return Err(StoreError::NoCheckpoint { size });
        }
        let mut added = 0;
        for line in lines {
            added += s.execute(
                "INSERT INTO evledger.cosignatures (size, line) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&size_i, line],
            )? as usize;
        }
        let count = s
            .query_one(
                "SELECT COUNT(*) FROM evledger.cosignatures WHERE size = $1",
                &[&size_i],
            )?
            .try_get::<_, i64>(0)?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > max_lines {
            // `Store::write` rolls the inserts back.
            return Err(StoreError::TooManyCosignatures {
                size,
                count,
                max: max_lines,
            });
        }
        Ok(added)
    }
}

impl PostgresTx<'_> {
    /// The sequencing epoch this transaction appends under.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }
}

impl Store for PostgresStore {
    type Tx<'a> = PostgresTx<'a>;

    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut PostgresTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.reconnect_if_closed()?;
        let this: &PostgresStore = self;
        // Prepared statements are planned once, without their parameters' values, for the
        // transaction (sent with BEGIN: no round trip of its own). Letting the server plan them
        // for their values each time, as it otherwise mostly does for the append (whose arrays'
        // lengths change the estimates), costs more than running them: 0.2-0.3 ms of planning
        // for the one statement of an append of one entry (`BENCHMARKS.md`). Every statement of
        // a write is a lookup or a range by primary key or a unique key, which a plan without
        // values reads the same way; `for_each_entry_of_kinds`, the exception, is planned with
        // its values (`query_planned`).
        if let Err(e) = this.batch_execute(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL plan_cache_mode = force_generic_plan",
        ) {
            // Whatever part of the script ran, no transaction stays open.
            let _ = this.batch_execute("ROLLBACK");
            return Err(E::from(e));
        }
        this.in_tx.set(true);
        this.generic_plans.set(true);
        let mut tx = PostgresTx {
            store: this,
            epoch: 0,
            frontier: None,
            done: false,
        };
        // The writer lock: the lease row, locked until COMMIT or ROLLBACK. It excludes every
        // other writer of the ledger from here to the transaction's end (a transaction-scoped
        // lock, so it holds behind a transaction-pooling proxy too), and it reads the epoch
        // every append in this transaction carries.
        let row = this.query_one("SELECT epoch FROM evledger.lease FOR UPDATE", &[])?;
        tx.epoch = row.try_get(0).map_err(StoreError::from)?;
        if let Some(fence) = this.fence
            && fence != tx.epoch
        {
            // Dropping `tx` rolls back.
            return Err(E::from(StoreError::Backend(format!(
                "fenced: this sequencer holds epoch {fence}, the lease is at epoch {}: another instance has taken over sequencing",
                tx.epoch
            ))));
        }
        // An error drops the transaction, which rolls everything back.
        let value = f(&mut tx)?;
        tx.done = true;
        this.in_tx.set(false);
        this.generic_plans.set(false);
        // Commit point: once COMMIT returns, the writes are durable on this server (and on a
        // synchronous standby, if one is configured; specs/store.md, "Replication"). Before it,
        // a crash or an error rolls them all back and the ledger is unchanged. A COMMIT whose
        // answer is lost (the connection dropped) may or may not have happened: the caller
        // reports an error, and a registration retried finds its statement as a duplicate.
        if let Err(e) = this.conn().client.batch_execute("COMMIT") {
            return Err(E::from(StoreError::Backend(format!(
                "{}: commit failed: {}",
                this.shown,
                describe(&e)
            ))));
        }
        Ok(value)
    }

    /// One REPEATABLE READ transaction, so that `f`'s reads see one snapshot. Inside a
    /// transaction already open, `f` simply runs in it.
    fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.in_tx.get() {
            return f(self);
        }
        self.reconnect_if_closed()?;
        self.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        self.in_tx.set(true);
        let result = f(self);
        self.in_tx.set(false);
        // A read transaction has nothing to keep: ending it cannot lose data.
        let ended = self.batch_execute("COMMIT");
        match (result, ended) {
            (Ok(_), Err(e)) => Err(E::from(e)),
            (result, _) => result,
        }
    }
}
