//! Crash safety: `record` and `checkpoint` processes killed with SIGKILL at random points never
//! leave a half-written entry, never lose an entry whose hash was printed, and never break the
//! ledger for the next writer.
//!
//! The seed is printed; set EVLEDGER_CRASH_SEED to replay a run.

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Env, INPUT, LEDGER};

/// xorshift64*: enough randomness for kill delays, with no extra dependency.
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

const ROUNDS: usize = 200;

#[test]
fn killed_writers_lose_nothing_they_confirmed() {
    let seed = std::env::var("EVLEDGER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("EVLEDGER_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let env = Env::new();
    env.init();
    let mut confirmed: Vec<(String, u64)> = Vec::new();
    let mut iat = 0u64;

    // How long a writer lives depends on the machine (disk sync latency, build profile): time a
    // few unhurried records and spread the kills over twice the slowest, so that some writers
    // die at every stage and some finish.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        iat += 1;
        let began = Instant::now();
        let out = env.record(INPUT, iat);
        slowest = slowest.max(began.elapsed());
        let (hash, index) = out.ok().trim_end().split_once(' ').unwrap();
        confirmed.push((hash.to_owned(), index.parse().unwrap()));
    }
    let window_us = (slowest.as_micros() as u64 * 2).max(2_000);
    eprintln!("slowest calibration record {slowest:?}: kills spread over {window_us} us");

    let start = Instant::now();
    let mut killed = 0;
    let mut finished_in_kill_phase = 0;
    for _ in 0..ROUNDS {
        // Run writers one after another until one is killed.
        loop {
            iat += 1;
            let iat_s = iat.to_string();
            let args = if iat.is_multiple_of(4) {
                vec!["checkpoint", "--ledger", LEDGER]
            } else {
                Env::record_args(INPUT, &iat_s)
            };
            let mut child = env
                .cmd(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_micros(rng.below(window_us));
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if Instant::now() >= deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_micros(200));
            };
            match status {
                Some(status) => {
                    let out = child.wait_with_output().unwrap();
                    let stdout = String::from_utf8(out.stdout).unwrap();
                    assert!(
                        status.success(),
                        "{args:?} failed after earlier kills: {stdout}{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    if args[0] == "record" {
                        let (hash, index) = stdout.trim_end().split_once(' ').unwrap();
                        confirmed.push((hash.to_owned(), index.parse().unwrap()));
                        finished_in_kill_phase += 1;
                    }
                }
                None => {
                    // Child::kill sends SIGKILL on unix: no destructor, no rollback code runs.
                    child.kill().unwrap();
                    let out = child.wait_with_output().unwrap();
                    // Output the process managed to write before dying still counts as a promise.
                    let stdout = String::from_utf8(out.stdout).unwrap();
                    if args[0] == "record"
                        && let Some((hash, index)) = stdout.trim_end().split_once(' ')
                    {
                        confirmed.push((hash.to_owned(), index.parse().unwrap()));
                    }
                    killed += 1;
                    break;
                }
            }
        }
    }
    eprintln!(
        "{killed} kills, {finished_in_kill_phase} records finished between kills, {} confirmed \
         records, {} processes, {:?}",
        confirmed.len(),
        iat,
        start.elapsed()
    );
    assert_eq!(killed, ROUNDS);
    assert!(
        finished_in_kill_phase > 0,
        "no record finished between kills: the kills never let a writer complete"
    );

    // The ledger holds together...
    env.audit_ok();
    // ...every confirmed entry is there, at the index it was given...
    let log = env.log();
    for (hash, index) in &confirmed {
        let out = env.run(&["show", hash, "--json", "--ledger", LEDGER]);
        assert_eq!(out.code, 0, "confirmed entry {hash} is missing: {out:?}");
        assert_eq!(log[*index as usize]["entry_hash"], hash.as_str());
    }
    // ...and nothing else appeared except entries whose confirmation the kill cut off.
    let hashes: HashSet<&str> = log
        .iter()
        .map(|e| e["entry_hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), log.len());
    assert!(log.len() >= confirmed.len());
    assert!(log.len() <= confirmed.len() + killed);
    eprintln!(
        "{} entries, {} of them committed by a process killed before it printed",
        log.len(),
        log.len() - confirmed.len()
    );
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e["index"], i);
    }

    // The next writer after all this works, and so does a checkpoint over everything.
    let out = env.record(INPUT, iat + 1);
    assert_eq!(
        out.ok().split_once(' ').unwrap().1,
        format!("{}\n", log.len())
    );
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    env.audit_ok();
}
