//! Writes that fail closed on a damaged ledger: `evledger checkpoint` never signs a root it did not
//! recompute from the entries appended since the last signed checkpoint, and `record` refuses to
//! extend stored nodes that do not agree with that checkpoint (`specs/store.md`, "Fail-closed
//! writes"). Each test damages a copy of a ledger the way a failing disk or an attacker with
//! write access to the file would: the append-only triggers are dropped on the copy, then one row
//! is changed.

mod common;

use common::{Env, INPUT, LEDGER, Out, entry_hashes, mth, norm};
use evledger::checkpoint;
use evledger::note::NoteVerifier;

/// The damaged copy of the ledger, beside `L` in the test directory.
const COPY: &str = "C";

const AUDIT_HINT: &str = "hint: run `evledger audit` for a full report, and restore the ledger from a backup taken before the damage\n";

/// `init`, `before` entries, a checkpoint if `before > 0`, then `after` more entries.
fn ledger(before: u64, after: u64) -> (Env, NoteVerifier) {
    let env = Env::new();
    let vkey = NoteVerifier::parse(&env.init()).unwrap();
    for i in 0..before {
        env.record(INPUT, 1_000 + i).ok();
    }
    if before > 0 {
        env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    }
    for i in 0..after {
        env.record(INPUT, 2_000 + i).ok();
    }
    (env, vkey)
}

/// Replaces the copy `C` with the files of `L`.
fn fresh_copy(env: &Env) {
    let copy = env.path(COPY);
    if copy.exists() {
        std::fs::remove_dir_all(&copy).unwrap();
    }
    std::fs::create_dir(&copy).unwrap();
    for f in std::fs::read_dir(env.path(LEDGER)).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
    }
}

fn db(env: &Env, dir: &str) -> rusqlite::Connection {
    rusqlite::Connection::open(env.path(dir).join("evledger.db")).unwrap()
}

/// One stored value to damage: `table.column` in the row `key`.
#[derive(Clone, Debug)]
struct Target {
    table: &'static str,
    column: &'static str,
    /// The SQL condition naming the row.
    row: String,
    /// What the refusal must say about it.
    problem: String,
}

/// Flips the lowest bit of the value's last byte (of a text's first byte), in the copy, with the
/// table's update trigger dropped.
fn damage(env: &Env, t: &Target) {
    use rusqlite::types::Value;
    let conn = db(env, COPY);
    let sql = format!("SELECT {} FROM {} WHERE {}", t.column, t.table, t.row);
    let value = match conn.query_row(&sql, [], |r| r.get(0)).unwrap() {
        Value::Blob(mut b) => {
            *b.last_mut().unwrap() ^= 1;
            Value::Blob(b)
        }
        Value::Text(s) => {
            let mut b = s.into_bytes();
            b[0] ^= 1;
            Value::Text(String::from_utf8(b).unwrap())
        }
        other => panic!("{t:?}: {other:?}"),
    };
    conn.execute_batch(&format!("DROP TRIGGER {}_no_update;", t.table))
        .unwrap();
    let changed = conn
        .execute(
            &format!("UPDATE {} SET {} = ?1 WHERE {}", t.table, t.column, t.row),
            [&value],
        )
        .unwrap();
    assert_eq!(changed, 1, "{t:?}");
}

/// Every stored checkpoint row, as stored.
fn checkpoint_rows(env: &Env, dir: &str) -> Vec<(i64, Vec<u8>, String)> {
    let conn = db(env, dir);
    let mut stmt = conn
        .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The complete subtrees of the first `size` leaves, largest first: the stored nodes a tree of
/// that size folds to.
fn frontier(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            out.push((level, start >> level));
            start += 1 << level;
        }
    }
    out
}

/// The rows a checkpoint after `old` entries of `size` depends on: each entry's statement and
/// entry hash, each stored node those entries complete, and each node of the tree at `old` that
/// they extend.
fn rows_since(env: &Env, old: u64, size: u64) -> Vec<Target> {
    let mut targets = Vec::new();
    for idx in old..size {
        for column in ["statement", "entry_hash"] {
            targets.push(Target {
                table: "entries",
                column,
                row: format!("idx = {idx}"),
                problem: format!(
                    "entry {idx}: its statement does not hash to its stored entry hash"
                ),
            });
        }
    }
    let conn = db(env, LEDGER);
    let mut stmt = conn.prepare("SELECT level, idx FROM nodes").unwrap();
    let nodes: Vec<(u32, u64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let base = frontier(old);
    let base_text = base
        .iter()
        .map(|(l, i)| format!("level {l}, index {i}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut completed = 0;
    for (level, idx) in nodes {
        let problem = if base.contains(&(level, idx)) {
            format!(
                "the stored nodes at size {old} ({base_text}) do not fold to the root of the signed checkpoint of size {old}"
            )
        } else if (idx + 1) << level > old {
            completed += 1;
            format!(
                "stored node (level {level}, index {idx}) differs from the one recomputed from the entries"
            )
        } else {
            // Older than the checkpoint and not extended: `audit`'s to recompute.
            continue;
        };
        targets.push(Target {
            table: "nodes",
            column: "hash",
            row: format!("level = {level} AND idx = {idx}"),
            problem,
        });
    }
    // Every node the new entries complete: one per leaf and one per carry.
    let expected: u64 = (old..size).map(|n| 1 + u64::from(n.trailing_ones())).sum();
    assert_eq!(completed, expected);
    targets
}

/// Damages each target in a fresh copy, one at a time, and checks that `checkpoint` refuses,
/// says what is damaged, points to `audit`, and signs nothing.
fn checkpoint_refuses_each(env: &Env, targets: &[Target]) {
    for t in targets {
        fresh_copy(env);
        damage(env, t);
        let before = checkpoint_rows(env, COPY);
        let out: Out = env.run(&["checkpoint", "--ledger", COPY]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (
                3,
                "",
                format!(
                    "error: refusing to sign a checkpoint: the stored log is damaged: {}\n{AUDIT_HINT}",
                    t.problem
                )
                .as_str()
            ),
            "{t:?}"
        );
        assert_eq!(
            checkpoint_rows(env, COPY),
            before,
            "{t:?}: nothing is signed"
        );
        // The same damage is what `audit` reports.
        let audit = env.run(&["audit", "--ledger", COPY]);
        assert_eq!(audit.code, 3, "{t:?}: {audit:?}");
    }
}

/// The undamaged copy signs the root of the independent RFC 9162 computation: the refusals
/// above come from the damage, not from the copy.
fn undamaged_copy_signs(env: &Env, vkey: &NoteVerifier, size: u64) {
    fresh_copy(env);
    let out = env.run(&["checkpoint", "--ledger", COPY]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = checkpoint::verify(&out.stdout, vkey).unwrap();
    let hashes = entry_hashes(&env.log());
    assert_eq!(v.checkpoint().size, size);
    assert_eq!(v.checkpoint().root, mth(&hashes));
}

#[test]
fn checkpoint_refuses_to_sign_over_any_damaged_row_since_the_last_checkpoint() {
    // Checkpoint at 5 (nodes (2,0) and (0,4)), then six entries that complete 11 nodes,
    // among them (1,2) and (3,0), which extend the tree at 5.
    let (env, vkey) = ledger(5, 6);
    let mut targets = rows_since(&env, 5, 11);
    assert_eq!(targets.len(), 6 * 2 + 11 + 2);
    // The last signed checkpoint itself: its stored root, and its signature.
    targets.push(Target {
        table: "checkpoints",
        column: "root",
        row: "size = 5".into(),
        problem: "checkpoint 5: its stored root differs from the root its signed note states"
            .into(),
    });
    targets.push(Target {
        table: "checkpoints",
        column: "note",
        row: "size = 5".into(),
        problem: "checkpoint 5: its note does not verify under any log key of this ledger (checkpoint note: signature by \"example.com/evidence-log\" does not verify)".into(),
    });
    checkpoint_refuses_each(&env, &targets);
    undamaged_copy_signs(&env, &vkey, 11);
}

#[test]
fn without_a_checkpoint_every_row_is_recomputed() {
    let (env, vkey) = ledger(0, 3);
    let targets = rows_since(&env, 0, 3);
    assert_eq!(targets.len(), 3 * 2 + 4);
    checkpoint_refuses_each(&env, &targets);
    undamaged_copy_signs(&env, &vkey, 3);
}

#[test]
fn rows_older_than_the_last_checkpoint_are_audits_job() {
    // Leaf 1 is below the checkpoint at 4 and is not part of the tree the new entry extends:
    // `checkpoint` does not read it, `audit` finds it.
    let (env, vkey) = ledger(4, 1);
    fresh_copy(&env);
    damage(
        &env,
        &Target {
            table: "nodes",
            column: "hash",
            row: "level = 0 AND idx = 1".into(),
            problem: String::new(),
        },
    );
    let out = env.run(&["checkpoint", "--ledger", COPY]);
    let v = checkpoint::verify(&out.stdout, &vkey).unwrap();
    assert_eq!(v.checkpoint().root, mth(&entry_hashes(&env.log())));
    let audit = env.run(&["audit", "--ledger", COPY]);
    assert_eq!(
        (audit.code, audit.stdout.as_str()),
        (3, "FAIL entry 1: stored node (level 0, index 1) differs\n")
    );
}

/// Runs `record` on the copy; returns its output and the number of entries afterwards.
fn record_on_copy(env: &Env, iat: &str) -> (Out, i64) {
    let mut args = Env::record_args(INPUT, iat);
    let n = args.len();
    args[n - 1] = COPY;
    let out = env.run(&args);
    let count = db(env, COPY)
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    (out, count)
}

#[test]
fn record_refuses_to_extend_nodes_that_disagree_with_the_last_checkpoint() {
    let refused = |env: &Env, t: &Target, entries: i64| {
        fresh_copy(env);
        damage(env, t);
        let (out, count) = record_on_copy(env, "3000");
        assert_eq!(
            (out.code, out.stdout.as_str(), norm(&out.stderr).as_str()),
            (
                3,
                "",
                format!(
                    "error: {INPUT}: refusing to append: the stored log is damaged: {}\n{AUDIT_HINT}",
                    t.problem
                )
                .as_str()
            ),
            "{t:?}"
        );
        assert_eq!(count, entries, "{t:?}: nothing is appended");
    };
    let node = |level: u32, idx: u64, problem: &str| Target {
        table: "nodes",
        column: "hash",
        row: format!("level = {level} AND idx = {idx}"),
        problem: problem.to_owned(),
    };

    // At the checkpoint's size: the nodes the append would extend are the checkpoint's.
    let (env, _) = ledger(5, 0);
    let fold = "the stored nodes at size 5 (level 2, index 0; level 0, index 4) do not fold to the root of the signed checkpoint of size 5";
    refused(&env, &node(2, 0, fold), 5);
    refused(&env, &node(0, 4, fold), 5);
    refused(
        &env,
        &Target {
            table: "checkpoints",
            column: "root",
            row: "size = 5".into(),
            problem: "checkpoint 5: its stored root differs from the root its signed note states"
                .into(),
        },
        5,
    );

    // Past it: (3,0) joins the tree at 5 with the nodes after it; the append would extend it.
    let (env, _) = ledger(5, 3);
    refused(
        &env,
        &node(
            3,
            0,
            "the stored nodes at size 8 are not consistent with the signed checkpoint of size 5: consistency proof does not verify: new root at size 8 is <HASH>, proof gives <HASH>",
        ),
        8,
    );
}

#[test]
fn damage_an_append_cannot_see_is_still_never_signed() {
    // Leaf 10 lies wholly after the checkpoint at 5: an append reads it only to hash it into the
    // new nodes (O(log n) per append does not re-hash entries), so `record` succeeds; the
    // checkpoint recomputes leaf 10 from its statement and refuses.
    let (env, _) = ledger(5, 6);
    fresh_copy(&env);
    damage(
        &env,
        &Target {
            table: "nodes",
            column: "hash",
            row: "level = 0 AND idx = 10".into(),
            problem: String::new(),
        },
    );
    let (out, count) = record_on_copy(&env, "3000");
    assert_eq!((out.code, count), (0, 12), "{out:?}");
    let before = checkpoint_rows(&env, COPY);
    let out = env.run(&["checkpoint", "--ledger", COPY]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            3,
            format!("error: refusing to sign a checkpoint: the stored log is damaged: stored node (level 0, index 10) differs from the one recomputed from the entries\n{AUDIT_HINT}").as_str()
        )
    );
    assert_eq!(checkpoint_rows(&env, COPY), before);
}

// ---------------------------------------------------------------------------
// log key files

#[test]
fn checkpoint_says_when_the_log_key_file_is_missing() {
    let env = Env::new();
    env.init();
    env.record(INPUT, 1).ok();
    std::fs::remove_file(env.path("L/log.key")).unwrap();
    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            "error: checkpoint: the log key file L/log.key is missing, so no checkpoint can be signed: restore it from your backup of the ledger\n"
        )
    );
    assert!(checkpoint_rows(&env, LEDGER).is_empty());
}

#[test]
fn checkpoint_says_when_every_log_key_is_retired() {
    let env = Env::new();
    env.init();
    env.record(INPUT, 1).ok();
    std::fs::rename(env.path("L/log.key"), env.path("L/log.key.retired")).unwrap();
    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            "error: checkpoint: no log key file in L: every registered log key has been retired\n"
        )
    );
    assert!(checkpoint_rows(&env, LEDGER).is_empty());
}
