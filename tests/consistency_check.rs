//! `evledger consistency-check` on consistent, forked and equal-size-different-root pairs of
//! checkpoints, with its exit codes.
#![cfg(feature = "cli")]

mod witnessing;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use witnessing::{ORIGIN, World, b64, checkpoint_of, fails, grow, ok, read, s, trust_file};

#[test]
fn consistency_check_consistent_forked_and_equal_size_pairs() {
    let w = World::new();
    w.init_ledger("B", "log.key", ORIGIN);
    let a = grow(&w, "A", "a", 1, 5, 3);
    let b = grow(&w, "B", "b", 1, 5, 3);
    let key = w.log_vkey.clone();
    let p25 = w.proof("A", 2, 5, "pa25");
    // Consistent, in either order, and with the key from a file or a trust file.
    let out = ok(&[
        "consistency-check",
        s(&a[1]),
        s(&a[4]),
        "--log-key",
        &key,
        "--proof",
        s(&p25),
    ]);
    assert!(out.starts_with("consistent:"), "{out}");
    ok(&[
        "consistency-check",
        s(&a[4]),
        s(&a[1]),
        "--log-key",
        &key,
        "--proof",
        s(&p25),
    ]);
    std::fs::write(w.path("log.vkey"), format!("{key}\n")).expect("write");
    ok(&[
        "consistency-check",
        s(&a[1]),
        s(&a[4]),
        "--log-key",
        s(&w.path("log.vkey")),
        "--proof",
        s(&p25),
    ]);
    let trust = trust_file(&w, "t.toml", 0, &[]);
    ok(&[
        "consistency-check",
        s(&a[1]),
        s(&a[4]),
        "--trust",
        s(&trust),
        "--proof",
        s(&p25),
    ]);
    // Across the fork: the shared prefix is consistent with both branches.
    let pb25 = w.proof("B", 2, 5, "pb25");
    ok(&[
        "consistency-check",
        s(&a[1]),
        s(&b[4]),
        "--log-key",
        &key,
        "--proof",
        s(&pb25),
    ]);
    // Forked, different sizes: A3 against B5, with B's proof from 3.
    let pb35 = w.proof("B", 3, 5, "pb35");
    let (stdout, stderr) = fails(
        1,
        &[
            "consistency-check",
            s(&a[2]),
            s(&b[4]),
            "--log-key",
            &key,
            "--proof",
            s(&pb35),
        ],
    );
    let (a3, b5) = (checkpoint_of(&a[2]), checkpoint_of(&b[4]));
    assert!(
        stdout.contains("the log has shown two histories"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("size 3, root {}", b64(&a3.root))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("size 5, root {}", b64(&b5.root))),
        "{stdout}"
    );
    assert!(
        stderr.contains("keep both signed checkpoint files"),
        "{stderr}"
    );
    // Equal sizes, different roots: conclusive without any proof.
    let (stdout, _) = fails(
        1,
        &["consistency-check", s(&a[3]), s(&b[3]), "--log-key", &key],
    );
    let (a4, b4) = (checkpoint_of(&a[3]), checkpoint_of(&b[3]));
    assert!(
        stdout.starts_with("INCONSISTENT: the log has shown two histories\n"),
        "{stdout}"
    );
    assert!(stdout.contains(&b64(&a4.root)) && stdout.contains(&b64(&b4.root)));
    // A wrong proof (A's own, but from another size) fails; a flipped hash fails.
    let (_, err) = fails(
        1,
        &[
            "consistency-check",
            s(&a[2]),
            s(&a[4]),
            "--log-key",
            &key,
            "--proof",
            s(&p25),
        ],
    );
    assert!(err.contains("the proof is from size 2"), "{err}");
    let p35 = read(&w.proof("A", 3, 5, "pa35"));
    let mut lines: Vec<String> = p35.lines().map(str::to_owned).collect();
    let mut h = BASE64.decode(&lines[1]).expect("b64");
    h[0] ^= 1;
    lines[1] = BASE64.encode(&h);
    std::fs::write(w.path("flipped"), lines.join("\n") + "\n").expect("write");
    let (stdout, _) = fails(
        1,
        &[
            "consistency-check",
            s(&a[2]),
            s(&a[4]),
            "--log-key",
            &key,
            "--proof",
            s(&w.path("flipped")),
        ],
    );
    assert!(stdout.contains("or served a wrong proof"), "{stdout}");
    // A checkpoint not signed by the key fails.
    ok(&["key", "generate", "--out", s(&w.path("other.key"))]);
    w.init_ledger("C", "other.key", ORIGIN);
    let c = grow(&w, "C", "c", 1, 1, 1);
    let (_, err) = fails(
        1,
        &["consistency-check", s(&a[0]), s(&c[0]), "--log-key", &key],
    );
    assert!(
        err.contains("not a checkpoint signed by the log key"),
        "{err}"
    );
    // Usage errors: no key, no proof for different sizes, unreadable file.
    fails(2, &["consistency-check", s(&a[0]), s(&a[1])]);
    let (_, err) = fails(
        2,
        &["consistency-check", s(&a[0]), s(&a[1]), "--log-key", &key],
    );
    assert!(
        err.contains("a consistency proof from size 1 to size 2 is needed"),
        "{err}"
    );
    fails(
        2,
        &[
            "consistency-check",
            s(&a[0]),
            s(&w.path("nope")),
            "--log-key",
            &key,
        ],
    );
}
