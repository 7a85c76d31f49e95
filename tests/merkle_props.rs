//! Property tests: roots and proofs from `MemoryTree` and from a store fed by
//! `Frontier` pushes must equal those of a naive recursive RFC 9162
//! implementation and of the `ct-merkle` crate; every proof must verify, and
//! no proof with a flipped bit may.

use std::cell::Cell;
use std::collections::HashMap;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use evledger::merkle::{
    ConsistencyError, ConsistencyProof, EMPTY_ROOT, Frontier, Hash, InclusionError, InclusionProof,
    MemoryTree, NodeSource, ProofError, RootHash, StoredNode, leaf_hash, node_hash,
    prove_consistency, prove_inclusion, root,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// Naive RFC 9162 §2.1 definitions, straight from the recursion over leaf hashes.

/// Largest power of two strictly below `n` (`n > 1`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) (§2.1.1), given leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]) (§2.1.3.1).
fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = naive_path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = naive_path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) (§2.1.4.1) for 0 < m <= n.
fn naive_consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(m, leaves, true)
}

/// SUBPROOF(m, D[n], b) (§2.1.4.1).
fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

// ---------------------------------------------------------------------------
// A store fed by Frontier::push output, the way a database is fed.

#[derive(Default)]
struct MapStore {
    nodes: HashMap<(u32, u64), Hash>,
    reads: Cell<usize>,
}

impl MapStore {
    fn store(&mut self, node: StoredNode) {
        let old = self.nodes.insert((node.level, node.index), node.hash);
        assert_eq!(
            old, None,
            "node ({}, {}) stored twice",
            node.level, node.index
        );
    }
}

impl NodeSource for MapStore {
    type Error = (u32, u64);

    fn node(&self, level: u32, index: u64) -> Result<Hash, (u32, u64)> {
        self.reads.set(self.reads.get() + 1);
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or((level, index))
    }
}

// ---------------------------------------------------------------------------
// Fixtures.

type CtTree = MemoryBackedTree<Sha256, [u8; 32]>;

/// Entry hashes: the values given to ct-merkle, whose leaf hash is ours.
fn entries(seed: u64, n: usize) -> Vec<[u8; 32]> {
    (0..n as u64)
        .map(|i| {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update(i.to_le_bytes());
            h.finalize().into()
        })
        .collect()
}

struct Fixture {
    data: Vec<[u8; 32]>,
    leaves: Vec<Hash>,
    mem: MemoryTree,
    map: MapStore,
    frontier: Frontier,
    ct: CtTree,
}

fn fixture(seed: u64, n: usize) -> Fixture {
    let data = entries(seed, n);
    let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let mut mem = MemoryTree::new();
    let mut map = MapStore::default();
    let mut frontier = Frontier::empty();
    let mut ct = CtTree::new();
    let mut out = Vec::new();
    for (i, (d, l)) in data.iter().zip(&leaves).enumerate() {
        assert_eq!(mem.push(*l), i as u64);
        out.clear();
        frontier.push_into(*l, &mut out);
        assert_eq!(out[0].level, 0);
        assert_eq!(out[0].index, i as u64);
        assert_eq!(out.len(), (i as u64).trailing_ones() as usize + 1);
        for node in &out {
            map.store(*node);
        }
        ct.push(*d);
    }
    Fixture {
        data,
        leaves,
        mem,
        map,
        frontier,
        ct,
    }
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flatten().copied().collect()
}

fn ct_root(hash: &Hash, size: u64) -> ct_merkle::RootHash<Sha256> {
    ct_merkle::RootHash::new((*hash).into(), size)
}

fn ct_digests(hashes: &[Hash]) -> Vec<ct_merkle::digest::Output<Sha256>> {
    hashes.iter().map(|h| (*h).into()).collect()
}

fn flip(h: &mut Hash, bit: u16) {
    h[usize::from(bit / 8) % 32] ^= 1 << (bit % 8);
}

/// Upper bound on node reads for one proof: one per path step plus the parts of one ragged sibling.
fn read_bound(size: u64) -> usize {
    2 * (64 - size.leading_zeros() as usize) + 1
}

// ---------------------------------------------------------------------------
// Checks shared by the properties.

fn check_root(f: &Fixture, size: usize) {
    let expected = mth(&f.leaves[..size]);
    let s = size as u64;
    assert_eq!(root(&f.mem, s), Ok(expected), "memory root at {size}");
    assert_eq!(root(&f.map, s), Ok(expected), "store root at {size}");
    let loaded = Frontier::load(&f.map, s).expect("store holds the frontier");
    assert_eq!(loaded.root(), expected, "loaded frontier root at {size}");
    assert_eq!(loaded.size(), s);
}

fn check_inclusion(f: &Fixture, index: usize, size: usize, bit: u16) {
    let (i, s) = (index as u64, size as u64);
    let naive = naive_path(index, &f.leaves[..size]);
    let mem = prove_inclusion(&f.mem, i, s).expect("memory proof");
    f.map.reads.set(0);
    let map = prove_inclusion(&f.map, i, s).expect("store proof");
    assert!(f.map.reads.get() <= read_bound(s), "too many reads");
    assert_eq!(mem.hashes(), &naive[..], "memory PATH({index}, {size})");
    assert_eq!(map, mem, "store PATH({index}, {size})");

    let head = RootHash::new(s, mth(&f.leaves[..size]));
    let leaf = f.leaves[index];
    assert_eq!(head.verify_inclusion(&leaf, i, &mem), Ok(()));

    if size == f.leaves.len() {
        let theirs = f.ct.prove_inclusion(index);
        assert_eq!(
            theirs.as_bytes(),
            &concat(mem.hashes())[..],
            "ct-merkle PATH"
        );
        let ours = ct_merkle::InclusionProof::<Sha256>::from_digests(&ct_digests(mem.hashes()));
        ct_root(&head.hash, s)
            .verify_inclusion(&f.data[index], i, &ours)
            .expect("ct-merkle accepts our proof");
    }

    // A flipped bit anywhere must fail: in a proof hash, the leaf or the root.
    if !mem.is_empty() {
        let mut hashes = mem.hashes().to_vec();
        let at = usize::from(bit) % hashes.len();
        flip(&mut hashes[at], bit);
        let err = head
            .verify_inclusion(&leaf, i, &InclusionProof::new(hashes))
            .unwrap_err();
        assert!(matches!(err, InclusionError::RootMismatch { .. }));
    }
    let mut bad_leaf = leaf;
    flip(&mut bad_leaf, bit);
    assert!(head.verify_inclusion(&bad_leaf, i, &mem).is_err());
    let mut bad_head = head;
    flip(&mut bad_head.hash, bit);
    assert!(bad_head.verify_inclusion(&leaf, i, &mem).is_err());
}

fn check_consistency(f: &Fixture, old: usize, new: usize, bit: u16) {
    let (o, n) = (old as u64, new as u64);
    let naive = naive_consistency(old, &f.leaves[..new]);
    let mem = prove_consistency(&f.mem, o, n).expect("memory proof");
    f.map.reads.set(0);
    let map = prove_consistency(&f.map, o, n).expect("store proof");
    assert!(f.map.reads.get() <= read_bound(n) + 1, "too many reads");
    assert_eq!(mem.hashes(), &naive[..], "memory PROOF({old}, {new})");
    assert_eq!(map, mem, "store PROOF({old}, {new})");

    let older = RootHash::new(o, mth(&f.leaves[..old]));
    let newer = RootHash::new(n, mth(&f.leaves[..new]));
    assert_eq!(older.verify_consistency(&newer, &mem), Ok(()));

    if new == f.leaves.len() {
        let theirs = f.ct.prove_consistency(new - old);
        assert_eq!(
            theirs.as_bytes(),
            &concat(mem.hashes())[..],
            "ct-merkle PROOF"
        );
        let ours = ct_merkle::ConsistencyProof::<Sha256>::from_digests(&ct_digests(mem.hashes()));
        ct_root(&newer.hash, n)
            .verify_consistency(&ct_root(&older.hash, o), &ours)
            .expect("ct-merkle accepts our proof");
    }

    if !mem.is_empty() {
        let mut hashes = mem.hashes().to_vec();
        let at = usize::from(bit) % hashes.len();
        flip(&mut hashes[at], bit);
        let err = older
            .verify_consistency(&newer, &ConsistencyProof::new(hashes))
            .unwrap_err();
        assert!(!err.is_malformed(), "{err}");
    }
    let mut bad_old = older;
    flip(&mut bad_old.hash, bit);
    assert!(bad_old.verify_consistency(&newer, &mem).is_err());
    let mut bad_new = newer;
    flip(&mut bad_new.hash, bit);
    assert!(older.verify_consistency(&bad_new, &mem).is_err());
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Large trees: random roots, inclusion and consistency proofs against every oracle.
    #[test]
    fn large_trees_match_oracles(
        n in 1usize..=3000,
        seed in any::<u64>(),
        picks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u16>()), 3),
    ) {
        let f = fixture(seed, n);
        prop_assert_eq!(f.mem.root(), mth(&f.leaves));
        prop_assert_eq!(f.frontier.root(), f.mem.root());
        prop_assert_eq!(f.ct.root().as_bytes().to_vec(), f.mem.root().to_vec());
        prop_assert_eq!(f.mem.tree_head(), RootHash::new(n as u64, mth(&f.leaves)));
        check_root(&f, n);
        for &(a, b, bit) in &picks {
            let size = 1 + (a % n as u64) as usize;
            check_root(&f, size);
            check_inclusion(&f, (b % size as u64) as usize, size, bit);
            check_inclusion(&f, (b % n as u64) as usize, n, bit);
            let old = 1 + (b % size as u64) as usize;
            check_consistency(&f, old, size, bit);
            check_consistency(&f, 1 + (a % n as u64) as usize, n, bit);
        }
    }

    /// Small trees: many more cases, every size and pair reachable.
    #[test]
    fn small_trees_match_oracles(
        n in 1usize..=100,
        seed in any::<u64>(),
        picks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u16>()), 4),
    ) {
        let f = fixture(seed, n);
        prop_assert_eq!(f.ct.root().as_bytes().to_vec(), f.mem.root().to_vec());
        for &(a, b, bit) in &picks {
            let size = 1 + (a % n as u64) as usize;
            check_root(&f, size);
            check_inclusion(&f, (b % size as u64) as usize, size, bit);
            check_inclusion(&f, (a % n as u64) as usize, n, bit);
            check_consistency(&f, 1 + (b % size as u64) as usize, size, bit);
            check_consistency(&f, 1 + (b % n as u64) as usize, n, bit);
        }
    }

    /// Reloading the frontier from the store at any size and pushing the rest gives the same nodes.
    #[test]
    fn frontier_resumes_from_store(n in 1usize..=600, cut in any::<u64>(), seed in any::<u64>()) {
        let f = fixture(seed, n);
        let cut = (cut % (n as u64 + 1)) as usize;
        let mut resumed = Frontier::load(&f.map, cut as u64).expect("frontier nodes stored");
        let rebuilt = Frontier::from_parts(resumed.size(), resumed.hashes().to_vec())
            .expect("sizes agree");
        prop_assert_eq!(&rebuilt, &resumed);
        for node in resumed.nodes() {
            prop_assert_eq!(f.map.nodes.get(&(node.level, node.index)), Some(&node.hash));
        }
        for leaf in &f.leaves[cut..] {
            for node in resumed.push(*leaf) {
                prop_assert_eq!(f.map.nodes.get(&(node.level, node.index)), Some(&node.hash));
            }
        }
        prop_assert_eq!(&resumed, &f.frontier);
    }

    /// Verification of arbitrary input returns an error and never panics.
    #[test]
    fn verification_never_panics(
        size in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), Just(u64::MAX - 1), Just(1 << 63), any::<u64>()],
        other in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()],
        len in 0usize..=70,
        fill in any::<u8>(),
    ) {
        let proof: Vec<Hash> = (0..len).map(|i| [fill ^ i as u8; 32]).collect();
        let head = RootHash::new(size, [fill; 32]);
        // A leaf unlike the root: with size 1, index 0 and no proof, a leaf equal to the root
        // is a genuine inclusion.
        let r = head.verify_inclusion(&[!fill; 32], other, &InclusionProof::new(proof.clone()));
        prop_assert!(r.is_err());
        let newer = RootHash::new(other, [fill.wrapping_add(1); 32]);
        let r = head.verify_consistency(&newer, &ConsistencyProof::new(proof.clone()));
        prop_assert!(r.is_err());
        let r = newer.verify_consistency(&head, &ConsistencyProof::new(proof));
        prop_assert!(r.is_err());
    }
}

// ---------------------------------------------------------------------------
// Exhaustive and fixed cases.

#[test]
fn ct_merkle_hashes_leaves_like_rfc9162() {
    // ct-merkle computes SHA-256(0x00 || value) for a leaf value, so giving it
    // an entry hash as the value yields our leaf_hash of that entry hash.
    let data = entries(7, 3);
    let mut ct = CtTree::new();
    ct.push(data[0]);
    assert_eq!(ct.root().as_bytes().as_slice(), &leaf_hash(&data[0])[..]);
    ct.push(data[1]);
    let two = node_hash(&leaf_hash(&data[0]), &leaf_hash(&data[1]));
    assert_eq!(ct.root().as_bytes().as_slice(), &two[..]);
    ct.push(data[2]);
    let three = node_hash(&two, &leaf_hash(&data[2]));
    assert_eq!(ct.root().as_bytes().as_slice(), &three[..]);
    let mut raw = vec![0u8];
    raw.extend_from_slice(&data[0]);
    assert_eq!(leaf_hash(&data[0]), <Hash>::from(Sha256::digest(&raw)));
}

#[test]
fn every_pair_up_to_40_leaves() {
    let f = fixture(1, 40);
    for size in 1..=40 {
        check_root(&f, size);
        for index in 0..size {
            check_inclusion(&f, index, size, (index * 37 + size) as u16);
        }
        for old in 1..=size {
            check_consistency(&f, old, size, (old * 53 + size) as u16);
        }
    }
    check_root(&f, 0);
}

#[test]
fn every_bit_flip_fails_in_small_trees() {
    let f = fixture(2, 9);
    for size in 1..=9usize {
        let head = RootHash::new(size as u64, mth(&f.leaves[..size]));
        for index in 0..size {
            let proof = prove_inclusion(&f.mem, index as u64, size as u64).unwrap();
            for at in 0..proof.len() {
                for bit in 0..256u16 {
                    let mut hashes = proof.hashes().to_vec();
                    flip(&mut hashes[at], bit);
                    let r = head.verify_inclusion(
                        &f.leaves[index],
                        index as u64,
                        &InclusionProof::new(hashes),
                    );
                    assert!(r.is_err(), "PATH({index}, {size}) hash {at} bit {bit}");
                }
            }
        }
        for old in 1..size {
            let older = RootHash::new(old as u64, mth(&f.leaves[..old]));
            let proof = prove_consistency(&f.mem, old as u64, size as u64).unwrap();
            for at in 0..proof.len() {
                for bit in 0..256u16 {
                    let mut hashes = proof.hashes().to_vec();
                    flip(&mut hashes[at], bit);
                    let r = older.verify_consistency(&head, &ConsistencyProof::new(hashes));
                    assert!(r.is_err(), "PROOF({old}, {size}) hash {at} bit {bit}");
                }
            }
        }
    }
}

#[test]
fn proofs_for_other_positions_fail() {
    let f = fixture(3, 21);
    let head = f.mem.tree_head();
    for index in 0..21u64 {
        let proof = prove_inclusion(&f.mem, index, 21).unwrap();
        for other in 0..21u64 {
            if other != index {
                let r = head.verify_inclusion(&f.leaves[index as usize], other, &proof);
                assert!(r.is_err(), "proof for {index} accepted at {other}");
            }
        }
    }
}

#[test]
fn generation_errors() {
    let f = fixture(4, 10);
    assert_eq!(
        prove_inclusion(&f.map, 10, 10),
        Err(ProofError::InvalidIndex {
            index: 10,
            size: 10
        })
    );
    assert_eq!(
        prove_consistency(&f.map, 0, 10),
        Err(ProofError::InvalidRange { old: 0, new: 10 })
    );
    assert_eq!(
        prove_consistency(&f.map, 11, 10),
        Err(ProofError::InvalidRange { old: 11, new: 10 })
    );
    assert!(matches!(
        prove_inclusion(&f.map, 3, 11),
        Err(ProofError::Source(_))
    ));
    assert!(matches!(
        prove_consistency(&f.map, 3, 12),
        Err(ProofError::Source(_))
    ));
    assert_eq!(
        RootHash::empty().verify_consistency(&f.mem.tree_head(), &ConsistencyProof::default()),
        Err(ConsistencyError::EmptyOldTree { new: 10 })
    );
}

/// A tree whose leaves are all equal: node `(level, _)` hashes to the same value at each level,
/// so trees of any size, up to `u64::MAX` leaves, are consistent and cheap.
struct Uniform {
    levels: Vec<Hash>,
    reads: Cell<usize>,
}

impl Uniform {
    fn new() -> Self {
        let mut levels = vec![leaf_hash(b"same")];
        for l in 1..64 {
            let below = levels[l - 1];
            levels.push(node_hash(&below, &below));
        }
        Uniform {
            levels,
            reads: Cell::new(0),
        }
    }
}

impl NodeSource for Uniform {
    type Error = ();

    fn node(&self, level: u32, _index: u64) -> Result<Hash, ()> {
        self.reads.set(self.reads.get() + 1);
        self.levels.get(level as usize).copied().ok_or(())
    }
}

#[test]
fn huge_trees_prove_and_verify_with_few_reads() {
    let src = Uniform::new();
    let leaf = src.levels[0];
    for size in [1_000_000u64, 1 << 40, (1 << 63) + 1, u64::MAX - 1, u64::MAX] {
        let head = RootHash::new(size, root(&src, size).unwrap());
        for index in [0, 1, size / 2, size - 2, size - 1] {
            if index >= size {
                continue;
            }
            src.reads.set(0);
            let proof = prove_inclusion(&src, index, size).unwrap();
            assert!(
                src.reads.get() <= read_bound(size),
                "reads at {index}/{size}"
            );
            assert_eq!(head.verify_inclusion(&leaf, index, &proof), Ok(()));
            assert!(
                head.verify_inclusion(&leaf, index, &InclusionProof::default())
                    .is_err()
            );
        }
        for old in [1, 2, 3, size / 2, size - 1, size] {
            let older = RootHash::new(old, root(&src, old).unwrap());
            src.reads.set(0);
            let proof = prove_consistency(&src, old, size).unwrap();
            assert!(
                src.reads.get() <= read_bound(size) + 1,
                "reads at {old}/{size}"
            );
            assert_eq!(
                older.verify_consistency(&head, &proof),
                Ok(()),
                "{old} {size}"
            );
        }
    }
}
