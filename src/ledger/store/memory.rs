//! A ledger kept in memory: the same rules as the SQLite store, without a file.
//!
//! For tests, tools that build a ledger to export it, and as the reference the store
//! conformance suite holds every backend to. A write transaction changes the state in place and
//! records how to undo each change; dropping it uncommitted undoes them in reverse order, so a
//! failed write leaves the store exactly as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map, hash_map};

use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha256};

use super::{
    LedgerInfo, NewEntry, SignerRule, Store, StoreError, StoreRead, StoreWrite, StoredCheckpoint,
    StoredEntry, StoredWitness,
};
use crate::keys::KeyId;
use crate::merkle::{self, Frontier, Hash, NodeSource};

/// The in-memory ledger store.
pub struct MemoryStore {
    state: State,
}

/// A write transaction of a [`MemoryStore`]: undone when dropped uncommitted.
pub struct MemoryTx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
    committed: bool,
}

struct State {
    info: LedgerInfo,
    entries: Vec<StoredEntry>,
    by_hash: HashMap<Hash, u64>,
    nodes: HashMap<(u32, u64), Hash>,
    signers: HashMap<KeyId, VerifyingKey>,
    refs: BTreeSet<(Hash, u64)>,
    log_keys: Vec<(VerifyingKey, u64)>,
    rules: Vec<SignerRule>,
    /// Size to (root, the note as the log signed it).
    checkpoints: BTreeMap<u64, (Hash, String)>,
    cosignatures: BTreeMap<u64, Vec<String>>,
    documents: BTreeMap<Hash, Vec<u8>>,
    witnesses: Vec<StoredWitness>,
    /// Every quorum set, in order; the last is the quorum.
    quorums: Vec<u64>,
    /// Size to the quorum it was published under.
    published: BTreeMap<u64, u64>,
}

/// One change a transaction made, and so one step of undoing it.
enum Undo {
    Entry,
    Node((u32, u64)),
    Signer(KeyId),
    Ref((Hash, u64)),
    LogKey,
    Rule,
    Checkpoint(u64),
    Cosignature(u64),
    Document(Hash),
    Witness,
    Quorum,
    Published(u64),
}

impl MemoryStore {
    /// An empty ledger with this identity.
    pub fn new(info: LedgerInfo) -> MemoryStore {
        MemoryStore {
            state: State {
                info,
                entries: Vec::new(),
                by_hash: HashMap::new(),
                nodes: HashMap::new(),
                signers: HashMap::new(),
                refs: BTreeSet::new(),
                log_keys: Vec::new(),
                rules: Vec::new(),
                checkpoints: BTreeMap::new(),
                cosignatures: BTreeMap::new(),
                documents: BTreeMap::new(),
                witnesses: Vec::new(),
                quorums: Vec::new(),
                published: BTreeMap::new(),
            },
        }
    }
}

impl State {
    fn entry(&self, index: u64) -> Result<StoredEntry, StoreError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .cloned()
            .ok_or(StoreError::OutOfRange {
                what: "index",
                value: index,
                size: self.entries.len() as u64,
            })
    }

    fn checkpoint(&self, size: u64) -> Option<StoredCheckpoint> {
        let (root, note) = self.checkpoints.get(&size)?;
        let mut note = note.clone();
        for line in self.cosignatures.get(&size).into_iter().flatten() {
            note.push_str(line);
            note.push('\n');
        }
        Some(StoredCheckpoint {
            size,
            root: *root,
            note,
        })
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        self.nodes.get(&(level, index)).copied().ok_or_else(|| {
            StoreError::Corrupt(format!("node (level {level}, index {index}) is missing"))
        })
    }
}

/// The reads, shared by the store and its transactions.
macro_rules! reads {
    ($t:ty) => {
        impl NodeSource for $t {
            type Error = StoreError;

            fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
                self.state.node(level, index)
            }
        }

        impl StoreRead for $t {
            fn info(&self) -> Result<LedgerInfo, StoreError> {
                Ok(self.state.info.clone())
            }

            fn size(&self) -> Result<u64, StoreError> {
                Ok(self.state.entries.len() as u64)
            }

            fn entry(&self, index: u64) -> Result<StoredEntry, StoreError> {
                self.state.entry(index)
            }

            fn find(&self, entry_hash: &Hash) -> Result<Option<StoredEntry>, StoreError> {
                self.state
                    .by_hash
                    .get(entry_hash)
                    .map(|&i| self.state.entry(i))
                    .transpose()
            }

            fn for_each_entry(
                &self,
                f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                self.state.entries.iter().try_for_each(|e| f(e.clone()))
            }

            fn for_each_entry_of_kinds(
                &self,
                kinds: &[&str],
                from: u64,
                below: u64,
                f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                self.state
                    .entries
                    .iter()
                    .filter(|e| {
                        (from..below).contains(&e.index) && kinds.contains(&e.kind.as_str())
                    })
                    .try_for_each(|e| f(e.clone()))
            }

            fn citing(&self, target: &Hash) -> Result<Vec<u64>, StoreError> {
                Ok(self
                    .state
                    .refs
                    .range((*target, 0)..=(*target, u64::MAX))
                    .map(|(_, i)| *i)
                    .collect())
            }

            fn added_log_keys(&self) -> Result<Vec<(VerifyingKey, u64)>, StoreError> {
                Ok(self.state.log_keys.clone())
            }

            fn has_ref(&self, target: &Hash, source: u64) -> Result<bool, StoreError> {
                Ok(self.state.refs.contains(&(*target, source)))
            }

            fn ref_count(&self) -> Result<u64, StoreError> {
                Ok(self.state.refs.len() as u64)
            }

            fn node_range(
                &self,
                level: u32,
                from: u64,
                count: u64,
            ) -> Result<Vec<Hash>, StoreError> {
                let end = from.checked_add(count).ok_or_else(|| {
                    StoreError::Corrupt(format!("node range {from} + {count} overflows"))
                })?;
                (from..end).map(|i| self.state.node(level, i)).collect()
            }

            fn entry_hash_range(&self, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
                let size = self.state.entries.len() as u64;
                match from.checked_add(count) {
                    Some(end) if end <= size => Ok(self.state.entries[from as usize..end as usize]
                        .iter()
                        .map(|e| e.entry_hash)
                        .collect()),
                    _ => Err(StoreError::OutOfRange {
                        what: "index",
                        value: from.saturating_add(count).saturating_sub(1),
                        size,
                    }),
                }
            }

            fn node_count(&self) -> Result<u64, StoreError> {
                Ok(self.state.nodes.len() as u64)
            }

            fn signer_key(&self, kid: &KeyId) -> Result<Option<VerifyingKey>, StoreError> {
                Ok(self.state.signers.get(kid).copied())
            }

            fn signer_rules(&self) -> Result<Vec<SignerRule>, StoreError> {
                Ok(self.state.rules.clone())
            }

            fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
                Ok(self
                    .state
                    .checkpoints
                    .keys()
                    .next_back()
                    .and_then(|&s| self.state.checkpoint(s)))
            }

            fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
                Ok(self.state.checkpoint(size))
            }

            fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
                Ok(self
                    .state
                    .checkpoints
                    .keys()
                    .filter_map(|&s| self.state.checkpoint(s))
                    .collect())
            }

            fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
                Ok(self
                    .state
                    .cosignatures
                    .get(&size)
                    .cloned()
                    .unwrap_or_default())
            }

            fn witnesses(&self) -> Result<Vec<StoredWitness>, StoreError> {
                Ok(self.state.witnesses.clone())
            }

            fn witness_quorum(&self) -> Result<u64, StoreError> {
                Ok(self.state.quorums.last().copied().unwrap_or(0))
            }

            fn latest_published(&self, min_quorum: u64) -> Result<Option<u64>, StoreError> {
                Ok(self
                    .state
                    .published
                    .iter()
                    .rev()
                    .find(|(_, q)| **q >= min_quorum)
                    .map(|(s, _)| *s))
            }

            fn document(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.state.documents.get(sha256).cloned())
            }

            fn for_each_document(
                &self,
                f: &mut dyn FnMut(Hash, Vec<u8>) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                self.state
                    .documents
                    .iter()
                    .try_for_each(|(k, v)| f(*k, v.clone()))
            }
        }
    };
}

reads!(MemoryStore);
reads!(MemoryTx<'_>);

impl StoreWrite for MemoryTx<'_> {
    fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        let start = self.state.entries.len() as u64;
        let mut frontier = Frontier::load(&*self, start)?;
        let mut indexes = Vec::with_capacity(entries.len());
        for e in entries {
            let index = frontier.size();
            if let Some(&existing) = self.state.by_hash.get(&e.entry_hash) {
                return Err(StoreError::Duplicate {
                    entry_hash: e.entry_hash,
                    index: existing,
                });
            }
            self.state.entries.push(StoredEntry {
                index,
                entry_hash: e.entry_hash,
                kind: e.kind.clone(),
                issuer: e.issuer.clone(),
                subject: e.subject.clone(),
                issued_at: e.issued_at,
                statement: e.statement.clone(),
            });
            self.state.by_hash.insert(e.entry_hash, index);
            self.undo.push(Undo::Entry);
            for n in frontier.push(merkle::leaf_hash(&e.entry_hash)) {
                if self
                    .state
                    .nodes
                    .insert((n.level, n.index), n.hash)
                    .is_some()
                {
                    return Err(StoreError::Corrupt(format!(
                        "node (level {}, index {}) was already stored",
                        n.level, n.index
                    )));
                }
                self.undo.push(Undo::Node((n.level, n.index)));
            }
            let kid = KeyId::of(&e.signer);
            if let hash_map::Entry::Vacant(v) = self.state.signers.entry(kid) {
                v.insert(e.signer);
                self.undo.push(Undo::Signer(kid));
            }
            for target in &e.references {
                if self.state.refs.insert((*target, index)) {
                    self.undo.push(Undo::Ref((*target, index)));
                }
            }
            for d in &e.documents {
                let key: Hash = Sha256::digest(d).into();
                if let btree_map::Entry::Vacant(v) = self.state.documents.entry(key) {
                    v.insert(d.clone());
                    self.undo.push(Undo::Document(key));
                }
            }
            indexes.push(index);
        }
        Ok(indexes)
    }

    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError> {
        if self.state.log_keys.iter().any(|(k, _)| k == key) || *key == self.state.info.log_key {
            return Err(StoreError::Backend(format!(
                "log key {} is already registered",
                KeyId::of(key)
            )));
        }
        let size = self.state.entries.len() as u64;
        self.state.log_keys.push((*key, size));
        self.undo.push(Undo::LogKey);
        Ok(size)
    }

    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError> {
        if self.state.rules.contains(rule) {
            return Ok(false);
        }
        self.state.rules.push(rule.clone());
        self.undo.push(Undo::Rule);
        Ok(true)
    }

    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError> {
        for w in &self.state.witnesses {
            let what = if w.name == witness.name {
                "name"
            } else if w.key == witness.key {
                "key"
            } else {
                continue;
            };
            return Err(StoreError::WitnessConflict {
                existing: w.name.clone(),
                what,
            });
        }
        self.state.witnesses.push(witness.clone());
        self.undo.push(Undo::Witness);
        Ok(())
    }

    fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), StoreError> {
        let current = self.state.quorums.last().copied().unwrap_or(0);
        if quorum < current {
            return Err(StoreError::QuorumDecrease {
                current,
                requested: quorum,
            });
        }
        self.state.quorums.push(quorum);
        self.undo.push(Undo::Quorum);
        Ok(())
    }

    fn publish(&mut self, size: u64, quorum: u64) -> Result<(), StoreError> {
        if !self.state.checkpoints.contains_key(&size) {
            return Err(StoreError::NoCheckpoint { size });
        }
        if let std::collections::btree_map::Entry::Vacant(v) = self.state.published.entry(size) {
            v.insert(quorum);
            self.undo.push(Undo::Published(size));
        }
        Ok(())
    }

    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        if let Some(&latest) = self.state.checkpoints.keys().next_back() {
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
        let size = self.state.entries.len() as u64;
        if cp.size > size {
            return Err(StoreError::OutOfRange {
                what: "checkpoint size",
                value: cp.size,
                size,
            });
        }
        self.state
            .checkpoints
            .insert(cp.size, (cp.root, cp.note.clone()));
        self.undo.push(Undo::Checkpoint(cp.size));
        Ok(())
    }

    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError> {
        if !self.state.checkpoints.contains_key(&size) {
            return Err(StoreError::NoCheckpoint { size });
        }
        let stored = self.state.cosignatures.entry(size).or_default();
        let mut added = 0;
        for line in lines {
            if !stored.contains(line) {
                stored.push(line.clone());
                self.undo.push(Undo::Cosignature(size));
                added += 1;
            }
        }
        let count = stored.len();
        if count > max_lines {
            // `Store::write` undoes the lines pushed above.
            return Err(StoreError::TooManyCosignatures {
                size,
                count,
                max: max_lines,
            });
        }
        Ok(added)
    }
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let s = &mut *self.state;
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Entry => {
                    if let Some(e) = s.entries.pop() {
                        s.by_hash.remove(&e.entry_hash);
                    }
                }
                Undo::Node(k) => {
                    s.nodes.remove(&k);
                }
                Undo::Signer(kid) => {
                    s.signers.remove(&kid);
                }
                Undo::Ref(k) => {
                    s.refs.remove(&k);
                }
                Undo::LogKey => {
                    s.log_keys.pop();
                }
                Undo::Rule => {
                    s.rules.pop();
                }
                Undo::Checkpoint(size) => {
                    s.checkpoints.remove(&size);
                }
                Undo::Cosignature(size) => {
                    if let Some(lines) = s.cosignatures.get_mut(&size) {
                        lines.pop();
                        if lines.is_empty() {
                            s.cosignatures.remove(&size);
                        }
                    }
                }
                Undo::Document(k) => {
                    s.documents.remove(&k);
                }
                Undo::Witness => {
                    s.witnesses.pop();
                }
                Undo::Quorum => {
                    s.quorums.pop();
                }
                Undo::Published(size) => {
                    s.published.remove(&size);
                }
            }
        }
    }
}

impl Store for MemoryStore {
    type Tx<'a> = MemoryTx<'a>;

    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut MemoryTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        // `&mut self` is the write lock: no other writer or reader exists during `f`.
        let mut tx = MemoryTx {
            state: &mut self.state,
            undo: Vec::new(),
            committed: false,
        };
        let value = f(&mut tx)?;
        // Commit point: from here the changes stay (there is nothing more durable to reach).
        tx.committed = true;
        Ok(value)
    }

    fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        // `&self` excludes writers for as long as `f` runs.
        f(self)
    }
}
