//! The command line documents itself: every command's help carries an example, and the shell
//! completions and man pages are generated from the same command tree that parses.

mod common;

use std::process::Command;

use clap::CommandFactory as _;
use common::{BIN, Out};
use evledger::cli::Cli;

/// Every command a user can run, by its path (`witness cosign`), with its long help.
fn commands(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let p = format!("{path} {}", sub.get_name()).trim().to_owned();
        if sub.has_subcommands() {
            commands(sub, &p, out);
        } else {
            let help = sub
                .get_long_about()
                .or(sub.get_about())
                .map(ToString::to_string)
                .unwrap_or_default();
            out.push((p, help));
        }
    }
}

#[test]
fn every_command_shows_an_example() {
    let mut cmd = Cli::command();
    cmd.build();
    let mut all = Vec::new();
    commands(&cmd, "", &mut all);
    assert!(all.len() > 20, "only {} commands found", all.len());
    let missing: Vec<&str> = all
        .iter()
        .filter(|(path, help)| !help.contains(&format!("Example: evledger {path}")))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "commands whose --help gives no example of themselves: {missing:?}"
    );
}

fn run(args: &[&str], dir: &std::path::Path) -> Out {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run evledger")
        .into()
}

#[test]
fn completions_name_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bash = run(&["completions", "bash"], dir.path());
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    for word in ["verify", "bundle", "countersign", "cosign", "--trust"] {
        assert!(bash.stdout.contains(word), "bash completion lacks {word}");
    }
    let zsh = run(&["completions", "zsh"], dir.path());
    assert_eq!(zsh.code, 0, "{}", zsh.stderr);
    assert!(zsh.stdout.starts_with("#compdef evledger"));
    let bad = run(&["completions", "tcsh"], dir.path());
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("invalid value 'tcsh'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["man", "--out", "man/man1"], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written: Vec<&str> = out.stdout.lines().collect();
    assert!(written.contains(&"man/man1/evledger.1"), "{written:?}");
    assert!(
        written.contains(&"man/man1/evledger-witness-cosign.1"),
        "{written:?}"
    );
    let verify = std::fs::read_to_string(dir.path().join("man/man1/evledger-verify.1"))
        .expect("evledger-verify.1");
    assert!(
        verify.starts_with(".ie") || verify.contains(".TH"),
        "{verify}"
    );
    assert!(verify.contains("evledger\\-verify"), "{verify}");
    assert!(
        verify.contains("buyer.trust.toml"),
        "the page carries the example"
    );
    // Nothing else lies in the directory: no temporary file is left behind.
    let names = std::fs::read_dir(dir.path().join("man/man1"))
        .expect("read dir")
        .count();
    assert_eq!(names, written.len());
}

#[test]
fn man_reports_a_directory_it_cannot_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("file"), b"x").expect("write");
    let out = run(&["man", "--out", "file/man1"], dir.path());
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("file/man1: cannot create the directory"),
        "{}",
        out.stderr
    );
}

/// `-` names standard output for `bundle` and standard input for `verify`.
#[test]
fn a_dash_writes_stdout_and_reads_stdin() {
    use std::io::Write as _;
    let env = common::Env::new();
    env.init();
    env.record(common::INPUT, 1_767_225_600).ok();
    let piped = env
        .cmd(&["bundle", "--all", "--out", "-", "--ledger", common::LEDGER])
        .output()
        .expect("bundle");
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(String::from_utf8_lossy(&piped.stderr).contains("wrote standard output"));
    env.run(&[
        "bundle",
        "--all",
        "--out",
        "b.cbor",
        "--ledger",
        common::LEDGER,
    ])
    .ok();
    let file = std::fs::read(env.path("b.cbor")).expect("b.cbor");
    assert_eq!(piped.stdout, file, "the same bundle either way");
    assert!(!env.path("-").exists(), "no file named -");

    env.run(&[
        "trust",
        "init",
        "--out",
        "t.toml",
        "--ledger",
        common::LEDGER,
    ])
    .ok();
    let verify = |input: &[u8]| -> Out {
        let mut child = env
            .cmd(&["verify", "-", "--trust", "t.toml"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait").into()
    };
    let good = verify(&file);
    assert!(good.stdout.contains("entries"), "{}", good.stdout);
    assert_ne!(good.code, 3, "{}{}", good.stdout, good.stderr);
    let bad = verify(b"not a bundle");
    assert_eq!(bad.code, 3, "{}{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("-: invalid bundle"), "{}", bad.stderr);
}
