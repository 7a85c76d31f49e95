//! [`StoreRead`] over the store's connection, for the store and for a transaction open on it.

use ed25519_dalek::VerifyingKey;

use super::{
    Reader, cosignature_lines, make_checkpoint, make_entry, public_key, size_of, to_hash, to_i64,
    to_u64,
};
use crate::keys::KeyId;
use crate::merkle::Hash;
use crate::store::{
    LedgerInfo, RuleSigner, SignerRule, StoreError, StoreRead, StoredCheckpoint, StoredEntry,
    StoredWitness,
};

/// Queries of the entries' columns under a condition, as `'static` strings so that
/// each is prepared once per connection.
macro_rules! entries_where {
    ($cond:literal) => {
        concat!(
            "SELECT idx, entry_hash, kind, issuer, subject, issued_at, statement FROM evledger.entries ",
            $cond
        )
    };
}

macro_rules! store_read {
    ($t:ty) => {
impl StoreRead for $t {
    fn info(&self) -> Result<LedgerInfo, StoreError> {
        Ok(self.pg().info.clone())
    }

    fn size(&self) -> Result<u64, StoreError> {
        match self.known_size() {
            Some(size) => Ok(size),
            None => size_of(self.pg()),
        }
    }

    fn entry(&self, index: u64) -> Result<StoredEntry, StoreError> {
        let row = self
            .pg()
            .query_opt(entries_where!("WHERE idx = $1"), &[&to_i64(index)?])?;
        match row {
            Some(r) => make_entry(&r),
            None => Err(StoreError::OutOfRange {
                what: "index",
                value: index,
                size: self.size()?,
            }),
        }
    }

    fn find(&self, entry_hash: &Hash) -> Result<Option<StoredEntry>, StoreError> {
        self.pg()
            .query_opt(
                entries_where!("WHERE entry_hash = $1"),
                &[&entry_hash.as_slice()],
            )?
            .map(|r| make_entry(&r))
            .transpose()
    }

    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // In pages of the primary key, so that a million entries never sit in memory at once.
        const PAGE: i64 = 1024;
        let mut from = 0i64;
        loop {
            let rows = self.pg().query(
                entries_where!("WHERE idx >= $1 ORDER BY idx LIMIT $2"),
                &[&from, &PAGE],
            )?;
            let n = rows.len();
            for r in rows {
                f(make_entry(&r)?)?;
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
            from += PAGE;
        }
    }

    fn for_each_entry_of_kinds(
        &self,
        kinds: &[&str],
        from: u64,
        below: u64,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let kinds: Vec<&str> = kinds.to_vec();
        // Planned for its parameters each time, not prepared once: a plan made without them
        // (the one a prepared statement settles on) walks the primary key over the whole range
        // and filters on the kind, reading every entry of the log; planned with them, it reads
        // the `entries_kind` index, that is only the entries of these kinds.
        let rows = self.pg().query_planned(
            entries_where!("WHERE kind = ANY($1) AND idx >= $2 AND idx < $3 ORDER BY idx"),
            &[
                &kinds,
                &i64::try_from(from).unwrap_or(i64::MAX),
                &i64::try_from(below).unwrap_or(i64::MAX),
            ],
        )?;
        for r in rows {
            f(make_entry(&r)?)?;
        }
        Ok(())
    }

    fn citing(&self, target: &Hash) -> Result<Vec<u64>, StoreError> {
        self.pg()
            .query(
                "SELECT source_idx FROM evledger.refs WHERE target = $1 ORDER BY source_idx",
                &[&target.as_slice()],
            )?
            .iter()
            .map(|r| to_u64(r.try_get(0)?, "refs source index"))
            .collect()
    }

    fn added_log_keys(&self) -> Result<Vec<(VerifyingKey, u64)>, StoreError> {
        self.pg()
            .query(
                "SELECT public_key, added_at_size FROM evledger.log_keys ORDER BY added_at_size, public_key",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok((
                    public_key(r.try_get(0)?, "a stored log key")?,
                    to_u64(r.try_get(1)?, "a log key's size")?,
                ))
            })
            .collect()
    }

    fn has_ref(&self, target: &Hash, source: u64) -> Result<bool, StoreError> {
        Ok(self
            .pg()
            .query_opt(
                "SELECT 1 FROM evledger.refs WHERE target = $1 AND source_idx = $2",
                &[&target.as_slice(), &to_i64(source)?],
            )?
            .is_some())
    }

    fn ref_count(&self) -> Result<u64, StoreError> {
        let r = self
            .pg()
            .query_one("SELECT COUNT(*) FROM evledger.refs", &[])?;
        to_u64(r.try_get(0)?, "refs count")
    }

    fn node_range(&self, level: u32, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let end = from
            .checked_add(count)
            .ok_or_else(|| StoreError::Corrupt(format!("node range {from} + {count} overflows")))?;
        let level_i = i32::try_from(level)
            .map_err(|_| StoreError::Corrupt(format!("node level {level} is out of range")))?;
        let rows = self.pg().query(
            "SELECT idx, hash FROM evledger.nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
            &[&level_i, &to_i64(from)?, &to_i64(end)?],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let idx = to_u64(r.try_get(0)?, "node index")?;
            if idx != from + out.len() as u64 {
                break;
            }
            out.push(to_hash(r.try_get(1)?, "node hash")?);
        }
        if (out.len() as u64) < count {
            let missing = from + out.len() as u64;
            return Err(StoreError::Corrupt(format!(
                "node (level {level}, index {missing}) is missing"
            )));
        }
        Ok(out)
    }

    fn entry_hash_range(&self, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let size = self.size()?;
        let end = match from.checked_add(count) {
            Some(end) if end <= size => end,
            _ => {
                return Err(StoreError::OutOfRange {
                    what: "index",
                    value: from.saturating_add(count).saturating_sub(1),
                    size,
                });
            }
        };
        let out = self
            .pg()
            .query(
                "SELECT entry_hash FROM evledger.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&to_i64(from)?, &to_i64(end)?],
            )?
            .iter()
            .map(|r| to_hash(r.try_get(0)?, "entry hash"))
            .collect::<Result<Vec<Hash>, StoreError>>()?;
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "entries {from} to {} should be {count} rows, found {}",
                end - 1,
                out.len()
            )));
        }
        Ok(out)
    }

    fn entry_range(&self, from: u64, count: u64) -> Result<Vec<StoredEntry>, StoreError> {
        let end = from.saturating_add(count);
        let rows = self.pg().query(
            entries_where!("WHERE idx >= $1 AND idx < $2 ORDER BY idx"),
            &[&to_i64(from)?, &i64::try_from(end).unwrap_or(i64::MAX)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let e = make_entry(&r)?;
            if e.index != from + out.len() as u64 {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    fn node_count(&self) -> Result<u64, StoreError> {
        let r = self
            .pg()
            .query_one("SELECT COUNT(*) FROM evledger.nodes", &[])?;
        to_u64(r.try_get(0)?, "node count")
    }

    fn signer_key(&self, kid: &KeyId) -> Result<Option<VerifyingKey>, StoreError> {
        self.pg()
            .query_opt(
                "SELECT public_key FROM evledger.signers WHERE kid = $1",
                &[&kid.0.as_slice()],
            )?
            .map(|r| public_key(r.try_get(0)?, &format!("signer {kid}: stored public key")))
            .transpose()
    }

    fn signer_rules(&self) -> Result<Vec<SignerRule>, StoreError> {
        self.pg()
            .query(
                "SELECT kind, key_type, value FROM evledger.signer_rules ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| {
                let kind: String = r.try_get(0)?;
                let key_type: &str = r.try_get(1)?;
                let value: Vec<u8> = r.try_get(2)?;
                let signer = match key_type {
                    "ed25519" => RuleSigner::Key(public_key(&value, "a signer rule's key")?),
                    "x509-root" => RuleSigner::X509Root(value),
                    other => {
                        return Err(StoreError::Corrupt(format!(
                            "signer rule of unknown type {other:?}"
                        )));
                    }
                };
                Ok(SignerRule { kind, signer })
            })
            .collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let s = self.pg();
        s.query_opt(
            "SELECT size, root, note FROM evledger.checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )?
        .map(|r| make_checkpoint(s, &r))
        .transpose()
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let s = self.pg();
        s.query_opt(
            "SELECT size, root, note FROM evledger.checkpoints WHERE size = $1",
            &[&to_i64(size)?],
        )?
        .map(|r| make_checkpoint(s, &r))
        .transpose()
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let s = self.pg();
        s.query(
            "SELECT size, root, note FROM evledger.checkpoints ORDER BY size",
            &[],
        )?
        .iter()
        .map(|r| make_checkpoint(s, r))
        .collect()
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        cosignature_lines(self.pg(), size)
    }

    fn witnesses(&self) -> Result<Vec<StoredWitness>, StoreError> {
        self.pg()
            .query(
                "SELECT name, public_key, url FROM evledger.witnesses ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| {
                let name: String = r.try_get(0)?;
                let key = public_key(r.try_get(1)?, &format!("witness {name:?}: stored key"))?;
                Ok(StoredWitness {
                    name,
                    key,
                    url: r.try_get(2)?,
                })
            })
            .collect()
    }

    fn witness_quorum(&self) -> Result<u64, StoreError> {
        match self.pg().query_opt(
            "SELECT quorum FROM evledger.witness_quorum ORDER BY seq DESC LIMIT 1",
            &[],
        )? {
            Some(r) => to_u64(r.try_get(0)?, "witness quorum"),
            None => Ok(0),
        }
    }

    fn latest_published(&self, min_quorum: u64) -> Result<Option<u64>, StoreError> {
        let r = self.pg().query_one(
            "SELECT MAX(size) FROM evledger.published WHERE quorum >= $1",
            &[&to_i64(min_quorum)?],
        )?;
        r.try_get::<_, Option<i64>>(0)?
            .map(|s| to_u64(s, "published size"))
            .transpose()
    }

    fn document(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .pg()
            .query_opt(
                "SELECT bytes FROM evledger.documents WHERE sha256 = $1",
                &[&sha256.as_slice()],
            )?
            .map(|r| r.get(0)))
    }

    fn for_each_document(
        &self,
        f: &mut dyn FnMut(Hash, Vec<u8>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let rows = self.pg().query(
            "SELECT sha256, bytes FROM evledger.documents ORDER BY sha256",
            &[],
        )?;
        for r in rows {
            f(to_hash(r.try_get(0)?, "document key")?, r.try_get(1)?)?;
        }
        Ok(())
    }
}
    };
}

store_read!(super::PostgresStore);
store_read!(super::PostgresTx<'_>);
