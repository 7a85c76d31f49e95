//! What the kill -9 tests share: clients that submit pre-signed statements until the server
//! dies, and the checks after a restart (every acknowledged statement once in the log, audit
//! clean, checkpoints verified and consistent, no fork).

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use super::client::Conn;
use super::common::{self, Env, root};
use evledger::checkpoint::{self, VerifiedCheckpoint, consistency::check_extends};
use evledger::evidence::{Evidence, InputFormat};
use evledger::hex;
use evledger::ledger::{Ledger, Signer};
use evledger::note::NoteVerifier;
use evledger::store::StoreRead as _;

/// What one client saw: acknowledged statements (entry hash → status), and statements whose
/// fate it does not know (the server died before answering).
#[derive(Default)]
pub struct Seen {
    /// Acknowledged statements: entry hash and status.
    pub acked: Vec<([u8; 32], u16)>,
    /// Statements whose fate is unknown.
    pub unknown: Vec<Vec<u8>>,
}

/// Submits `statements` one after another on one keep-alive connection until the server stops
/// answering; reports each acknowledgement on `acks` as it arrives.
pub fn client(addr: String, statements: Vec<Vec<u8>>, acks: mpsc::Sender<()>) -> Seen {
    let mut seen = Seen::default();
    let mut conn = match Conn::connect(&addr) {
        Ok(c) => c,
        Err(_) => {
            seen.unknown = statements;
            return seen;
        }
    };
    let mut rest = statements.into_iter();
    while let Some(st) = rest.next() {
        match conn.post_cose("/entries", &st) {
            Ok(r) if matches!(r.status, 200..=202) => {
                seen.acked.push((sha256(&st), r.status));
                let _ = acks.send(());
            }
            Ok(r) => panic!(
                "registration answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ),
            Err(_) => {
                // The server was killed: this statement and the rest are in an unknown state.
                seen.unknown.push(st);
                seen.unknown.extend(rest);
                break;
            }
        }
    }
    seen
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// `count` distinct firmware-build statements signed by the example release engineer.
pub fn presign(env: &Env, count: usize) -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(root().join("examples/facegate/firmware-4.2.0.toml")).unwrap();
    let evidence = Evidence::from_input("firmware-build", &text, InputFormat::Toml).unwrap();
    let key = evledger::keys::read_signing_key(&env.path(common::KEY)).unwrap();
    (0..count)
        .map(|i| {
            let subject = format!("FaceGate 3D 4.2.0 unit {i:06}");
            let signer = Signer {
                key: &key,
                issuer: "Aurelis",
                subject: &subject,
                x5chain: Vec::new(),
            };
            Ledger::sign(&evidence, &signer, 1_800_000_000 + i as u64)
                .unwrap()
                .statement
        })
        .collect()
}

/// What the clients saw across restarts, and what the checks proved so far.
pub struct History {
    /// The log's verifier key.
    pub vkey: NoteVerifier,
    /// Acknowledged statements: entry hash and the status of the acknowledgement.
    pub acked: HashMap<[u8; 32], u16>,
    /// Checkpoints seen over HTTP.
    pub seen_notes: Vec<String>,
    /// The stored checkpoints verified by the last check.
    pub checked: Vec<VerifiedCheckpoint>,
    /// Entries whose receipt was fetched.
    pub served: HashSet<[u8; 32]>,
}

impl History {
    /// Nothing seen yet, for the log of `vkey`.
    pub fn new(vkey: NoteVerifier) -> History {
        History {
            vkey,
            acked: HashMap::new(),
            seen_notes: Vec::new(),
            checked: Vec::new(),
            served: HashSet::new(),
        }
    }
}

/// The checks after a restart: every acknowledged statement once in the log and served (those
/// not in `served` yet are fetched), audit clean, stored checkpoints verified and consistent one
/// after another (proved from the last of `checked` on), and
/// every checkpoint seen over HTTP equal to the stored one of its size.
pub fn check_after_restart(env: &Env, ledger_dir: &str, addr: &str, h: &mut History) {
    let History {
        vkey,
        acked,
        seen_notes,
        checked,
        served,
    } = h;
    let (vkey, acked) = (&*vkey, &*acked);
    let ledger = Ledger::open_read_only(&env.path(ledger_dir)).unwrap();
    let store = ledger.store();
    let size = store.size().unwrap();
    let mut count: HashMap<[u8; 32], usize> = HashMap::new();
    for i in 0..size {
        *count.entry(store.entry(i).unwrap().entry_hash).or_default() += 1;
    }
    for (h, status) in acked {
        assert_eq!(
            count.get(h),
            Some(&1),
            "statement {} (answered {status}) is in the log {} times",
            hex::encode(h),
            count.get(h).copied().unwrap_or(0)
        );
    }
    assert!(
        count.values().all(|&n| n == 1),
        "an entry is in the log twice"
    );

    // Served: the receipt of each entry acknowledged since the last check, over one connection
    // (the older ones were fetched after earlier restarts, and are counted above).
    let mut conn = Conn::connect(addr).unwrap();
    for h in acked.keys().filter(|h| !served.contains(*h)) {
        let r = conn.get(&format!("/entries/{}", hex::encode(h))).unwrap();
        assert_eq!(r.status, 200, "GET /entries/{}: {r:?}", hex::encode(h));
    }
    served.extend(acked.keys().copied());

    let out = env.run(&["audit", "--ledger", ledger_dir]);
    assert!(out.stdout.starts_with("ok: "), "{out:?}");

    // Every stored checkpoint verifies and extends the one before it (proved for those stored
    // since the last check); none checked before was lost or changed.
    let stored = store.checkpoints().unwrap();
    let known = checked.last().map_or(0, |c| c.checkpoint().size);
    let mut verified: Vec<VerifiedCheckpoint> = Vec::with_capacity(stored.len());
    for cp in &stored {
        let v = checkpoint::verify(&cp.note, vkey)
            .unwrap_or_else(|e| panic!("stored checkpoint of size {}: {e}", cp.size));
        if let Some(prev) = verified.last().filter(|_| cp.size > known) {
            let (old, new) = (prev.checkpoint(), v.checkpoint());
            // From the empty tree (init's checkpoint) the proof is empty.
            let proof = if old.size == 0 {
                Default::default()
            } else {
                ledger.consistency(old.size, new.size).unwrap().2
            };
            check_extends(old, new, &proof).unwrap_or_else(|e| {
                panic!("checkpoint {} does not extend {}: {e}", new.size, old.size)
            });
        }
        verified.push(v);
    }
    for old in checked.iter() {
        let size = old.checkpoint().size;
        let now = verified.iter().find(|v| v.checkpoint().size == size);
        assert_eq!(
            now.map(|v| v.checkpoint().root),
            Some(old.checkpoint().root),
            "the checkpoint of size {size} checked before a restart is gone or changed"
        );
    }
    for note in seen_notes {
        let v = checkpoint::verify(note, vkey).unwrap();
        let size = v.checkpoint().size;
        assert!(
            verified
                .iter()
                .any(|s| s.checkpoint().size == size && s.checkpoint().root == v.checkpoint().root),
            "the checkpoint of size {size} served over HTTP is not the stored one"
        );
    }
    // The latest checkpoint covers everything acknowledged.
    let latest = verified.last().expect("a checkpoint after registrations");
    assert_eq!(
        latest.checkpoint().size,
        size,
        "the log is not covered by a checkpoint"
    );
    *checked = verified;
}
