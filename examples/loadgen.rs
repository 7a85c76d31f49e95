//! A bounded load generator for `evledger serve`, on loopback only (`BENCHMARKS.md`, "serve").
//!
//! It starts `evledger serve` on a fresh ledger in a temporary directory (or targets a running
//! service on loopback with `--url`), signs `--count` distinct firmware-build statements with
//! the example release engineer's key before it starts the clock, and submits them from
//! `--clients` threads, each over its own keep-alive HTTP/1.1 connection, one request at a time.
//! A registration counts once the service answers 201 (or 200 for a statement already in the
//! log, or 202, the asynchronous form): the service answers only after the group commit, so
//! each counted registration is durable. It stops at `--count` or after `--max-seconds`,
//! whichever comes first, then reads `GET /checkpoint` `--reads` times the same way (there are
//! no tile endpoints yet).
//!
//! It reports registrations per second, p50/p99/max latency to acceptance, the time until the
//! receipt is ready (the 201 carries it; a 202 is polled until it does), checkpoint reads per
//! second, and the CPU time the load generator and the server each used (`/proc/PID/stat`),
//! since both share the machine's cores. With `--instances 2` and `EVLEDGER_STORE` naming an
//! empty PostgreSQL database, it starts two instances on the one ledger and deals the clients
//! to them in turn.
//!
//! ```text
//! cargo build --release --example loadgen
//! target/release/examples/loadgen --count 100000 --clients 64
//! ```

#[path = "../tests/serve_load/client.rs"]
mod client;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use client::{Conn, Server};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, Signer};

/// The example statement every registration carries, with a distinct subject and iat.
const FIRMWARE_TOML: &str = include_str!("facegate/firmware-4.2.0.toml");
/// The key that signs them, admitted for firmware builds by the ledger the generator creates.
const RELEASE_KEY: &str = include_str!("../keys.example/release-engineer.key");
const RELEASE_PUB: &str = include_str!("../keys.example/release-engineer.key.pub");

/// What to run.
struct Args {
    count: usize,
    clients: usize,
    max_seconds: u64,
    reads: usize,
    url: Option<String>,
    server_pid: Option<u32>,
    bin: PathBuf,
    serve_args: Vec<String>,
    instances: usize,
}

const USAGE: &str = "usage: loadgen [--count N] [--clients N] [--max-seconds S] [--reads N] \
[--url http://127.0.0.1:PORT [--server-pid PID]] [--bin PATH/TO/evledger] [--serve-arg ARG]... \
[--instances 1|2 (2: a second instance on the same PostgreSQL ledger, EVLEDGER_STORE)]";

fn parse_args() -> Result<Args, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/release/examples/loadgen -> target/release/evledger
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("evledger"))
        .unwrap_or_else(|| PathBuf::from("evledger"));
    let mut a = Args {
        count: 50_000,
        clients: 64,
        max_seconds: 60,
        reads: 50_000,
        url: None,
        server_pid: None,
        bin,
        serve_args: Vec::new(),
        instances: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--count" => a.count = number(value()?)? as usize,
            "--clients" => a.clients = number(value()?)?.max(1) as usize,
            "--max-seconds" => a.max_seconds = number(value()?)?,
            "--reads" => a.reads = number(value()?)? as usize,
            "--url" => a.url = Some(value()?),
            "--server-pid" => a.server_pid = Some(number(value()?)? as u32),
            "--bin" => a.bin = PathBuf::from(value()?),
            "--serve-arg" => a.serve_args.push(value()?),
            "--instances" => match number(value()?)? {
                n @ 1..=2 => a.instances = n as usize,
                n => return Err(format!("--instances: {n} is not 1 or 2")),
            },
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// The `host:port` of a loopback URL; anything else is refused, so the generator never loads
/// another machine.
fn loopback(url: &str) -> Result<String, String> {
    let hostport = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs on loopback"))?
        .trim_end_matches('/');
    let addr: SocketAddr = hostport.parse().map_err(|_| {
        format!("{url}: give an IP address and port, such as http://127.0.0.1:8080")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{url}: the load generator runs against loopback only"
        ));
    }
    Ok(hostport.to_owned())
}

/// Signs `count` distinct statements on every core; `run` makes them distinct across runs.
fn presign(count: usize, run: u64) -> Vec<Vec<u8>> {
    let evidence =
        Evidence::from_input("firmware-build", FIRMWARE_TOML, InputFormat::Toml).expect("example");
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(RELEASE_KEY).expect("the example key");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let (evidence, key) = (&evidence, &key);
                s.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(|i| {
                            let subject = format!("FaceGate 3D 4.2.0 load {run} unit {i:08}");
                            let signer = Signer {
                                key,
                                issuer: "Aurelis Security Systems",
                                subject: &subject,
                                x5chain: Vec::new(),
                            };
                            Ledger::sign(evidence, &signer, 1_800_000_000 + i as u64)
                                .expect("sign")
                                .statement
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread"))
            .collect()
    })
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// `getconf CLK_TCK`, the unit of `/proc/PID/stat` times (100 on Linux).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// A fresh ledger in `dir` whose policy admits the example release engineer; returns its path.
fn fresh_ledger(bin: &Path, dir: &Path, instances: usize) -> Result<(), String> {
    std::fs::write(dir.join("release.pub"), RELEASE_PUB).map_err(|e| e.to_string())?;
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .env_remove("EVLEDGER_DIR")
            .output()
            .map_err(|e| format!("{}: {e} (build it: cargo build --release)", bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "evledger {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    };
    run(&["init", "--origin", "loadgen.example/log", "--ledger", "L"])?;
    if instances == 2 {
        // The second instance's directory: the same log key, the same PostgreSQL database.
        run(&[
            "init",
            "--origin",
            "loadgen.example/log",
            "--ledger",
            "L2",
            "--log-key",
            "L/log.key",
        ])?;
    }
    run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        "release.pub",
        "--ledger",
        "L",
    ])
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    accepted: Vec<Duration>,
    receipts: Vec<Duration>,
    refused: Vec<(u16, String)>,
    statuses: [usize; 4],
}

/// Submits statements taken from the shared cursor until none are left or the deadline passes.
fn submit(addr: &str, statements: &[Vec<u8>], next: &AtomicUsize, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let mut conn = Conn::connect(addr).expect("connect");
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= statements.len() || Instant::now() >= deadline {
            return t;
        }
        let start = Instant::now();
        let r = conn
            .post_cose("/entries", &statements[i])
            .expect("POST /entries");
        let accepted = start.elapsed();
        match r.status {
            200 | 201 => {
                t.statuses[usize::from(r.status == 201)] += 1;
                t.accepted.push(accepted);
                t.receipts.push(accepted);
            }
            202 | 303 => {
                t.statuses[2] += 1;
                t.accepted.push(accepted);
                let location = r
                    .header("location")
                    .expect("202 with a Location")
                    .to_owned();
                loop {
                    let p = conn.get(&location).expect("GET the 202 location");
                    if p.status == 200 {
                        break;
                    }
                    assert!(
                        matches!(p.status, 202 | 204 | 303 | 404),
                        "polling {location}: {}",
                        p.status
                    );
                    std::thread::yield_now();
                }
                t.receipts.push(start.elapsed());
            }
            s => {
                t.statuses[3] += 1;
                t.refused
                    .push((s, String::from_utf8_lossy(&r.body).into_owned()));
            }
        }
    }
}

/// Reads `GET /checkpoint` until `count` reads were made or the deadline passes.
fn read_checkpoints(addr: &str, count: usize, next: &AtomicUsize, deadline: Instant) -> usize {
    let mut conn = Conn::connect(addr).expect("connect");
    let mut n = 0;
    while next.fetch_add(1, Ordering::Relaxed) < count && Instant::now() < deadline {
        let r = conn.get("/checkpoint").expect("GET /checkpoint");
        assert_eq!(r.status, 200, "GET /checkpoint");
        n += 1;
    }
    n
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let tmp = tempfile::tempdir().expect("temporary directory");
    let (addrs, server_pids, _servers) = match &args.url {
        Some(url) => {
            let addr = loopback(url).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(2);
            });
            (
                vec![addr],
                args.server_pid.into_iter().collect(),
                Vec::new(),
            )
        }
        None => {
            fresh_ledger(&args.bin, tmp.path(), args.instances).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1);
            });
            let serve_args: Vec<&str> = args.serve_args.iter().map(String::as_str).collect();
            let bin = args.bin.to_str().expect("UTF-8 path of evledger");
            let servers: Vec<Server> = ["L", "L2"][..args.instances]
                .iter()
                .map(|dir| Server::start(bin, tmp.path(), dir, &serve_args))
                .collect();
            let addrs = servers.iter().map(|s| s.addr.clone()).collect();
            let pids: Vec<u32> = servers.iter().map(Server::pid).collect();
            (addrs, pids, servers)
        }
    };
    let addr = addrs[0].clone();
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let signing = Instant::now();
    let statements = Arc::new(presign(args.count, run));
    let avg = statements.iter().map(Vec::len).sum::<usize>() / statements.len().max(1);
    eprintln!(
        "signed {} statements ({avg} bytes each) in {:.1} s; submitting from {} clients to {}",
        statements.len(),
        signing.elapsed().as_secs_f64(),
        args.clients,
        addrs.join(" and ")
    );

    let me = std::process::id().to_string();
    let server_pids: Vec<String> = server_pids.iter().map(u32::to_string).collect();
    let server_pid = server_pids.first();
    let cpu = || {
        (
            cpu_time(&me).unwrap_or_default(),
            server_pids
                .iter()
                .filter_map(|p| cpu_time(p))
                .sum::<Duration>(),
        )
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Registrations.
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let next = Arc::new(AtomicUsize::new(0));
    let (cpu0, start) = (cpu(), Instant::now());
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.clients)
            .map(|i| {
                // Clients are dealt to the instances in turn.
                let (addr, statements, next) = (&addrs[i % addrs.len()], &statements, &next);
                s.spawn(move || submit(addr, statements, next, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let (wall, cpu1) = (start.elapsed(), cpu());
    let mut accepted: Vec<Duration> = tallies.iter().flat_map(|t| t.accepted.clone()).collect();
    let mut receipts: Vec<Duration> = tallies.iter().flat_map(|t| t.receipts.clone()).collect();
    accepted.sort();
    receipts.sort();
    let mut statuses = [0; 4];
    for t in &tallies {
        for (s, n) in statuses.iter_mut().zip(t.statuses) {
            *s += n;
        }
    }
    let (gen_cpu, srv_cpu) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let share = |d: Duration| 100.0 * d.as_secs_f64() / (wall.as_secs_f64() * cores as f64);
    println!(
        "registrations: {} accepted in {:.2} s = {:.0}/s ({} clients; 201: {}, 200: {}, 202: {}, refused: {})",
        accepted.len(),
        wall.as_secs_f64(),
        accepted.len() as f64 / wall.as_secs_f64(),
        args.clients,
        statuses[1],
        statuses[0],
        statuses[2],
        statuses[3]
    );
    println!(
        "latency to acceptance: p50 {}, p99 {}, max {}",
        ms(quantile(&accepted, 0.50)),
        ms(quantile(&accepted, 0.99)),
        ms(quantile(&accepted, 1.0))
    );
    println!(
        "time until the receipt is ready: p50 {}, p99 {}, max {}",
        ms(quantile(&receipts, 0.50)),
        ms(quantile(&receipts, 0.99)),
        ms(quantile(&receipts, 1.0))
    );
    println!(
        "CPU during registrations ({cores} cores): load generator {:.2} s ({:.0}% of the machine), server {:.2} s ({:.0}%){}",
        gen_cpu.as_secs_f64(),
        share(gen_cpu),
        srv_cpu.as_secs_f64(),
        share(srv_cpu),
        if server_pid.is_none() {
            " (server CPU unknown: give --server-pid)"
        } else {
            ""
        }
    );
    if let Some((s, body)) = tallies.iter().flat_map(|t| t.refused.first()).next() {
        println!("first refusal: {s} {body}");
    }

    // Checkpoint reads (no tile endpoints yet).
    if args.reads > 0 {
        let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
        let next = AtomicUsize::new(0);
        let (cpu0, start) = (cpu(), Instant::now());
        let reads: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..args.clients)
                .map(|_| {
                    let (addr, next) = (&addr, &next);
                    s.spawn(move || read_checkpoints(addr, args.reads, next, deadline))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("reader")).sum()
        });
        let (wall, cpu1) = (start.elapsed(), cpu());
        println!(
            "checkpoint reads: {reads} in {:.2} s = {:.0}/s (load generator {:.0}%, server {:.0}% of the machine)",
            wall.as_secs_f64(),
            reads as f64 / wall.as_secs_f64(),
            100.0 * (cpu1.0 - cpu0.0).as_secs_f64() / (wall.as_secs_f64() * cores as f64),
            100.0 * (cpu1.1 - cpu0.1).as_secs_f64() / (wall.as_secs_f64() * cores as f64),
        );
    }
}
