//! A throwaway PostgreSQL cluster for the tests (feature `postgres`).
//!
//! One cluster per test binary, started on first use: `initdb` into a temporary directory, then
//! the server listening only on a unix socket in that directory (no TCP port to collide on).
//! PostgreSQL refuses to run as root, so under root the server runs as `nobody`, and the
//! directory belongs to it. A watchdog shell, started with the server, stops the server and
//! removes the directory once the test process is gone: a shared cluster lives in a `static`,
//! whose destructor never runs, so the watchdog is the guard that always fires.
//!
//! `initdb`, `postgres`, `pg_dump` and `pg_restore` are looked for in the newest
//! `/usr/lib/postgresql/<version>/bin` (where Debian keeps them), then on `PATH`. Without them a
//! test is skipped with one loud line on stderr, unless `CI=true`, where it fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The running cluster.
pub struct Cluster {
    /// PostgreSQL's binaries.
    pub bin: PathBuf,
    /// Holds the data directory and the socket.
    base: PathBuf,
    /// The unprivileged user the server runs as, if the tests run as root.
    run_as: Option<String>,
    /// The server's watchdog (through `runuser` under root), outliving the tests on purpose:
    /// it stops the server after the test process exits.
    _watchdog: std::process::Child,
}

const PORT: u16 = 5432;
/// The server's settings (`-k SOCKET-DIR` is added): the unix socket only, no TCP.
const OPTIONS: &str =
    "-p 5432 -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200";
/// The cluster's superuser (trust authentication on the socket).
pub const SUPERUSER: &str = "postgres";

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();

/// The shared cluster, or `None` (after one loud line) when PostgreSQL is not installed.
///
/// # Panics
/// When PostgreSQL is missing and `CI=true`, or when the cluster fails to start.
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER.get_or_init(start).as_ref()
}

/// The directory holding `initdb`: the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `program args` as `user` (through `runuser`), or as ourselves.
fn command(run_as: &Option<String>, program: &Path) -> Command {
    match run_as {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn start() -> Option<Cluster> {
    let Some(bin) = find_bin() else {
        let how = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) to run them";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("PostgreSQL is not installed, and CI=true requires the PostgreSQL tests: {how}");
        }
        eprintln!(
            "\n!!!!! SKIPPED: the PostgreSQL store tests found no initdb (in /usr/lib/postgresql/*/bin or on PATH); {how} !!!!!\n"
        );
        return None;
    };
    let run_as = is_root().then(|| "nobody".to_owned());
    let base = tempfile::Builder::new()
        .prefix("evl-pg")
        .tempdir()
        .expect("temporary directory")
        .keep();
    if let Some(user) = &run_as {
        let ok = Command::new("chown")
            .args([&format!("{user}:"), base.to_str().expect("utf-8 temp path")])
            .status()
            .expect("chown");
        assert!(ok.success(), "chown {} to {user}", base.display());
    }
    let data = base.join("data");
    let out = command(&run_as, &bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server (under pg_ctl, which waits until it accepts connections) and its watchdog:
    // when the test process (our pid) is gone, stop the server and remove the directory. fsync
    // is off (a test cluster need not survive a power cut); synchronous_commit stays on, so a
    // server stopped with `-m immediate` keeps every transaction whose COMMIT returned.
    let script = format!(
        r#"
"$0/pg_ctl" start -w -D "$1/data" -l "$1/server.log" -o "{OPTIONS} -k $1" >/dev/null 2>&1 || exit 1
while [ -d /proc/{pid} ]; do sleep 0.5; done
"$0/pg_ctl" stop -m immediate -D "$1/data" >/dev/null 2>&1
rm -rf "$1"
"#,
        pid = std::process::id()
    );
    let watchdog = command(&run_as, Path::new("/bin/sh"))
        .arg("-c")
        .arg(script)
        .arg(&bin)
        .arg(&base)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start postgres");
    let cluster = Cluster {
        bin,
        base,
        run_as,
        _watchdog: watchdog,
    };
    // Wait until it accepts connections (a bound on attempts, not a timing assertion).
    for _ in 0..600 {
        if postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).is_ok() {
            return Some(cluster);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(cluster.base.join("server.log")).unwrap_or_default();
    panic!("the test PostgreSQL server did not start:\n{log}");
}

impl Cluster {
    /// The socket directory, percent-encoded as a URL host.
    fn host(&self) -> String {
        self.base
            .to_str()
            .expect("utf-8 temp path")
            .replace('/', "%2F")
    }

    /// The superuser's URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        self.url_as(SUPERUSER, db)
    }

    /// `user`'s URL of database `db` (trust authentication: no password).
    pub fn url_as(&self, user: &str, db: &str) -> String {
        format!("postgresql://{user}@{}:{PORT}/{db}", self.host())
    }

    /// A new, empty database with a name no other test uses; returns its name.
    pub fn new_database(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.superuser("postgres");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        name
    }

    /// A superuser connection to database `db`.
    pub fn superuser(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls).expect("connect as superuser")
    }

    /// Runs one of PostgreSQL's client programs (`pg_dump`, `pg_restore`) with `args`, as the
    /// server's user, failing the test on a non-zero exit.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = command(&self.run_as, &self.bin.join(program))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Dumps database `db` (`pg_dump -Fc`, as the superuser) to a file named after `name` in
    /// the cluster's directory; returns its path.
    pub fn dump(&self, db: &str, name: &str) -> String {
        let path = self.base.join(format!("{name}.dump"));
        let path = path.to_str().expect("UTF-8 cluster directory").to_owned();
        let host = self.base.to_str().expect("UTF-8 cluster directory");
        self.run(
            "pg_dump",
            &["-h", host, "-U", SUPERUSER, "-Fc", "-f", &path, db],
        );
        path
    }

    /// Restores `dump` (from [`Cluster::dump`]) into a new database, roles and owners as they
    /// were; returns the new database's name.
    pub fn restore(&self, dump: &str) -> String {
        let db = self.new_database();
        let host = self.base.to_str().expect("UTF-8 cluster directory");
        self.run(
            "pg_restore",
            &[
                "-h",
                host,
                "-U",
                SUPERUSER,
                "--exit-on-error",
                "-d",
                &db,
                dump,
            ],
        );
        db
    }

    /// The socket directory (also a directory the server's user may write).
    pub fn dir(&self) -> &Path {
        &self.base
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: for the data, a crash) and starts
    /// it again; returns once it accepts connections.
    pub fn restart(&self) {
        let data = self.base.join("data");
        let ctl = |args: &[&str]| {
            command(&self.run_as, &self.bin.join("pg_ctl"))
                .args(args)
                .arg("-D")
                .arg(&data)
                .output()
                .expect("pg_ctl")
        };
        ctl(&["stop", "-m", "immediate"]);
        let log = self.base.join("server.log");
        let options = format!("{OPTIONS} -k {}", self.base.display());
        let out = ctl(&["start", "-w", "-l", log.to_str().unwrap(), "-o", &options]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
