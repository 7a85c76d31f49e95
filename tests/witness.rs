//! The witness through the `evledger` binary: `witness init`, `witness cosign` accepting a
//! growing log and refusing forks (two ledgers under one log key), smaller checkpoints, other
//! keys, tampered notes and bad proofs; the cosignature format checked by hand; SIGKILL at random
//! points during cosign.
#![cfg(feature = "cli")]

mod witnessing;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use evledger::checkpoint::Checkpoint;
use evledger::checkpoint::consistency::ProofFile;
use evledger::ledger::Ledger;
use evledger::merkle::RootHash;
use evledger::note::{CosignatureVerifier, Note};
use evledger::witness::State;
use witnessing::{EVL, ORIGIN, World, b64, checkpoint_of, fails, grow, ok, read, s};

// ---- witness init ----

#[test]
fn witness_init_writes_the_state_directory_and_prints_its_key() {
    let w = World::new();
    let (dir, vkey) = w.witness("witness.example/w1");
    let v = CosignatureVerifier::parse(&vkey).expect("a cosignature vkey (type 0x04)");
    assert_eq!(v.name(), "witness.example/w1");
    assert_eq!(read(&dir.join("witness.vkey")), format!("{vkey}\n"));
    assert_eq!(read(&dir.join("log.vkey")), format!("{}\n", w.log_vkey));
    assert_eq!(read(&dir.join("state")), "evledger-witness-state/v1\n");
    let mode = std::fs::metadata(dir.join("witness.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Never reused, and the name must be a key name.
    let (_, err) = fails(
        1,
        &[
            "witness",
            "init",
            "--name",
            "w2",
            "--log-key",
            &w.log_vkey,
            "--out",
            s(&dir),
        ],
    );
    assert!(err.contains("exists and is not empty"), "{err}");
    let other = w.path("w-bad");
    let (_, err) = fails(
        1,
        &[
            "witness",
            "init",
            "--name",
            "bad name",
            "--log-key",
            &w.log_vkey,
            "--out",
            s(&other),
        ],
    );
    assert!(err.contains("invalid key name"), "{err}");
    assert!(std::fs::read_dir(&other).map_or(true, |mut d| d.next().is_none()));
    // A key file with loose permissions is refused with the fix.
    std::fs::set_permissions(
        dir.join("witness.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let cp = w.checkpoint("A", "a0");
    let out = w.cosign(&dir, &cp, None, 1);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("hint: chmod 600"), "{}", out.stderr);
}

// ---- cosign: acceptance and refusals ----

#[test]
fn cosigns_a_growing_log() {
    let w = World::new();
    let (wd, vkey) = w.witness("witness.example/w1");
    let v = CosignatureVerifier::parse(&vkey).expect("vkey");
    let cps = grow(&w, "A", "a", 1, 4, u64::MAX);
    // First cosignature: no proof needed.
    let c1 = w.cosign_ok(&wd, &cps[0], None, 100);
    assert_eq!(
        v.verify(&Note::parse(&read(&c1)).expect("note")),
        Ok(Some(100))
    );
    // Growth with the proof `evledger consistency` prints.
    let p13 = w.proof("A", 1, 3, "p13");
    let c3 = w.cosign_ok(&wd, &cps[2], Some(&p13), 101);
    assert!(read(&c3).starts_with(&read(&cps[2])));
    // The same checkpoint again needs no proof; an `old 3` empty proof is accepted too.
    w.cosign_ok(&wd, &cps[2], None, 102);
    let p33 = w.proof("A", 3, 3, "p33");
    w.cosign_ok(&wd, &cps[2], Some(&p33), 103);
    // The JSON form of the proof.
    let json = ok(&[
        "consistency",
        "3",
        "4",
        "--json",
        "--ledger",
        s(&w.path("A")),
    ]);
    std::fs::write(w.path("p34.json"), json).expect("write");
    w.cosign_ok(&wd, &cps[3], Some(&w.path("p34.json")), 104);
    let cp4 = checkpoint_of(&cps[3]);
    assert_eq!(
        read(&wd.join("state")),
        format!("evledger-witness-state/v1\n{ORIGIN} 4 {}\n", b64(&cp4.root))
    );
    // A note that already carries cosignatures keeps them, and gets this witness's after them.
    let (wd2, _) = w.witness("witness.example/w2");
    let twice = w.cosign_ok(&wd2, &w.path("a4.witness-witness.example-w1"), None, 105);
    assert_eq!(
        Note::parse(&read(&twice)).expect("note").signatures().len(),
        3
    );
}

#[test]
fn refuses_a_fork_made_with_the_same_log_key() {
    let w = World::new();
    w.init_ledger("B", "log.key", ORIGIN);
    // A and B share entries 1 and 2, then diverge.
    let a = grow(&w, "A", "a", 1, 3, 3);
    let b = grow(&w, "B", "b", 1, 4, 3);
    assert_eq!(
        read(&a[1]),
        read(&b[1]),
        "the shared prefix signs identically"
    );
    let (wd, _) = w.witness("witness.example/w1");
    w.cosign_ok(&wd, &a[1], None, 1);
    let p23 = w.proof("A", 2, 3, "pa23");
    w.cosign_ok(&wd, &a[2], Some(&p23), 2);
    let state = read(&wd.join("state"));
    let (a3, b3, b4) = (
        checkpoint_of(&a[2]),
        checkpoint_of(&b[2]),
        checkpoint_of(&b[3]),
    );
    // Same size, other root.
    let out = w.cosign(&wd, &b[2], None, 3);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("two histories"), "{}", out.stderr);
    assert!(out.stderr.contains(&b64(&a3.root)) && out.stderr.contains(&b64(&b3.root)));
    // Larger, with B's own (valid in B) proof from size 3.
    let pb34 = w.proof("B", 3, 4, "pb34");
    let out = w.cosign(&wd, &b[3], Some(&pb34), 4);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("refusing to cosign"), "{}", out.stderr);
    assert!(out.stderr.contains("size 3") && out.stderr.contains("size 4"));
    assert!(out.stderr.contains(&b64(&a3.root)) && out.stderr.contains(&b64(&b4.root)));
    assert_eq!(read(&wd.join("state")), state, "a refusal changes nothing");
    // A witness that saw only the shared prefix follows B, and then refuses A.
    let (wd2, _) = w.witness("witness.example/w2");
    w.cosign_ok(&wd2, &b[1], None, 5);
    let pb24 = w.proof("B", 2, 4, "pb24");
    w.cosign_ok(&wd2, &b[3], Some(&pb24), 6);
    let pa23 = w.proof("A", 2, 3, "pa23b");
    assert_eq!(w.cosign(&wd2, &a[2], Some(&pa23), 7).code, 1);
}

#[test]
fn refuses_a_smaller_checkpoint() {
    let w = World::new();
    let cps = grow(&w, "A", "a", 1, 3, u64::MAX);
    let (wd, _) = w.witness("witness.example/w1");
    w.cosign_ok(&wd, &cps[2], None, 1);
    let (c1, c3) = (checkpoint_of(&cps[0]), checkpoint_of(&cps[2]));
    let out = w.cosign(&wd, &cps[0], None, 2);
    assert_eq!(out.code, 1);
    let err = &out.stderr;
    assert!(err.contains("smaller than size 3"), "{err}");
    assert!(err.contains("size 1") && err.contains(&b64(&c1.root)) && err.contains(&b64(&c3.root)));
    assert!(out.stdout.is_empty(), "nothing is cosigned");
}

#[test]
fn refuses_checkpoints_not_signed_by_the_watched_log() {
    let w = World::new();
    let (wd, _) = w.witness("witness.example/w1");
    // Same origin, another log key.
    ok(&["key", "generate", "--out", s(&w.path("other.key"))]);
    w.init_ledger("C", "other.key", ORIGIN);
    w.record("C", "c1", 1);
    let c = w.checkpoint("C", "c1");
    let out = w.cosign(&wd, &c, None, 1);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("does not verify under the watched log key"),
        "{}",
        out.stderr
    );
    // The watched key, another origin: the log key's name is the origin, so it is another key.
    w.init_ledger("D", "log.key", "other.example/log");
    w.record("D", "d1", 1);
    let d = w.checkpoint("D", "d1");
    let out = w.cosign(&wd, &d, None, 1);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does not verify"), "{}", out.stderr);
    assert_eq!(read(&wd.join("state")), "evledger-witness-state/v1\n");
}

#[test]
fn refuses_tampered_notes() {
    let w = World::new();
    let cps = grow(&w, "A", "a", 1, 2, u64::MAX);
    let (wd, _) = w.witness("witness.example/w1");
    let good = read(&cps[1]);
    let cp = checkpoint_of(&cps[1]);
    let mut other_root = cp.root;
    other_root[0] ^= 1;
    for (what, bad) in [
        ("size", good.replacen("\n2\n", "\n3\n", 1)),
        ("root", good.replacen(&b64(&cp.root), &b64(&other_root), 1)),
        ("origin", good.replacen(ORIGIN, "test.example/lug", 1)),
    ] {
        std::fs::write(w.path("tampered"), &bad).expect("write");
        let out = w.cosign(&wd, &w.path("tampered"), None, 1);
        assert_eq!(out.code, 1, "{what}");
        assert!(
            out.stderr.contains("does not verify"),
            "{what}: {}",
            out.stderr
        );
    }
    // Malformed rather than forged.
    std::fs::write(w.path("tampered"), good.replace('\u{2014}', "-")).expect("write");
    let out = w.cosign(&wd, &w.path("tampered"), None, 1);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("malformed checkpoint"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&wd.join("state")), "evledger-witness-state/v1\n");
}

#[test]
fn refuses_bad_proofs() {
    let w = World::new();
    let cps = grow(&w, "A", "a", 1, 7, u64::MAX);
    let (wd, _) = w.witness("witness.example/w1");
    w.cosign_ok(&wd, &cps[2], None, 1);
    let state = read(&wd.join("state"));
    let good = read(&w.proof("A", 3, 7, "p37"));
    let lines: Vec<&str> = good.lines().collect();
    // Every single flipped bit in every hash is refused, naming both heads.
    for i in 1..lines.len() {
        let mut h = BASE64.decode(lines[i]).expect("b64");
        h[i % 32] ^= 0x10;
        let mut bad = lines.clone();
        let flipped = BASE64.encode(&h);
        bad[i] = &flipped;
        std::fs::write(w.path("bad"), bad.join("\n") + "\n").expect("write");
        let out = w.cosign(&wd, &cps[6], Some(&w.path("bad")), 2);
        assert_eq!(out.code, 1, "flip in hash {i}");
        assert!(out.stderr.contains("refusing to cosign"), "{}", out.stderr);
        assert!(out.stderr.contains("size 3") && out.stderr.contains("size 7"));
    }
    // A proof from another old size.
    let p27 = w.proof("A", 2, 7, "p27");
    let out = w.cosign(&wd, &cps[6], Some(&p27), 2);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("the proof is from size 2, but the last checkpoint cosigned"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("evledger consistency 3 7"),
        "{}",
        out.stderr
    );
    // The right `old` with the hashes of another proof, a truncated one, none at all, garbage.
    let p47 = read(&w.proof("A", 4, 7, "p47"));
    let relabelled = p47.replacen("old 4", "old 3", 1);
    let truncated = lines[..lines.len() - 1].join("\n") + "\n";
    for (what, text, expect) in [
        ("relabelled", relabelled.as_str(), "proof"),
        (
            "truncated",
            truncated.as_str(),
            "malformed consistency proof",
        ),
        ("garbage", "old 3\nnot base64\n", "proof file line 2"),
        ("no old line", "3\n", "proof file line 1"),
    ] {
        std::fs::write(w.path("bad"), text).expect("write");
        let out = w.cosign(&wd, &cps[6], Some(&w.path("bad")), 2);
        assert_eq!(out.code, 1, "{what}");
        assert!(out.stderr.contains(expect), "{what}: {}", out.stderr);
    }
    let out = w.cosign(&wd, &cps[6], None, 2);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("a consistency proof from size 3"),
        "{}",
        out.stderr
    );
    assert_eq!(
        read(&wd.join("state")),
        state,
        "no refusal changes the state"
    );
    // And the right proof still works afterwards.
    w.cosign_ok(&wd, &cps[6], Some(&w.path("p37")), 3);
}

// ---- the cosignature format, checked independently ----

#[test]
fn cosignatures_follow_c2sp_tlog_cosignature() {
    let w = World::new();
    let cps = grow(&w, "A", "a", 1, 2, u64::MAX);
    let (wd, vkey) = w.witness("witness.example/w1");
    let t: u64 = 1_700_000_123;
    let cosigned = read(&w.cosign_ok(&wd, &cps[1], None, t));
    let body = read(&cps[1]);
    let body = &body[..body.find("\n\n").expect("blank line") + 1];

    // The vkey, by hand: <name>+<hex key id>+<base64(0x04 || 32-byte key)>.
    let mut parts = vkey.splitn(3, '+');
    let (name, hex_id, material) = (
        parts.next().expect("name"),
        parts.next().expect("id"),
        parts.next().expect("key"),
    );
    let material = BASE64.decode(material).expect("base64 key");
    assert_eq!(material.len(), 33);
    assert_eq!(material[0], 0x04, "signature type of cosignature/v1");
    let pubkey: [u8; 32] = material[1..].try_into().expect("32 bytes");
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x04]);
    h.update(pubkey);
    let key_id: [u8; 4] = h.finalize()[..4].try_into().expect("4 bytes");
    assert_eq!(hex_id, evledger::hex::encode(&key_id));

    // The note: the checkpoint as given, then exactly one new line `— <name> base64(...)`.
    assert!(cosigned.starts_with(&read(&cps[1])));
    let added = &cosigned[read(&cps[1]).len()..];
    let line = added.strip_suffix('\n').expect("newline");
    assert!(!line.contains('\n'), "one line added");
    let raw = line
        .strip_prefix(&format!("\u{2014} {name} "))
        .expect("em dash, space, name, space");
    let raw = BASE64.decode(raw).expect("base64");
    assert_eq!(
        raw.len(),
        4 + 8 + 64,
        "key id, u64 timestamp, ed25519 signature"
    );
    assert_eq!(raw[..4], key_id);
    assert_eq!(u64::from_be_bytes(raw[4..12].try_into().expect("8")), t);

    // The signed message: "cosignature/v1\ntime <T>\n" + the checkpoint body.
    let message = format!("cosignature/v1\ntime {t}\n{body}");
    let key = ed25519_dalek::VerifyingKey::from_bytes(&pubkey).expect("key");
    let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).expect("sig");
    key.verify_strict(message.as_bytes(), &sig)
        .expect("cosignature verifies");
    // Not over anything else: another time, or the body without its final newline.
    let other = format!("cosignature/v1\ntime {}\n{body}", t + 1);
    assert!(key.verify_strict(other.as_bytes(), &sig).is_err());
    assert!(
        key.verify_strict(message.trim_end().as_bytes(), &sig)
            .is_err()
    );
}

// ---- crash safety ----

/// A small deterministic generator (xorshift64*), seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sizes of ledger A in the kill test; ledger B shares the first `KILL_SHARED` and then has
/// its own entries up to `KILL_B`.
const KILL_A: u64 = 14;
const KILL_B: u64 = 11;
const KILL_SHARED: u64 = 4;

#[test]
fn state_survives_sigkill_during_cosign_and_never_cosigns_two_histories() {
    let w = World::new();
    w.init_ledger("B", "log.key", ORIGIN);
    let a = grow(&w, "A", "a", 1, KILL_A, KILL_SHARED + 1);
    let b = grow(&w, "B", "b", 1, KILL_B, KILL_SHARED + 1);
    let mut checkpoints: Vec<(&str, PathBuf, Checkpoint)> = Vec::new();
    for (ledger, files) in [("A", &a[..]), ("B", &b[KILL_SHARED as usize..])] {
        for f in files.iter() {
            checkpoints.push((ledger, f.clone(), checkpoint_of(f)));
        }
    }
    // Every proof either ledger can give, in the text format, from the library.
    let mut proofs: HashMap<(&str, u64, u64), String> = HashMap::new();
    let mut roots: HashMap<(&str, u64), [u8; 32]> = HashMap::new();
    for (ledger, max) in [("A", KILL_A), ("B", KILL_B)] {
        let l = Ledger::open(&w.path(ledger)).expect("open");
        for new in 1..=max {
            for old in 1..=new {
                let (old_root, new_root, proof) = l.consistency(old, new).expect("proof");
                roots.insert((ledger, old), old_root);
                roots.insert((ledger, new), new_root);
                let file = ProofFile {
                    old_size: old,
                    new_size: None,
                    proof,
                };
                proofs.insert((ledger, old, new), file.to_text());
            }
        }
    }
    let which = |h: &RootHash| -> &str {
        if roots.get(&("A", h.size)) == Some(&h.hash) {
            "A"
        } else if roots.get(&("B", h.size)) == Some(&h.hash) {
            "B"
        } else {
            panic!("{h:?} is no checkpoint of either ledger")
        }
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let (mut killed, mut accepted, mut unseen_commits) = (0, 0, 0);

    // Each epoch starts a fresh witness, so that most offers extend its state and the kills land
    // around commits, not only around refusals.
    for epoch in 0..3 {
        let (wd, vkey) = w.witness(&format!("witness.example/kill{epoch}"));
        let verifier = CosignatureVerifier::parse(&vkey).expect("vkey");
        let spawn = |cp: &Path, proof: Option<&Path>, t: u64| -> Child {
            let t = t.to_string();
            let mut args = vec!["witness", "cosign", s(cp), "--state", s(&wd), "--time", &t];
            if let Some(p) = proof {
                args.extend(["--proof", s(p)]);
            }
            Command::new(EVL)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        };
        // How long an uninterrupted cosign takes, to aim the kills inside it.
        w.cosign_ok(&wd, &a[0], None, 1);
        let start = Instant::now();
        for _ in 0..3 {
            w.cosign_ok(&wd, &a[0], None, 1);
        }
        let typical = start.elapsed().as_micros() as u64 / 3;

        let mut emitted: Vec<RootHash> = Vec::new();
        let mut states: Vec<RootHash> = Vec::new();
        for round in 0..50u64 {
            let state = State::parse(&read(&wd.join("state")))
                .unwrap_or_else(|e| panic!("seed {seed} epoch {epoch} round {round}: state: {e}"));
            let head = state.latest(ORIGIN).expect("cosigned at least once");
            states.push(head);
            // One or two concurrent requests: mostly a checkpoint a little larger than the
            // witness's state, from either ledger, with the proof that ledger gives from the
            // witness's size; sometimes any checkpoint at all.
            let mut children = Vec::new();
            let mut emitted_now = false;
            for j in 0..=rng.below(2) {
                let near: Vec<&(&str, PathBuf, Checkpoint)> = checkpoints
                    .iter()
                    .filter(|(_, _, cp)| cp.size > head.size && cp.size <= head.size + 3)
                    .collect();
                let (ledger, file, cp) = if !near.is_empty() && rng.below(4) != 0 {
                    near[rng.below(near.len() as u64) as usize]
                } else {
                    &checkpoints[rng.below(checkpoints.len() as u64) as usize]
                };
                let proof = if head.size < cp.size {
                    let p = w.path(&format!("proof-{epoch}-{round}-{j}"));
                    std::fs::write(&p, &proofs[&(*ledger, head.size, cp.size)]).expect("write");
                    Some(p)
                } else {
                    None
                };
                children.push(spawn(file, proof.as_deref(), 1000 + round));
            }
            std::thread::sleep(Duration::from_micros(rng.below(typical * 3 / 2 + 1)));
            for mut child in children {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                if out.status.signal() == Some(9) {
                    killed += 1;
                }
                let Ok(text) = String::from_utf8(out.stdout) else {
                    continue;
                };
                let Ok(note) = Note::parse(&text) else {
                    continue;
                };
                // Only a complete, valid cosignature counts as emitted.
                if let Ok(Some(_)) = verifier.verify(&note) {
                    let cp = Checkpoint::parse(note.text()).expect("checkpoint");
                    emitted.push(RootHash::new(cp.size, cp.root));
                    accepted += 1;
                    emitted_now = true;
                }
            }
            let after = State::parse(&read(&wd.join("state")))
                .unwrap_or_else(|e| panic!("seed {seed} epoch {epoch} round {round}: state: {e}"))
                .latest(ORIGIN)
                .expect("head");
            if after != head && !emitted_now {
                unseen_commits += 1;
            }
        }
        let last = State::parse(&read(&wd.join("state"))).expect("final state");
        let last = last.latest(ORIGIN).expect("head");
        states.push(last);

        // The state never goes back, and every state and every cosigned checkpoint lie on one
        // history: any two, the smaller is proven a prefix of the larger by the larger's ledger.
        for pair in states.windows(2) {
            assert!(pair[0].size <= pair[1].size, "seed {seed}: state went back");
        }
        let all: Vec<RootHash> = emitted.iter().chain(&states).copied().collect();
        for x in &all {
            for y in &all {
                if x.size > y.size {
                    continue;
                }
                if x.size == y.size {
                    assert_eq!(x.hash, y.hash, "seed {seed}: two roots at size {}", x.size);
                    continue;
                }
                let proof = ProofFile::parse(&proofs[&(which(y), x.size, y.size)]).expect("proof");
                x.verify_consistency(y, &proof.proof).unwrap_or_else(|e| {
                    panic!("seed {seed}: cosigned {x:?} and {y:?} contradict: {e}")
                });
            }
        }
        // Whatever was killed, the witness still works.
        let (_, file, _) = checkpoints
            .iter()
            .find(|(_, _, cp)| cp.size == last.size && cp.root == last.hash)
            .expect("the state's checkpoint");
        w.cosign_ok(&wd, file, None, 9999);
        eprintln!(
            "seed {seed} epoch {epoch}: final size {} on {}, typical cosign {typical} µs",
            last.size,
            which(&last)
        );
    }
    eprintln!(
        "seed {seed}: {killed} killed, {accepted} cosigned, {unseen_commits} rounds advanced the state with no cosignature seen"
    );
    assert!(
        killed > 20,
        "seed {seed}: only {killed} processes were killed mid-run"
    );
    assert!(accepted > 2, "seed {seed}: only {accepted} cosigned");
}
