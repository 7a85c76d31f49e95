//! `evledger serve` refuses to sign over a database that lost what a checkpoint it signed or saw
//! covered (`specs/store.md`, "Replication"; `src/serve/last_signed.rs`): here a SQLite ledger
//! restored from a backup older than the last checkpoint.
#![cfg(feature = "serve")]

#[path = "serve_load/client.rs"]
mod client;
mod common;

use client::Server;
use common::{Env, LEDGER};

/// Copies the SQLite database files of the ledger from `from` to `to` (the WAL too, if any).
fn copy_db(env: &Env, from: &str, to: &str) {
    std::fs::create_dir_all(env.path(to)).unwrap();
    for name in ["evledger.db", "evledger.db-wal", "evledger.db-shm"] {
        let src = env.path(from).join(name);
        let dst = env.path(to).join(name);
        if src.exists() {
            std::fs::copy(&src, &dst).unwrap();
        } else {
            let _ = std::fs::remove_file(&dst);
        }
    }
}

#[test]
fn a_ledger_restored_from_an_older_backup_is_not_signed_over() {
    let env = Env::new();
    env.init();
    env.record(common::INPUT, 1).ok();
    // The service records the latest checkpoint it finds (and those it signs).
    let mut server = Server::start(common::BIN, env.dir.path(), LEDGER, &[]);
    server.kill9();
    let recorded = env.path(LEDGER).join("last-signed.checkpoint");
    assert!(
        recorded.exists(),
        "serve kept no record of the last checkpoint"
    );
    copy_db(&env, LEDGER, "backup");

    env.record(common::INPUT, 2).ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    let mut server = Server::start(common::BIN, env.dir.path(), LEDGER, &[]);
    server.kill9();

    // The database goes back to the backup, which lacks the last checkpoint: the service
    // refuses to start rather than sign a tree that forks the log.
    copy_db(&env, "backup", LEDGER);
    let out = env.run(&["serve", "--listen", "127.0.0.1:0", "--ledger", LEDGER]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "refusing to sign checkpoints: the database does not hold the checkpoint of size"
        ) && out.stderr.contains("last-signed.checkpoint")
            && out
                .stderr
                .contains("hint: bring the database forward first"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "it listened: {out:?}");
    // Audit, which signs nothing, still reads the restored ledger.
    env.audit_ok();
}
