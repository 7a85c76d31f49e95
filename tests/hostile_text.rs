//! Signed strings are attacker-chosen: human output escapes control and bidi characters in them,
//! so a bundle or ledger entry cannot clear the terminal and draw a fake report.

mod common;

use common::{Env, INPUT, KEY, LEDGER};

/// Clears the screen, homes the cursor and prints a fake verdict, then reverses the text after it.
const HOSTILE: &str = "Aurelis\u{1b}[2J\u{1b}[H VERIFIED\u{202e}dexif";
const ESCAPED: &str = "Aurelis\\u{1b}[2J\\u{1b}[H VERIFIED\\u{202e}dexif";

/// Whether `s` holds a character that a terminal acts on (other than newline) or that reorders text.
fn raw_controls(s: &str) -> bool {
    s.chars()
        .any(|c| c != '\n' && evledger::terminal::is_unsafe(c))
}

fn ledger_with_hostile_issuer() -> Env {
    let env = Env::new();
    env.init();
    let out = env.run(&[
        "record",
        "firmware-build",
        INPUT,
        "--key",
        KEY,
        "--issuer",
        HOSTILE,
        "--subject",
        "FaceGate\u{9b}2J 4.2.0",
        "--iat",
        "100",
        "--ledger",
        LEDGER,
    ]);
    out.ok();
    env
}

#[test]
fn log_and_show_escape_a_hostile_issuer() {
    let env = ledger_with_hostile_issuer();
    for args in [
        &["log", "--ledger", LEDGER][..],
        &["show", "0", "--ledger", LEDGER][..],
    ] {
        let out = env.run(args);
        let stdout = out.ok();
        assert!(stdout.contains(ESCAPED), "{args:?}: {stdout}");
        assert!(
            stdout.contains("FaceGate\\u{9b}2J 4.2.0"),
            "{args:?}: {stdout}"
        );
        assert!(!raw_controls(stdout), "{args:?}: {stdout:?}");
    }
    // JSON keeps the signed string exactly, escaped as JSON escapes it.
    assert_eq!(env.log()[0]["issuer"], HOSTILE);
}

#[test]
fn verify_text_report_escapes_a_hostile_issuer() {
    let env = ledger_with_hostile_issuer();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    env.run(&["trust", "init", "--out", "t.toml", "--ledger", LEDGER])
        .ok();
    let out = env.run(&["verify", "b.cbor", "--trust", "t.toml"]);
    assert!(out.stdout.contains(ESCAPED), "{out:?}");
    assert!(!raw_controls(&out.stdout), "{:?}", out.stdout);
    assert!(!raw_controls(&out.stderr), "{:?}", out.stderr);
    // The one verdict line is the report's first; the fake one is inert text inside an entry line.
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("VERIFIED"))
            .count(),
        usize::from(out.code == 0),
        "{out:?}"
    );
    let json = env.run(&["verify", "b.cbor", "--trust", "t.toml", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["entries"][0]["issuer"], HOSTILE);
}
