//! The PostgreSQL store beyond the conformance suite (feature `postgres`): the commands over
//! `--store`, the owner and service roles, history the service role cannot rewrite with SQL of
//! its own, fencing by the sequencing epoch, and `audit` on a restored backup. Each test runs on
//! a new database of one throwaway cluster (`tests/pg_cluster`).
#![cfg(feature = "postgres")]

mod common;
mod pg_cluster;

use common::{Env, LEDGER, ORIGIN};
use evledger::store::postgres::{SetupRoles, schema, setup};
use evledger::store::{PostgresStore, Store, StoreError, StoreRead};

/// A new database prepared by `setup` with roles unique to it; returns (database, owner,
/// service).
fn prepared(cluster: &pg_cluster::Cluster) -> (String, String, String) {
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
    (db, owner, service)
}

#[test]
fn the_commands_run_on_postgres_through_store_and_the_directory_remembers_it() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let db = cluster.new_database();
    let admin = cluster.url(&db);
    let out = env.run(&["store", "setup", "--admin", &admin]);
    // The default role names are cluster-wide: a second run of the suite on one cluster finds
    // them, and only creates the schema.
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("schema evledger owned by evledger_owner"),
        "{out:?}"
    );
    // Preparing it again is refused and says what to do next.
    let again = env.run(&["store", "setup", "--admin", &admin]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("evledger init --store"), "{again:?}");

    let service = cluster.url_as("evledger_service", &db);
    let out = env.run(&[
        "init", "--origin", ORIGIN, "--ledger", LEDGER, "--store", &service,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(env.path(LEDGER).join("store.url")).unwrap(),
        format!("{service}\n")
    );
    assert_eq!(common::mode(&env.path(LEDGER).join("store.url")), 0o600);
    assert!(!env.path(LEDGER).join("evledger.db").exists());
    // Later commands find the database through the directory.
    env.record(common::INPUT, 1).ok();
    env.record(common::INPUT, 2).ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    assert_eq!(env.log().len(), 2);
    env.audit_ok();
    // EVLEDGER_STORE names the same database: fine; another one: refused, with both named.
    let out = env
        .cmd(&["log", "--ledger", LEDGER])
        .env("EVLEDGER_STORE", &service)
        .output()
        .unwrap();
    assert!(out.status.success());
    let other = cluster.url_as("evledger_service", "postgres");
    let out: common::Out = env
        .cmd(&["log", "--ledger", LEDGER])
        .env("EVLEDGER_STORE", &other)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("but L/store.url names"), "{out:?}");
    // A directory without store.url, given --store, reads the same ledger (a second instance's
    // view, or an auditor's).
    let out = env.run(&["audit", "--ledger", "elsewhere", "--store", &service]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ok: "), "{out:?}");
    // A database without a ledger says how to make one.
    let empty = cluster.url(&cluster.new_database());
    let out = env.run(&["log", "--ledger", "nowhere", "--store", &empty]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no ledger at postgresql://postgres@"),
        "{out:?}"
    );
    assert!(out.stderr.contains("evledger init --store URL"), "{out:?}");
    // Only postgres:// URLs name a store.
    let out = env.run(&["log", "--ledger", LEDGER, "--store", "mysql://x"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("only postgres:// URLs name a store"),
        "{out:?}"
    );
}

#[test]
fn a_second_directory_joins_the_ledger_with_its_log_key_and_no_other() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let url = cluster.url(&cluster.new_database());
    env.run(&["init", "--origin", ORIGIN, "--ledger", "A", "--store", &url])
        .ok();
    let key = env.path("A/log.key");
    let key = key.to_str().unwrap();
    let out = env.run(&[
        "init",
        "--origin",
        ORIGIN,
        "--ledger",
        "B",
        "--store",
        &url,
        "--log-key",
        key,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // Another key, or another origin, is another ledger: refused, and nothing is left behind.
    let out = env.run(&["init", "--origin", ORIGIN, "--ledger", "C", "--store", &url]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("already exists"), "{out:?}");
    assert!(!env.path("C/log.key").exists() && !env.path("C/store.url").exists());
}

/// Runs `sql` as `role` on `db`, returning the database's refusal.
fn refused(cluster: &pg_cluster::Cluster, role: &str, db: &str, sql: &str) -> String {
    let mut c = postgres::Client::connect(&cluster.url_as(role, db), postgres::NoTls).unwrap();
    match c.batch_execute(sql) {
        Ok(()) => panic!("{role} was allowed: {sql}"),
        Err(e) => e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
    }
}

#[test]
fn the_service_role_cannot_rewrite_history_with_sql_of_its_own() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let (db, owner, service) = prepared(cluster);
    let info = evledger::store::LedgerInfo {
        origin: ORIGIN.into(),
        log_key: ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key(),
    };
    let svc_url = cluster.url_as(&service, &db);
    let mut ledger = evledger::ledger::Ledger::with_store(
        PostgresStore::create(&svc_url, &info).unwrap(),
        evledger::ledger::LogKeyring::Memory(vec![ed25519_dalek::SigningKey::from_bytes(&[3; 32])]),
    )
    .unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let evidence = evledger::evidence::Evidence::from_input(
        "firmware-build",
        include_str!("../examples/facegate/firmware-4.2.0.toml"),
        evledger::evidence::InputFormat::Toml,
    )
    .unwrap();
    let signer = evledger::ledger::Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    for iat in 0..3 {
        ledger.record(&evidence, &signer, iat).unwrap();
    }
    let cp = ledger.checkpoint().unwrap();
    PostgresStore::open(&svc_url)
        .unwrap()
        .add_cosignatures(
            cp.size,
            &[format!("— witness.example/w {}", "A".repeat(92))],
            10,
        )
        .unwrap();

    for table in ["entries", "nodes", "checkpoints", "cosignatures"] {
        // Without the privilege: UPDATE, DELETE and TRUNCATE.
        for sql in [
            format!("UPDATE evledger.{table} SET {} ", set_clause(table)),
            format!("DELETE FROM evledger.{table}"),
            format!("TRUNCATE evledger.{table} CASCADE"),
        ] {
            let why = refused(cluster, &service, &db, &sql);
            assert!(why.contains("permission denied"), "{sql}: {why}");
        }
        // Not the owner: no ALTER, no disabling or dropping a trigger.
        for sql in [
            format!("ALTER TABLE evledger.{table} DISABLE TRIGGER ALL"),
            format!("ALTER TABLE evledger.{table} DISABLE TRIGGER {table}_append_only"),
            format!("DROP TRIGGER {table}_append_only ON evledger.{table}"),
            format!("ALTER TABLE evledger.{table} OWNER TO {service}"),
        ] {
            let why = refused(cluster, &service, &db, &sql);
            assert!(why.contains("must be owner"), "{sql}: {why}");
        }
        // Even the owner's rights do not reach history: the triggers refuse (here as the
        // superuser, who bypasses every privilege but not a trigger).
        for sql in [
            format!("UPDATE evledger.{table} SET {} ", set_clause(table)),
            format!("DELETE FROM evledger.{table}"),
            format!("TRUNCATE evledger.{table} CASCADE"),
        ] {
            let why = refused(cluster, pg_cluster::SUPERUSER, &db, &sql);
            assert!(why.contains("is append-only"), "{sql}: {why}");
        }
    }
    // Every history table, not only those four: no DELETE or TRUNCATE for the service role, and
    // no TRUNCATE even for the superuser (a statement trigger, which fires on an empty table).
    for table in schema::HISTORY_TABLES {
        for sql in [
            format!("DELETE FROM evledger.{table}"),
            format!("TRUNCATE evledger.{table} CASCADE"),
        ] {
            let why = refused(cluster, &service, &db, &sql);
            assert!(why.contains("permission denied"), "{sql}: {why}");
        }
        let sql = format!("TRUNCATE evledger.{table} CASCADE");
        let why = refused(cluster, pg_cluster::SUPERUSER, &db, &sql);
        assert!(why.contains("is append-only"), "{sql}: {why}");
    }
    // The other ways around a trigger: replacing its function, replica mode, taking the
    // owner's role, making a role.
    for sql in [
        "CREATE OR REPLACE FUNCTION evledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "SET session_replication_role = replica",
        &format!("SET ROLE {owner}"),
        "CREATE ROLE sneaky SUPERUSER",
        "CREATE TABLE evledger.shadow (x int)",
    ] {
        let why = refused(cluster, &service, &db, sql);
        assert!(
            ["must be owner", "permission denied", "must be superuser"]
                .iter()
                .any(|w| why.contains(w)),
            "{sql}: {why}"
        );
    }
    // A second entry at an index, or one skipping ahead, is refused whoever asks.
    let why = refused(
        cluster,
        pg_cluster::SUPERUSER,
        &db,
        "INSERT INTO evledger.entries SELECT idx, sha256(entry_hash), kind, issuer, subject, issued_at, statement, epoch FROM evledger.entries WHERE idx = 0",
    );
    assert!(
        why.contains("next index") || why.contains("duplicate key"),
        "{why}"
    );
    let why = refused(
        cluster,
        &service,
        &db,
        "INSERT INTO evledger.entries SELECT 7, sha256(entry_hash), kind, issuer, subject, issued_at, statement, epoch FROM evledger.entries WHERE idx = 0",
    );
    assert!(why.contains("next index, not at 7"), "{why}");
    // Nothing changed: the ledger still audits clean.
    let report = evledger::audit::audit(&ledger, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(ledger.store().size().unwrap(), 3);
}

/// A SET clause for an UPDATE of `table` that would change history.
fn set_clause(table: &str) -> &'static str {
    match table {
        "entries" => "kind = 'x'",
        "nodes" => "hash = sha256(hash)",
        "checkpoints" => "note = 'x'",
        _ => "line = 'x'",
    }
}

#[test]
fn a_sequencer_whose_epoch_was_overtaken_cannot_append() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    let info = evledger::store::LedgerInfo {
        origin: ORIGIN.into(),
        log_key: ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key(),
    };
    drop(PostgresStore::create(&url, &info).unwrap());
    let entry = |iat: u64| {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let evidence = evledger::evidence::Evidence::from_input(
            "firmware-build",
            include_str!("../examples/facegate/firmware-4.2.0.toml"),
            evledger::evidence::InputFormat::Toml,
        )
        .unwrap();
        let signer = evledger::ledger::Signer {
            key: &key,
            issuer: "Aurelis",
            subject: "FaceGate 3D 4.2.0",
            x5chain: vec![],
        };
        evledger::ledger::new_entry(&evidence, &signer, iat).unwrap()
    };
    let mut old = PostgresStore::open(&url).unwrap();
    old.fence(0);
    old.append_batch(&[entry(1)]).unwrap();
    // Another instance takes the lease: epoch 1.
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE evledger.lease SET epoch = 1")
        .unwrap();
    let err = old.append_batch(&[entry(2)]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("fenced: this sequencer holds epoch 0, the lease is at epoch 1")),
        "{err}"
    );
    // The database refuses an old epoch's insert by itself, whatever the client checks.
    let why = refused(
        cluster,
        &service,
        &db,
        "INSERT INTO evledger.entries SELECT 1, sha256(entry_hash), kind, issuer, subject, issued_at, statement, 0 FROM evledger.entries WHERE idx = 0",
    );
    assert!(
        why.contains("fenced: an append from sequencing epoch 0 while the lease is at epoch 1"),
        "{why}"
    );
    // The epoch never goes back.
    let why = refused(
        cluster,
        &service,
        &db,
        "UPDATE evledger.lease SET epoch = 0",
    );
    assert!(why.contains("never goes back"), "{why}");
    let mut new = PostgresStore::open(&url).unwrap();
    new.fence(1);
    assert_eq!(new.append_batch(&[entry(2)]).unwrap(), vec![1]);
    assert_eq!(new.size().unwrap(), 2);
}

#[test]
fn a_multi_row_insert_is_held_to_the_next_index_row_by_row() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    let info = evledger::store::LedgerInfo {
        origin: ORIGIN.into(),
        log_key: ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key(),
    };
    drop(PostgresStore::create(&url, &info).unwrap());
    // Rows of one statement whose indexes are `idx` (in this order), epoch 0.
    let insert = |idx: &str| {
        format!(
            "INSERT INTO evledger.entries
             SELECT i, sha256(int8send(i)), 'k', 'i', 's', 0, '\\x00', 0
             FROM unnest(ARRAY[{idx}]::bigint[]) WITH ORDINALITY AS u(i, ord) ORDER BY ord"
        )
    };
    // A gap, a repeated index and rows out of order are refused, each as a whole statement:
    // the trigger checks every row against the rows the statement inserted before it.
    for (rows, at) in [("0, 2", 2), ("0, 1, 1", 1), ("1, 0", 1)] {
        let why = refused(cluster, &service, &db, &insert(rows));
        assert!(
            why.contains(&format!(
                "entries must be appended at the next index, not at {at}"
            )),
            "{rows}: {why}"
        );
    }
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let count = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT COUNT(*) FROM evledger.entries", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&mut c), 0);
    // Consecutive indexes from the next one go in together.
    c.batch_execute(&insert("0, 1, 2")).unwrap();
    assert_eq!(count(&mut c), 3);
    let why = refused(cluster, &service, &db, &insert("4, 5"));
    assert!(why.contains("not at 4"), "{why}");
    c.batch_execute(&insert("3, 4")).unwrap();
    assert_eq!(count(&mut c), 5);
}

#[test]
fn a_restored_backup_audits_clean() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    env.run(&[
        "init", "--origin", ORIGIN, "--ledger", LEDGER, "--store", &url,
    ])
    .ok();
    for iat in 1..=5 {
        env.record(common::INPUT, iat).ok();
    }
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    let before = env.audit_ok();
    // pg_dump's custom format, restored into a new database (roles and owners as they were).
    let dump = cluster.dump(&db, &db);
    let restored = cluster.restore(&dump);
    let restored_url = cluster.url_as(&service, &restored);
    let out = env.run(&["audit", "--ledger", "restored", "--store", &restored_url]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, before);
    // The restored copy keeps its guarantees: history is still append-only.
    let why = refused(
        cluster,
        pg_cluster::SUPERUSER,
        &restored,
        "DELETE FROM evledger.entries",
    );
    assert!(why.contains("append-only"), "{why}");
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

#[test]
fn two_service_instances_on_one_database_register_into_one_log() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    let vkey = env
        .run(&["init", "--origin", ORIGIN, "--ledger", "A", "--store", &url])
        .ok()
        .trim_end()
        .to_owned();
    env.write("log.vkey", &format!("{vkey}\n"));
    // The second instance's directory: the same log key, the same database.
    env.run(&[
        "init",
        "--origin",
        ORIGIN,
        "--ledger",
        "B",
        "--store",
        &url,
        "--log-key",
        "A/log.key",
    ])
    .ok();
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
        "A",
    ])
    .ok();
    let (a, b) = (serve(&env, "A"), serve(&env, "B"));
    for (iat, server) in [(1, &a), (2, &b), (3, &a), (4, &b)] {
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
        // A receipt verified under the log key: the entry is in a signed checkpoint.
        let out = env.run(&[
            "submit",
            &file,
            "--to",
            &server.url,
            "--log-key",
            "log.vkey",
        ]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    drop((a, b));
    // One sequencer appended every entry, under one epoch: the other instance handed its
    // registrations over instead of appending them itself.
    let mut su = cluster.superuser(&db);
    let row = su
        .query_one(
            "SELECT count(DISTINCT epoch), min(epoch) FROM evledger.entries",
            &[],
        )
        .unwrap();
    let (epochs, epoch): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(epochs, 1);
    assert!(epoch >= 1, "appended under no lease (epoch {epoch})");
    let log = env.run(&["log", "--json", "--ledger", "A"]);
    let log: Vec<serde_json::Value> = serde_json::from_str(log.ok()).unwrap();
    assert_eq!(log.len(), 4);
    let out = env.run(&["audit", "--ledger", "B"]);
    assert!(out.stdout.starts_with("ok: "), "{out:?}");
}

#[test]
fn the_lease_has_one_holder_and_passes_on_at_expiry_fencing_the_last() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    let info = evledger::store::LedgerInfo {
        origin: ORIGIN.into(),
        log_key: ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key(),
    };
    drop(PostgresStore::create(&url, &info).unwrap());
    let (mut a, mut b) = (
        PostgresStore::open(&url).unwrap(),
        PostgresStore::open(&url).unwrap(),
    );
    let long = std::time::Duration::from_secs(3600);
    assert_eq!(a.take_lease("a", long).unwrap(), Some(1));
    // Held: b waits; a renews under the same epoch.
    assert_eq!(b.take_lease("b", long).unwrap(), None);
    assert_eq!(a.take_lease("a", long).unwrap(), Some(1));
    a.add_log_key(&ed25519_dalek::SigningKey::from_bytes(&[4; 32]).verifying_key())
        .unwrap();
    // a gives the lease up (as when it expires): b takes it, the epoch moves on, and a's next
    // write is fenced out, whatever a still believes.
    a.release_lease("a").unwrap();
    assert_eq!(b.take_lease("b", long).unwrap(), Some(2));
    let err = a
        .add_log_key(&ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key())
        .unwrap_err();
    assert!(err.to_string().contains("fenced"), "{err}");
    // A lease left to expire passes on too (the ttl is zero: it is expired once taken).
    b.release_lease("b").unwrap();
    assert_eq!(
        b.take_lease("b", std::time::Duration::ZERO).unwrap(),
        Some(3)
    );
    assert_eq!(a.take_lease("a", long).unwrap(), Some(4));
    assert_eq!(a.added_log_keys().unwrap().len(), 1);
}

#[test]
fn a_promoted_standby_that_lost_a_signed_checkpoint_is_not_signed_over() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let (db, _, service) = prepared(cluster);
    let url = cluster.url_as(&service, &db);
    env.run(&[
        "init", "--origin", ORIGIN, "--ledger", LEDGER, "--store", &url,
    ])
    .ok();
    env.record(common::INPUT, 1).ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    // The standby's copy: what an asynchronous standby had replayed when the primary failed.
    let dump = cluster.dump(&db, &format!("{db}.standby"));
    // The primary went on: more entries, and a checkpoint the service saw and recorded.
    env.record(common::INPUT, 2).ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    let latest = {
        let mut su = cluster.superuser(&db);
        su.query_one("SELECT max(size) FROM evledger.checkpoints", &[])
            .unwrap()
            .get::<_, i64>(0)
    };
    let record = env.path(LEDGER).join("last-signed.checkpoint");
    let a = serve(&env, LEDGER);
    let recorded = |size: i64| {
        std::fs::read_to_string(&record)
            .is_ok_and(|t| t.lines().nth(1) == Some(size.to_string().as_str()))
    };
    // The event: the sequencer recorded the latest checkpoint when it took the lease.
    let mut polls = 0;
    while !recorded(latest) {
        polls += 1;
        assert!(
            polls < 12_000,
            "serve never recorded the checkpoint of size {latest}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(a);

    // Failover to the standby, which lacks that checkpoint: the service must not sign there.
    let standby = cluster.restore(&dump);
    env.write(
        &format!("{LEDGER}/store.url"),
        &format!("{}\n", cluster.url_as(&service, &standby)),
    );
    let mut child = env
        .cmd(&["serve", "--listen", "127.0.0.1:0", "--ledger", LEDGER])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut polls = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        polls += 1;
        if polls >= 12_000 {
            let _ = child.kill();
            panic!("serve went on over a database that lost a signed checkpoint");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing to sign checkpoints: the database does not hold the checkpoint of size {latest}"
        )) && stderr.contains("event=refused-to-sign"),
        "{stderr}"
    );
    // Nothing was signed on the standby.
    let mut su = cluster.superuser(&standby);
    let max: i64 = su
        .query_one("SELECT max(size) FROM evledger.checkpoints", &[])
        .unwrap()
        .get(0);
    assert!(
        max < latest,
        "a checkpoint of size {max} was signed on the standby"
    );
}
