//! Helpers for the CLI tests: run `evledger`, make ledgers (forked ones under one log key),
//! checkpoints, proofs and witnesses in a temporary directory.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use evledger::checkpoint::Checkpoint;
use evledger::note::Note;

/// The binary under test.
pub const EVL: &str = env!("CARGO_BIN_EXE_evledger");
/// The origin of the test ledgers (and their log key's name).
pub const ORIGIN: &str = "test.example/log";

/// What a run printed, and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs evledger with `args`.
pub fn evl(args: &[&str]) -> Out {
    let out = Command::new(EVL)
        .args(args)
        .env_remove("EVLEDGER_DIR")
        .output()
        .expect("run evledger");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Runs evledger and insists on success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = evl(args);
    assert_eq!(
        out.code, 0,
        "evledger {args:?} failed:\n{}{}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// Runs evledger and insists on exit code `code`; returns (stdout, stderr).
pub fn fails(code: i32, args: &[&str]) -> (String, String) {
    let out = evl(args);
    assert_eq!(
        out.code, code,
        "evledger {args:?}: expected exit {code}:\n{}{}",
        out.stdout, out.stderr
    );
    (out.stdout, out.stderr)
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A temporary directory with a log key, a release key and helpers over ledgers and witnesses.
pub struct World {
    dir: tempfile::TempDir,
    pub log_vkey: String,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let w = World {
            dir,
            log_vkey: String::new(),
        };
        ok(&["key", "generate", "--out", s(&w.path("log.key"))]);
        ok(&["key", "generate", "--out", s(&w.path("release.key"))]);
        let log_vkey = w.init_ledger("A", "log.key", ORIGIN);
        World { log_vkey, ..w }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Creates a ledger with an existing log key; returns its verifier key.
    pub fn init_ledger(&self, ledger: &str, key: &str, origin: &str) -> String {
        let out = ok(&[
            "init",
            "--origin",
            origin,
            "--log-key",
            s(&self.path(key)),
            "--ledger",
            s(&self.path(ledger)),
        ]);
        out.trim_end().to_owned()
    }

    /// Records a firmware build; statements with equal (subject, iat) are byte-identical, so two
    /// ledgers recording the same calls share a prefix.
    pub fn record(&self, ledger: &str, subject: &str, iat: u64) {
        let input = format!(
            "{}/examples/facegate/firmware-4.2.0.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        ok(&[
            "record",
            "firmware-build",
            &input,
            "--key",
            s(&self.path("release.key")),
            "--issuer",
            "Test Vendor",
            "--subject",
            subject,
            "--iat",
            &iat.to_string(),
            "--ledger",
            s(&self.path(ledger)),
        ]);
    }

    /// Signs a checkpoint and writes it to `name`.
    pub fn checkpoint(&self, ledger: &str, name: &str) -> PathBuf {
        let note = ok(&["checkpoint", "--ledger", s(&self.path(ledger))]);
        let p = self.path(name);
        std::fs::write(&p, note).expect("write checkpoint");
        p
    }

    /// Writes what `evledger consistency OLD NEW` prints to `name`.
    pub fn proof(&self, ledger: &str, old: u64, new: u64, name: &str) -> PathBuf {
        let text = ok(&[
            "consistency",
            &old.to_string(),
            &new.to_string(),
            "--ledger",
            s(&self.path(ledger)),
        ]);
        let p = self.path(name);
        std::fs::write(&p, text).expect("write proof");
        p
    }

    /// Creates a witness state directory; returns it and the witness's verifier key.
    pub fn witness(&self, name: &str) -> (PathBuf, String) {
        let dir = self.path(&format!("witness-{}", name.replace('/', "-")));
        let vkey = ok(&[
            "witness",
            "init",
            "--name",
            name,
            "--log-key",
            &self.log_vkey,
            "--out",
            s(&dir),
        ]);
        (dir, vkey.trim_end().to_owned())
    }

    /// Runs `witness cosign` at time `time`.
    pub fn cosign(&self, w: &Path, cp: &Path, proof: Option<&Path>, time: u64) -> Out {
        let t = time.to_string();
        let mut args = vec!["witness", "cosign", s(cp), "--state", s(w), "--time", &t];
        if let Some(p) = proof {
            args.extend(["--proof", s(p)]);
        }
        evl(&args)
    }

    /// Cosigns and insists on success; returns the cosigned note, also written to `<cp>.<tag>`.
    pub fn cosign_ok(&self, w: &Path, cp: &Path, proof: Option<&Path>, time: u64) -> PathBuf {
        let out = self.cosign(w, cp, proof, time);
        assert_eq!(out.code, 0, "cosign {cp:?}: {}", out.stderr);
        let tag = w.file_name().and_then(|n| n.to_str()).expect("name");
        let p = PathBuf::from(format!("{}.{tag}", cp.display()));
        std::fs::write(&p, out.stdout).expect("write cosigned");
        p
    }
}

/// Reads a text file.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("read")
}

/// The checkpoint in a signed note file.
pub fn checkpoint_of(note_file: &Path) -> Checkpoint {
    let note = Note::parse(&read(note_file)).expect("note");
    Checkpoint::parse(note.text()).expect("checkpoint")
}

/// A root hash as checkpoints write it.
pub fn b64(root: &[u8; 32]) -> String {
    BASE64.encode(root)
}

/// Records entries `from..=to` in `ledger`, signing a checkpoint after each (`<prefix><i>`).
/// Entries before `fork_at` are the same in every ledger; later ones are the ledger's own.
pub fn grow(
    w: &World,
    ledger: &str,
    prefix: &str,
    from: u64,
    to: u64,
    fork_at: u64,
) -> Vec<PathBuf> {
    (from..=to)
        .map(|i| {
            let subject = if i < fork_at {
                format!("s{i}")
            } else {
                format!("{ledger}{i}")
            };
            w.record(ledger, &subject, 1_780_000_000 + i);
            w.checkpoint(ledger, &format!("{prefix}{i}"))
        })
        .collect()
}

/// Writes a trust file for ledger A requiring `quorum` of `witnesses`.
pub fn trust_file(w: &World, name: &str, quorum: usize, witnesses: &[&str]) -> PathBuf {
    let p = w.path(name);
    let role = format!(
        "release-engineering=firmware-build:key:{}",
        s(&w.path("release.key.pub"))
    );
    ok(&[
        "trust",
        "init",
        "--out",
        s(&p),
        "--role",
        &role,
        "--ledger",
        s(&w.path("A")),
    ]);
    let keys: Vec<String> = witnesses.iter().map(|k| format!("{k:?}")).collect();
    let mut text = read(&p);
    text.push_str(&format!(
        "\n[witnesses]\nquorum = {quorum}\nkeys = [{}]\n",
        keys.join(", ")
    ));
    std::fs::write(&p, text).expect("write trust");
    p
}

/// Bundles every entry of ledger A.
pub fn bundle(w: &World, name: &str) -> PathBuf {
    let p = w.path(name);
    ok(&[
        "bundle",
        "--all",
        "--out",
        s(&p),
        "--ledger",
        s(&w.path("A")),
    ]);
    p
}
