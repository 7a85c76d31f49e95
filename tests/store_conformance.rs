//! The store conformance suite: every `Store` implementation must pass each case below, which
//! state the contract of `specs/store.md` (dense indexes, the tree's nodes, all-or-nothing
//! writes, reads inside a transaction, duplicates, checkpoints that never go back, cosignatures,
//! documents, log keys, the registration policy, witnesses, the witness quorum and publication). Add a backend to `backends!` to hold it to the
//! same contract; the PostgreSQL store runs it with `--features postgres` on a throwaway cluster.

mod common;
#[cfg(feature = "postgres")]
mod pg_cluster;

use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{self, Ledger, LedgerError, Signer};
use evledger::merkle::{self, EMPTY_ROOT, Hash};
use evledger::store::{
    LedgerInfo, MemoryStore, NewEntry, RuleSigner, SignerRule, SqliteStore, Store, StoreError,
    StoreRead, StoreWrite, StoredCheckpoint, StoredWitness,
};
use sha2::{Digest as _, Sha256};

const FW_TOML: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");
const ORIGIN: &str = "example.com/conformance";

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

fn info() -> LedgerInfo {
    LedgerInfo {
        origin: ORIGIN.into(),
        log_key: log_key().verifying_key(),
    }
}

/// A signed statement with `iat`, citing `refs` in the refs index and carrying `docs`.
fn entry(iat: u64, refs: &[Hash], docs: &[&[u8]]) -> NewEntry {
    let key = SigningKey::from_bytes(&[9; 32]);
    let evidence = Evidence::from_input("firmware-build", FW_TOML, InputFormat::Toml).unwrap();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    let mut e = ledger::new_entry(&evidence, &signer, iat).unwrap();
    e.references = refs.to_vec();
    e.documents = docs.iter().map(|d| d.to_vec()).collect();
    e
}

fn checkpoint(size: u64, root: Hash) -> StoredCheckpoint {
    StoredCheckpoint {
        size,
        root,
        note: format!("{ORIGIN}\n{size}\nroot\n\n— {ORIGIN} sig\n"),
    }
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Why a write closure gave up (to show the store rolls back on the caller's errors too).
#[derive(Debug)]
struct Abandoned;

impl From<StoreError> for Abandoned {
    fn from(_: StoreError) -> Abandoned {
        Abandoned
    }
}

fn empty_store_reads_as_empty<S: Store>(s: S) {
    assert_eq!(s.info().unwrap(), info());
    assert_eq!(s.size().unwrap(), 0);
    assert!(matches!(
        s.entry(0),
        Err(StoreError::OutOfRange {
            value: 0,
            size: 0,
            ..
        })
    ));
    assert_eq!(s.find(&[7; 32]).unwrap(), None);
    assert_eq!(s.latest_checkpoint().unwrap(), None);
    assert!(s.checkpoints().unwrap().is_empty());
    assert!(s.signer_rules().unwrap().is_empty());
    assert!(s.added_log_keys().unwrap().is_empty());
    assert_eq!(s.node_count().unwrap(), 0);
    assert_eq!(merkle::root(&s, 0).unwrap(), EMPTY_ROOT);
}

fn appends_take_dense_indexes_and_store_the_tree<S: Store>(mut s: S) {
    let mut hashes = Vec::new();
    for batch in [1u64, 2, 5, 1, 8] {
        let start = s.size().unwrap();
        let entries: Vec<NewEntry> = (start..start + batch).map(|i| entry(i, &[], &[])).collect();
        let idx = s.append_batch(&entries).unwrap();
        assert_eq!(idx, (start..start + batch).collect::<Vec<_>>());
        for (e, i) in entries.iter().zip(&idx) {
            let stored = s.entry(*i).unwrap();
            assert_eq!(stored.statement, e.statement);
            assert_eq!(stored.entry_hash, e.entry_hash);
            assert_eq!(
                (stored.kind.as_str(), stored.issued_at),
                ("firmware-build", *i)
            );
            assert_eq!(s.find(&e.entry_hash).unwrap(), Some(stored));
            hashes.push(e.entry_hash);
        }
        // Every prefix root is the RFC 9162 root of the entry hashes so far.
        for n in 0..=hashes.len() {
            assert_eq!(
                merkle::root(&s, n as u64).unwrap(),
                common::mth(&hashes[..n])
            );
        }
    }
    // One node per complete subtree: 2n - popcount(n).
    let n = hashes.len() as u64;
    assert_eq!(s.node_count().unwrap(), 2 * n - u64::from(n.count_ones()));
    let mut seen = Vec::new();
    s.for_each_entry(&mut |e| {
        seen.push(e.index);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    // The signer is indexed by its key id.
    let signer = SigningKey::from_bytes(&[9; 32]).verifying_key();
    assert_eq!(
        s.signer_key(&evledger::keys::KeyId::of(&signer)).unwrap(),
        Some(signer)
    );
}

fn appends_within_one_write_extend_the_tree<S: Store>(mut s: S) {
    let first: Vec<NewEntry> = (0..3).map(|i| entry(i, &[], &[])).collect();
    s.append_batch(&first).unwrap();
    let mut hashes: Vec<Hash> = first.iter().map(|e| e.entry_hash).collect();
    // Appends one after another in one transaction (as registration makes them), each seeing
    // the tree the ones before it left.
    let more: Vec<NewEntry> = (3..11).map(|i| entry(i, &[], &[])).collect();
    let done: Result<Vec<u64>, StoreError> = s.write(|tx| {
        let mut indexes = Vec::new();
        for chunk in [&more[..1], &more[1..3], &more[3..4], &more[4..]] {
            indexes.extend(tx.append(chunk)?);
            let size = tx.size()?;
            let expected: Vec<Hash> = hashes
                .iter()
                .copied()
                .chain(more.iter().map(|e| e.entry_hash))
                .take(size as usize)
                .collect();
            assert_eq!(merkle::root(&*tx, size)?, common::mth(&expected));
        }
        Ok(indexes)
    });
    assert_eq!(done.unwrap(), (3..11).collect::<Vec<_>>());
    hashes.extend(more.iter().map(|e| e.entry_hash));
    for n in 0..=hashes.len() {
        assert_eq!(
            merkle::root(&s, n as u64).unwrap(),
            common::mth(&hashes[..n])
        );
    }
    let n = hashes.len() as u64;
    assert_eq!(s.node_count().unwrap(), 2 * n - u64::from(n.count_ones()));
    // The next write starts from the committed tree.
    let last = entry(11, &[], &[]);
    assert_eq!(
        s.append_batch(std::slice::from_ref(&last)).unwrap(),
        vec![11]
    );
    hashes.push(last.entry_hash);
    assert_eq!(merkle::root(&s, 12).unwrap(), common::mth(&hashes));
}

fn a_duplicate_is_refused_and_its_batch_writes_nothing<S: Store>(mut s: S) {
    let first = entry(1, &[], &[]);
    s.append_batch(std::slice::from_ref(&first)).unwrap();
    let nodes = s.node_count().unwrap();
    let fresh = entry(2, &[[5; 32]], &[b"doc"]);
    let err = s.append_batch(&[fresh.clone(), first.clone()]).unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate { index: 0, entry_hash } if entry_hash == first.entry_hash),
        "{err:?}"
    );
    assert_eq!(s.size().unwrap(), 1);
    assert_eq!(s.find(&fresh.entry_hash).unwrap(), None);
    assert_eq!(s.node_count().unwrap(), nodes);
    assert_eq!(s.ref_count().unwrap(), 0);
    assert_eq!(s.document(&Sha256::digest(b"doc").into()).unwrap(), None);
    // The same batch without the duplicate goes in at the next index.
    assert_eq!(s.append_batch(&[fresh]).unwrap(), vec![1]);
}

fn a_hash_repeated_in_one_batch_is_refused_at_its_first_index<S: Store>(mut s: S) {
    s.append_batch(&[entry(0, &[], &[])]).unwrap();
    let (a, b) = (entry(1, &[[6; 32]], &[]), entry(2, &[], &[b"doc"]));
    let err = s
        .append_batch(&[a.clone(), b.clone(), a.clone()])
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate { index: 1, entry_hash } if entry_hash == a.entry_hash),
        "{err:?}"
    );
    assert_eq!(s.size().unwrap(), 1);
    assert_eq!(s.ref_count().unwrap(), 0);
    assert_eq!(s.document(&Sha256::digest(b"doc").into()).unwrap(), None);
    // An entry already stored that comes earlier in the batch is the one reported.
    let stored = entry(0, &[], &[]);
    let err = s.append_batch(&[b.clone(), stored, b.clone()]).unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate { index: 0, .. }),
        "{err:?}"
    );
    assert_eq!(s.append_batch(&[a, b]).unwrap(), vec![1, 2]);
}

fn a_write_sees_its_own_changes_and_an_error_undoes_them_all<S: Store>(mut s: S) {
    s.append_batch(&[entry(0, &[], &[])]).unwrap();
    s.add_checkpoint(&checkpoint(1, merkle::root(&s, 1).unwrap()))
        .unwrap();
    let before_nodes = s.node_count().unwrap();
    let a = entry(1, &[[1; 32]], &[b"a"]);
    let b = entry(2, &[], &[]);
    let result: Result<(), Abandoned> = s.write(|tx| {
        tx.append(std::slice::from_ref(&a))?;
        // Reads inside the transaction see the entry just appended.
        assert_eq!(tx.size()?, 2);
        assert_eq!(tx.find(&a.entry_hash)?.map(|e| e.index), Some(1));
        assert_eq!(tx.citing(&[1; 32])?, vec![1]);
        tx.append(std::slice::from_ref(&b))?;
        tx.add_checkpoint(&checkpoint(3, merkle::root(&*tx, 3)?))?;
        tx.add_cosignatures(3, &lines(&["— w1 AAAA"]), 10)?;
        tx.add_log_key(&SigningKey::from_bytes(&[4; 32]).verifying_key())?;
        tx.add_signer_rule(&SignerRule {
            kind: "claim".into(),
            signer: RuleSigner::X509Root(b"root".to_vec()),
        })?;
        Err(Abandoned)
    });
    assert!(result.is_err());
    assert_eq!(s.size().unwrap(), 1);
    assert_eq!(s.find(&a.entry_hash).unwrap(), None);
    assert_eq!(s.find(&b.entry_hash).unwrap(), None);
    assert_eq!(s.node_count().unwrap(), before_nodes);
    assert_eq!(s.ref_count().unwrap(), 0);
    assert_eq!(s.document(&Sha256::digest(b"a").into()).unwrap(), None);
    assert_eq!(s.latest_checkpoint().unwrap().map(|c| c.size), Some(1));
    assert!(s.added_log_keys().unwrap().is_empty());
    assert!(s.signer_rules().unwrap().is_empty());
    // The same writes, committed, all stay.
    let done: Result<u64, StoreError> = s.write(|tx| {
        tx.append(&[a.clone(), b.clone()])?;
        tx.add_checkpoint(&checkpoint(3, merkle::root(&*tx, 3)?))?;
        tx.size()
    });
    assert_eq!(done.unwrap(), 3);
    assert_eq!(s.latest_checkpoint().unwrap().map(|c| c.size), Some(3));
    assert_eq!(
        s.document(&Sha256::digest(b"a").into()).unwrap(),
        Some(b"a".to_vec())
    );
}

fn refs_index_who_cites_what<S: Store>(mut s: S) {
    let t1 = [1; 32];
    let t2 = [2; 32];
    s.append_batch(&[
        entry(0, &[t1], &[]),
        entry(1, &[t2], &[]),
        entry(2, &[t1, t2], &[]),
    ])
    .unwrap();
    assert_eq!(s.citing(&t1).unwrap(), vec![0, 2]);
    assert_eq!(s.citing(&t2).unwrap(), vec![1, 2]);
    assert!(s.citing(&[3; 32]).unwrap().is_empty());
    assert!(s.has_ref(&t1, 2).unwrap());
    assert!(!s.has_ref(&t1, 1).unwrap());
    assert_eq!(s.ref_count().unwrap(), 4);
}

fn checkpoints_never_go_back_nor_beyond_the_log<S: Store>(mut s: S) {
    s.append_batch(&(0..4).map(|i| entry(i, &[], &[])).collect::<Vec<_>>())
        .unwrap();
    let root = |s: &S, n| merkle::root(s, n).unwrap();
    s.add_checkpoint(&checkpoint(2, root(&s, 2))).unwrap();
    s.add_checkpoint(&checkpoint(4, root(&s, 4))).unwrap();
    assert!(matches!(
        s.add_checkpoint(&checkpoint(3, root(&s, 3))),
        Err(StoreError::CheckpointRegression {
            offered: 3,
            latest: 4
        })
    ));
    assert!(matches!(
        s.add_checkpoint(&checkpoint(5, [0; 32])),
        Err(StoreError::OutOfRange { value: 5, .. })
    ));
    // The latest size again keeps the note first stored.
    let mut other = checkpoint(4, root(&s, 4));
    other.note.push_str("— someone else\n");
    s.add_checkpoint(&other).unwrap();
    assert_eq!(
        s.latest_checkpoint().unwrap(),
        Some(checkpoint(4, root(&s, 4)))
    );
    assert_eq!(
        s.checkpoints()
            .unwrap()
            .iter()
            .map(|c| c.size)
            .collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert_eq!(
        s.checkpoint_at(2).unwrap(),
        Some(checkpoint(2, root(&s, 2)))
    );
    assert_eq!(s.checkpoint_at(3).unwrap(), None);
}

fn the_quorum_never_decreases_and_publication_is_kept<S: Store>(mut s: S) {
    assert_eq!(s.witness_quorum().unwrap(), 0);
    assert_eq!(s.latest_published(0).unwrap(), None);
    s.write(|tx| tx.set_witness_quorum(1)).unwrap();
    s.write(|tx| tx.set_witness_quorum(2)).unwrap();
    s.write(|tx| tx.set_witness_quorum(2)).unwrap();
    assert!(matches!(
        s.write(|tx| tx.set_witness_quorum(1)),
        Err(StoreError::QuorumDecrease {
            current: 2,
            requested: 1
        })
    ));
    assert_eq!(s.witness_quorum().unwrap(), 2);
    // A failed write sets nothing.
    let r: Result<(), Abandoned> = s.write(|tx| {
        tx.set_witness_quorum(3)?;
        assert_eq!(tx.witness_quorum()?, 3);
        Err(Abandoned)
    });
    assert!(r.is_err());
    assert_eq!(s.witness_quorum().unwrap(), 2);

    s.append_batch(&(0..3).map(|i| entry(i, &[], &[])).collect::<Vec<_>>())
        .unwrap();
    let root = |s: &S, n| merkle::root(s, n).unwrap();
    s.add_checkpoint(&checkpoint(1, root(&s, 1))).unwrap();
    s.add_checkpoint(&checkpoint(3, root(&s, 3))).unwrap();
    assert!(matches!(
        s.write(|tx| tx.publish(2, 2)),
        Err(StoreError::NoCheckpoint { size: 2 })
    ));
    s.write(|tx| tx.publish(1, 1)).unwrap();
    s.write(|tx| tx.publish(3, 2)).unwrap();
    // Again: the first record stands.
    s.write(|tx| tx.publish(3, 5)).unwrap();
    assert_eq!(s.latest_published(0).unwrap(), Some(3));
    assert_eq!(s.latest_published(2).unwrap(), Some(3));
    assert_eq!(s.latest_published(3).unwrap(), None);
    assert_eq!(s.latest_published(1).unwrap(), Some(3));
}

fn cosignatures_are_kept_once_in_order_and_bounded<S: Store>(mut s: S) {
    assert!(matches!(
        s.add_cosignatures(0, &lines(&["— w1 AAAA"]), 10),
        Err(StoreError::NoCheckpoint { size: 0 })
    ));
    s.add_checkpoint(&checkpoint(0, EMPTY_ROOT)).unwrap();
    assert_eq!(
        s.add_cosignatures(0, &lines(&["— w2 BBBB", "— w1 AAAA"]), 10)
            .unwrap(),
        2
    );
    assert_eq!(
        s.add_cosignatures(0, &lines(&["— w1 AAAA", "— w3 CCCC"]), 10)
            .unwrap(),
        1
    );
    assert_eq!(
        s.cosignatures(0).unwrap(),
        lines(&["— w2 BBBB", "— w1 AAAA", "— w3 CCCC"])
    );
    // The stored checkpoint's note carries them after the log's signature, in that order.
    let note = s.checkpoint_at(0).unwrap().unwrap().note;
    assert!(
        note.ends_with("sig\n— w2 BBBB\n— w1 AAAA\n— w3 CCCC\n"),
        "{note}"
    );
    // Going over the bound stores none of the offered lines.
    assert!(matches!(
        s.add_cosignatures(0, &lines(&["— w4 DDDD", "— w5 EEEE"]), 4),
        Err(StoreError::TooManyCosignatures {
            count: 5,
            max: 4,
            ..
        })
    ));
    assert_eq!(s.cosignatures(0).unwrap().len(), 3);
}

fn documents_are_kept_under_their_digest<S: Store>(mut s: S) {
    s.append_batch(&[
        entry(0, &[], &[b"zeta", b"alpha"]),
        entry(1, &[], &[b"alpha"]),
    ])
    .unwrap();
    let key = |d: &[u8]| -> Hash { Sha256::digest(d).into() };
    assert_eq!(s.document(&key(b"zeta")).unwrap(), Some(b"zeta".to_vec()));
    assert_eq!(s.document(&key(b"beta")).unwrap(), None);
    let mut all = Vec::new();
    s.for_each_document(&mut |k, v| {
        assert_eq!(k, key(&v));
        all.push(k);
        Ok(())
    })
    .unwrap();
    let mut expected = vec![key(b"zeta"), key(b"alpha")];
    expected.sort();
    assert_eq!(all, expected);
}

fn log_keys_are_added_once_with_their_size<S: Store>(mut s: S) {
    let k1 = SigningKey::from_bytes(&[4; 32]).verifying_key();
    let k2 = SigningKey::from_bytes(&[5; 32]).verifying_key();
    assert_eq!(s.add_log_key(&k1).unwrap(), 0);
    s.append_batch(&[entry(0, &[], &[]), entry(1, &[], &[])])
        .unwrap();
    assert_eq!(s.add_log_key(&k2).unwrap(), 2);
    assert!(s.add_log_key(&k1).is_err());
    assert_eq!(s.added_log_keys().unwrap(), vec![(k1, 0), (k2, 2)]);
}

fn signer_rules_are_kept_once_in_order<S: Store>(mut s: S) {
    let key = SignerRule {
        kind: "lab-result".into(),
        signer: RuleSigner::Key(SigningKey::from_bytes(&[6; 32]).verifying_key()),
    };
    let root = SignerRule {
        kind: "countersignature".into(),
        signer: RuleSigner::X509Root(vec![0x30, 0x03, 1, 2, 3]),
    };
    assert!(s.add_signer_rule(&key).unwrap());
    assert!(s.add_signer_rule(&root).unwrap());
    assert!(!s.add_signer_rule(&key).unwrap());
    assert_eq!(s.signer_rules().unwrap(), vec![key, root]);
}

fn witnesses_are_kept_in_order_once_by_name_and_by_key<S: Store>(mut s: S) {
    let w = |name: &str, seed: u8, url: Option<&str>| StoredWitness {
        name: name.into(),
        key: SigningKey::from_bytes(&[seed; 32]).verifying_key(),
        url: url.map(str::to_owned),
    };
    assert_eq!(s.witnesses().unwrap(), vec![]);
    s.add_witness(&w("witness.example/w2", 2, Some("https://w2.example")))
        .unwrap();
    s.add_witness(&w("witness.example/w1", 1, None)).unwrap();
    // One name, one key: a second witness with either is refused, and nothing is added.
    assert!(matches!(
        s.add_witness(&w("witness.example/w1", 3, None)),
        Err(StoreError::WitnessConflict { ref existing, what: "name" }) if existing == "witness.example/w1"
    ));
    assert!(matches!(
        s.add_witness(&w("witness.example/alias", 2, None)),
        Err(StoreError::WitnessConflict { ref existing, what: "key" }) if existing == "witness.example/w2"
    ));
    // Inside a write that is abandoned, nothing stays.
    let abandoned: Result<(), Abandoned> = s.write(|tx| {
        tx.add_witness(&w("witness.example/w3", 3, None))?;
        assert_eq!(tx.witnesses()?.len(), 3);
        Err(Abandoned)
    });
    assert!(abandoned.is_err());
    assert_eq!(
        s.witnesses().unwrap(),
        vec![
            w("witness.example/w2", 2, Some("https://w2.example")),
            w("witness.example/w1", 1, None)
        ]
    );
}

/// The ledger's own operations over the store: record, checkpoint, prove, audit.
fn ranges_of_nodes_and_entry_hashes_are_read_in_order<S: Store>(mut s: S) {
    let entries: Vec<NewEntry> = (0..21).map(|i| entry(i, &[], &[])).collect();
    s.append_batch(&entries).unwrap();
    let hashes: Vec<Hash> = entries.iter().map(|e| e.entry_hash).collect();
    // Level 0 holds the leaf hashes; every range equals the nodes read one by one.
    let leaves: Vec<Hash> = hashes.iter().map(|h| merkle::leaf_hash(h)).collect();
    assert_eq!(s.node_range(0, 0, 21).unwrap(), leaves);
    assert_eq!(s.node_range(0, 5, 3).unwrap(), &leaves[5..8]);
    for (level, from, count) in [(1, 0, 10), (2, 1, 4), (4, 0, 1), (3, 2, 0)] {
        let one_by_one: Vec<Hash> = (from..from + count)
            .map(|i| s.node(level, i).unwrap())
            .collect();
        assert_eq!(s.node_range(level, from, count).unwrap(), one_by_one);
    }
    // A range reaching a node not stored (incomplete subtree, or past the log) names it.
    for (level, from, count, missing) in [(1, 8, 3, 10), (0, 20, 2, 21), (5, 0, 1, 0)] {
        match s.node_range(level, from, count) {
            Err(StoreError::Corrupt(m)) => assert_eq!(
                m,
                format!("node (level {level}, index {missing}) is missing")
            ),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s.entry_hash_range(0, 21).unwrap(), hashes);
    assert_eq!(s.entry_hash_range(16, 5).unwrap(), &hashes[16..]);
    assert_eq!(s.entry_hash_range(21, 0).unwrap(), Vec::<Hash>::new());
    assert!(matches!(
        s.entry_hash_range(16, 6),
        Err(StoreError::OutOfRange {
            value: 21,
            size: 21,
            ..
        })
    ));
    assert!(matches!(
        s.entry_hash_range(u64::MAX, 2),
        Err(StoreError::OutOfRange { size: 21, .. })
    ));
    // Entries by range: each as read by index, stopping before the first past the log.
    let one_by_one: Vec<_> = (0..21).map(|i| s.entry(i).unwrap()).collect();
    assert_eq!(s.entry_range(0, 21).unwrap(), one_by_one);
    assert_eq!(s.entry_range(5, 3).unwrap(), &one_by_one[5..8]);
    assert_eq!(s.entry_range(16, 10).unwrap(), &one_by_one[16..]);
    assert!(s.entry_range(21, 3).unwrap().is_empty());
    assert!(s.entry_range(3, 0).unwrap().is_empty());
    // A group of nodes, in the order asked, as read one by one; a missing one is named.
    let ids = [(2, 3), (0, 20), (4, 0), (0, 0), (2, 3)]
        .map(|(level, index)| merkle::NodeId { level, index });
    let expected: Vec<Hash> = ids
        .iter()
        .map(|id| s.node(id.level, id.index).unwrap())
        .collect();
    assert_eq!(s.nodes(&ids).unwrap(), expected);
    assert!(s.nodes(&[]).unwrap().is_empty());
    let missing = [
        ids[0],
        merkle::NodeId {
            level: 1,
            index: 10,
        },
        ids[1],
    ];
    match s.nodes(&missing) {
        Err(StoreError::Corrupt(m)) => assert_eq!(m, "node (level 1, index 10) is missing"),
        other => panic!("{other:?}"),
    }
    // Inside a write, the ranges see the transaction's own appends.
    s.write(|tx| {
        tx.append(&[entry(100, &[], &[])])?;
        assert_eq!(tx.entry_hash_range(21, 1)?.len(), 1);
        assert_eq!(tx.entry_range(20, 5)?.len(), 2);
        assert_eq!(tx.node_range(0, 20, 2)?.len(), 2);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn a_ledger_over_the_store_records_proves_and_audits<S: Store>(mut l: Ledger<S>) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let evidence = Evidence::from_input("firmware-build", FW_TOML, InputFormat::Toml).unwrap();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    let recorded: Vec<_> = (0..5)
        .map(|iat| l.record(&evidence, &signer, iat).unwrap())
        .collect();
    assert!(matches!(
        l.record(&evidence, &signer, 0),
        Err(LedgerError::Store(StoreError::Duplicate { index: 0, .. }))
    ));
    let cp = l.checkpoint().unwrap();
    assert_eq!(cp.size, 5);
    l.verify_checkpoint(&cp.note).unwrap();
    let e = l.resolve("3").unwrap();
    assert_eq!(e.entry_hash, recorded[3].entry_hash);
    let inc = l.prove(&e, None).unwrap();
    merkle::RootHash::new(inc.size, cp.root)
        .verify_inclusion(&inc.leaf_hash, inc.index, &inc.proof)
        .unwrap();
    let report = evledger::audit::audit(&l, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(
        l.store().node(0, 0).unwrap(),
        merkle::leaf_hash(&recorded[0].entry_hash)
    );
}

macro_rules! backends {
    ($($backend:ident: $store:expr, $ledger:expr;)+) => {
        $(mod $backend {
            use super::*;

            backends!(@cases $store, $ledger;
                empty_store_reads_as_empty,
                appends_take_dense_indexes_and_store_the_tree,
                appends_within_one_write_extend_the_tree,
                a_duplicate_is_refused_and_its_batch_writes_nothing,
                a_hash_repeated_in_one_batch_is_refused_at_its_first_index,
                a_write_sees_its_own_changes_and_an_error_undoes_them_all,
                refs_index_who_cites_what,
                checkpoints_never_go_back_nor_beyond_the_log,
                cosignatures_are_kept_once_in_order_and_bounded,
                documents_are_kept_under_their_digest,
                log_keys_are_added_once_with_their_size,
                signer_rules_are_kept_once_in_order,
                witnesses_are_kept_in_order_once_by_name_and_by_key,
                ranges_of_nodes_and_entry_hashes_are_read_in_order,
                the_quorum_never_decreases_and_publication_is_kept,
            );

            #[test]
            fn a_ledger_over_the_store_records_proves_and_audits() {
                let Some((_guard, ledger)) = $ledger else { return };
                super::a_ledger_over_the_store_records_proves_and_audits(ledger);
            }
        })+
    };
    (@cases $store:expr, $ledger:expr; $($case:ident,)+) => {
        $(#[test]
        fn $case() {
            let Some((_guard, store)) = $store else { return };
            super::$case(store);
        })+
    };
}

fn sqlite_store() -> Option<(tempfile::TempDir, SqliteStore)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::create(dir.path(), &info()).unwrap();
    Some((dir, store))
}

fn sqlite_ledger() -> Option<(tempfile::TempDir, Ledger)> {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::init_with_key(dir.path(), ORIGIN, Some(log_key())).unwrap();
    Some((dir, ledger))
}

/// A ledger in a new database of the test cluster (`tests/pg_cluster`); `None` when
/// PostgreSQL is not installed (the harness then says so, or fails under `CI=true`).
#[cfg(feature = "postgres")]
fn postgres_store() -> Option<((), evledger::store::PostgresStore)> {
    let cluster = pg_cluster::cluster()?;
    let url = cluster.url(&cluster.new_database());
    Some((
        (),
        evledger::store::PostgresStore::create(&url, &info()).unwrap(),
    ))
}

#[cfg(feature = "postgres")]
fn postgres_ledger() -> Option<((), Ledger<evledger::store::PostgresStore>)> {
    let (_, store) = postgres_store()?;
    let keys = evledger::ledger::LogKeyring::Memory(vec![log_key()]);
    Some(((), Ledger::with_store(store, keys).unwrap()))
}

backends! {
    sqlite: sqlite_store(), sqlite_ledger();
    memory: Some(((), MemoryStore::new(info()))), Some(((), Ledger::in_memory(ORIGIN, log_key()).unwrap()));
}

#[cfg(feature = "postgres")]
backends! {
    postgres: postgres_store(), postgres_ledger();
}
