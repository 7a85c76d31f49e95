//! `evledger serve` on PostgreSQL while the database restarts (feature `postgres`): in a test
//! binary of its own, since it restarts its cluster under the feet of whatever else uses it.
#![cfg(feature = "postgres")]

mod common;
mod pg_cluster;

use common::{Env, LEDGER, ORIGIN};
use evledger::store::postgres::{SetupRoles, setup};

/// A new database prepared by `setup`; returns (database, service role).
fn prepared(cluster: &pg_cluster::Cluster) -> (String, (), String) {
    let db = cluster.new_database();
    let (owner, service) = (format!("{db}_owner"), format!("{db}_svc"));
    setup(
        &cluster.url(&db),
        &SetupRoles {
            owner: &owner,
            service: &service,
            service_password: None,
        },
    )
    .unwrap();
    (db, (), service)
}

/// A running `evledger serve`, killed when dropped.
struct Serving {
    child: std::process::Child,
    url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env, ledger: &str) -> Serving {
    use std::io::BufRead as _;
    let mut child = env
        .cmd(&["serve", "--listen", "127.0.0.1:0", "--ledger", ledger])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line of serve: {line:?}"))
        .to_owned();
    Serving { child, url: addr }
}

/// Signs the firmware build with the release key at `iat` into `s<iat>.cose`; returns the file.
fn sign(env: &Env, iat: u64) -> String {
    let file = format!("s{iat}.cose");
    env.run(&[
        "sign",
        "firmware-build",
        common::INPUT,
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.0",
        "--iat",
        &iat.to_string(),
        "--out",
        &file,
    ])
    .ok();
    file
}

#[test]
fn the_service_reports_a_database_restart_and_recovers_losing_nothing_acknowledged() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    let vkey = env
        .run(&[
            "init", "--origin", ORIGIN, "--ledger", LEDGER, "--store", &url,
        ])
        .ok()
        .trim_end()
        .to_owned();
    env.write("log.vkey", &format!("{vkey}\n"));
    let public = "release-engineer.key.pub";
    std::fs::copy(
        common::root().join("keys.example").join(public),
        env.path(public),
    )
    .unwrap();
    env.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        public,
        "--ledger",
        LEDGER,
    ])
    .ok();
    let server = serve(&env, LEDGER);
    let submit =
        |file: &str| env.run(&["submit", file, "--to", &server.url, "--log-key", "log.vkey"]);
    let mut acknowledged = Vec::new();
    for iat in 1..=3 {
        let file = sign(&env, iat);
        submit(&file).ok();
        acknowledged.push(file);
    }
    cluster.restart();
    // The first registration after the restart meets the closed connection: an error, not a
    // receipt. The service reconnects for the next one (attempts bounded, never timed).
    let mut failures = Vec::new();
    for iat in 4..=8 {
        let file = sign(&env, iat);
        let mut done = false;
        for _ in 0..5 {
            let out = submit(&file);
            if out.code == 0 {
                done = true;
                break;
            }
            failures.push(out.stderr);
        }
        assert!(done, "no recovery after the restart: {failures:?}");
        acknowledged.push(file);
    }
    assert!(!failures.is_empty(), "the restart went unnoticed");
    drop(server);
    // Every acknowledged statement is in the log exactly once, and the ledger audits clean.
    let log = env.log();
    let hashes: Vec<&str> = log
        .iter()
        .map(|e| e["entry_hash"].as_str().unwrap())
        .collect();
    for file in &acknowledged {
        let h = common::sha256_hex(&std::fs::read(env.path(file)).unwrap());
        assert_eq!(hashes.iter().filter(|x| **x == h).count(), 1, "{file}");
    }
    env.audit_ok();
}
