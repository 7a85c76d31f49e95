//! Helpers shared by the tests that drive the `evledger` binary.
#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use evledger::merkle::{Hash, leaf_hash, node_hash};
use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_evledger");
/// The ledger directory, relative to the test's working directory, so messages are stable.
pub const LEDGER: &str = "L";
/// The checkpoint origin used by the tests.
pub const ORIGIN: &str = "example.com/evidence-log";
/// The example signing key, copied into each test directory with mode 0600.
pub const KEY: &str = "release.key";
/// The example input, copied into each test directory.
pub const INPUT: &str = "fw.toml";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            // None only when killed by a signal; -1 never matches an expected code.
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(o.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        &self.stdout
    }
}

/// A scratch directory with the example key and input in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

/// The crate's source directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The `trust init --role` that pins the example release key ([`KEY`]) for firmware builds.
pub fn release_role() -> String {
    format!(
        "release-engineering=firmware-build:key:{}",
        root()
            .join("keys.example/release-engineer.key.pub")
            .display()
    )
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(KEY);
        std::fs::copy(root().join("keys.example/release-engineer.key"), &key).unwrap();
        chmod(&key, 0o600);
        std::fs::copy(
            root().join("examples/facegate/firmware-4.2.0.toml"),
            dir.path().join(INPUT),
        )
        .unwrap();
        Env { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// A command running in the scratch directory, without the caller's EVLEDGER_DIR or
    /// EVLEDGER_STORE.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("EVLEDGER_DIR")
            .env_remove("EVLEDGER_STORE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.cmd(args).output().unwrap().into()
    }

    /// `evledger init`; returns the verifier key it printed.
    pub fn init(&self) -> String {
        let out = self.run(&["init", "--origin", ORIGIN, "--ledger", LEDGER]);
        out.ok().trim_end().to_owned()
    }

    /// The arguments of `evledger record firmware-build INPUT ... --iat IAT`.
    pub fn record_args<'a>(input: &'a str, iat: &'a str) -> Vec<&'a str> {
        vec![
            "record",
            "firmware-build",
            input,
            "--key",
            KEY,
            "--issuer",
            "Aurelis",
            "--subject",
            "FaceGate 3D 4.2.0",
            "--iat",
            iat,
            "--ledger",
            LEDGER,
        ]
    }

    pub fn record(&self, input: &str, iat: u64) -> Out {
        self.run(&Self::record_args(input, &iat.to_string()))
    }

    /// The entries as `log --json` lists them.
    pub fn log(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["log", "--json", "--ledger", LEDGER]);
        serde_json::from_str::<serde_json::Value>(out.ok())
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Runs `evledger audit` and asserts it passes.
    #[track_caller]
    pub fn audit_ok(&self) -> String {
        let out = self.run(&["audit", "--ledger", LEDGER]);
        assert_eq!(out.code, 0, "audit failed: {out:?}");
        assert!(out.stdout.starts_with("ok: "), "{out:?}");
        out.stdout
    }
}

/// Replaces every run of exactly 64 lower-case hex digits with `<HASH>`.
pub fn norm(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|&&c| hex(c)).count();
        if run == 64 {
            out.push_str("<HASH>");
            i += 64;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

pub fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}

pub fn hash32(b: &[u8]) -> Hash {
    b.try_into().expect("32 bytes")
}

pub fn sha256_hex(b: &[u8]) -> String {
    evledger::hex::encode(&Sha256::digest(b))
}

/// MTH over the entry hashes, straight from the RFC 9162 §2.1.1 recursion (an independent oracle).
pub fn mth(entry_hashes: &[Hash]) -> Hash {
    fn rec(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&rec(&leaves[..k]), &rec(&leaves[k..]))
            }
        }
    }
    let leaves: Vec<Hash> = entry_hashes.iter().map(|h| leaf_hash(h)).collect();
    rec(&leaves)
}

/// The entry hashes listed by `log --json`, in index order.
pub fn entry_hashes(log: &[serde_json::Value]) -> Vec<Hash> {
    log.iter()
        .map(|e| {
            let h = evledger::hex::decode(e["entry_hash"].as_str().unwrap()).unwrap();
            hash32(&h)
        })
        .collect()
}
