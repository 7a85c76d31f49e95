//! The in-memory RFC 9162 tree beside the `ct-merkle` oracle, at 1,000 / 100,000 / 1,000,000 leaves.
//!
//! Groups, each with an `evledger` and a `ct-merkle` line per size:
//! - `merkle_build`: building the tree from leaf data, per leaf (`Throughput::Elements(n)`):
//!   `MemoryTree::push(leaf_hash(entry))` against `MemoryBackedTree::push(entry)`;
//! - `merkle_root`: the root hash, per op: `MemoryTree::root()` (fold of the frontier) and
//!   `merkle::root(&tree, n)` (from stored complete subtrees, as the ledger computes it)
//!   against `MemoryBackedTree::root()`;
//! - `merkle_inclusion`: one inclusion proof of a random leaf against the whole tree, per op;
//! - `merkle_consistency`: one consistency proof from a random older size, per op.
//!
//! No goal of its own: it shows that proofs read O(log n) stored nodes (flat in n) and that
//! the tree is not slower than the independent implementation. Leaves are SHA-256 of their
//! index (the entry hashes a ledger would hold).

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use evledger::merkle::{self, Hash, MemoryTree};
use sha2::{Digest, Sha256};

type CtTree = MemoryBackedTree<Sha256, [u8; 32]>;

const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];

fn entries(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| Sha256::digest(i.to_be_bytes()).into())
        .collect()
}

fn ours(entries: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for e in entries {
        t.push(merkle::leaf_hash(e));
    }
    t
}

fn theirs(entries: &[Hash]) -> CtTree {
    let mut t = CtTree::new();
    for e in entries {
        t.push(*e);
    }
    t
}

fn bench_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle_build");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let data = entries(n);
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("evledger", n), &data, |b, d| {
            b.iter(|| black_box(ours(d)))
        });
        g.bench_with_input(BenchmarkId::new("ct-merkle", n), &data, |b, d| {
            b.iter(|| black_box(theirs(d)))
        });
    }
    g.finish();
}

fn bench_queries(c: &mut Criterion) {
    let trees: Vec<(u64, MemoryTree, CtTree)> = SIZES
        .iter()
        .map(|&n| {
            let data = entries(n);
            let (o, t) = (ours(&data), theirs(&data));
            assert_eq!(o.root().as_slice(), t.root().as_bytes().as_slice());
            (n, o, t)
        })
        .collect();
    let short = |g: &mut criterion::BenchmarkGroup<'_, _>| {
        g.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
    };

    let mut g = c.benchmark_group("merkle_root");
    short(&mut g);
    for (n, o, t) in &trees {
        g.bench_with_input(BenchmarkId::new("evledger-frontier", n), o, |b, o| {
            b.iter(|| black_box(o.root()))
        });
        g.bench_with_input(BenchmarkId::new("evledger-stored", n), o, |b, o| {
            b.iter(|| black_box(merkle::root(o, *n).expect("root")))
        });
        g.bench_with_input(BenchmarkId::new("ct-merkle", n), t, |b, t| {
            b.iter(|| black_box(t.root()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("merkle_inclusion");
    short(&mut g);
    for (n, o, t) in &trees {
        let mut rng = common::Rng::new(7);
        g.bench_with_input(BenchmarkId::new("evledger", n), o, |b, o| {
            b.iter(|| black_box(merkle::prove_inclusion(o, rng.below(*n), *n).expect("proof")))
        });
        let mut rng = common::Rng::new(7);
        g.bench_with_input(BenchmarkId::new("ct-merkle", n), t, |b, t| {
            b.iter(|| black_box(t.prove_inclusion(rng.below(*n) as usize)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("merkle_consistency");
    short(&mut g);
    for (n, o, t) in &trees {
        let mut rng = common::Rng::new(11);
        g.bench_with_input(BenchmarkId::new("evledger", n), o, |b, o| {
            b.iter(|| {
                let old = 1 + rng.below(*n - 1);
                black_box(merkle::prove_consistency(o, old, *n).expect("proof"))
            })
        });
        let mut rng = common::Rng::new(11);
        g.bench_with_input(BenchmarkId::new("ct-merkle", n), t, |b, t| {
            b.iter(|| {
                let old = 1 + rng.below(*n - 1);
                black_box(t.prove_consistency((*n - old) as usize))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_build, bench_queries);
criterion_main!(benches);
