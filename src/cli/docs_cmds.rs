//! `evledger completions SHELL` and `evledger man --out DIR`: shell completions and man pages
//! generated from the same clap command tree that parses the command line.

use std::path::Path;

use clap::CommandFactory as _;

use super::{Cli, CliError, outln};

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "evledger", &mut script);
    let script = String::from_utf8(script)
        .map_err(|_| CliError::new("the generated completion script is not UTF-8"))?;
    outln!("{}", script.trim_end());
    Ok(())
}

/// Writes `evledger.1` and one page per command (`evledger-verify.1`, `evledger-witness-cosign.1`,
/// …) into `out`, creating it; each page appears whole or not at all. Prints the names written.
pub fn man(out: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(out).map_err(|e| {
        CliError::new(format!(
            "{}: cannot create the directory: {e}",
            out.display()
        ))
    })?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = Vec::new();
    render(&cmd, &mut pages)?;
    for (name, page) in &pages {
        let path = out.join(name);
        crate::durable::replace(&path, page)
            .map_err(|e| CliError::new(format!("{}: cannot write: {e}", path.display())))?;
    }
    for (name, _) in &pages {
        outln!("{}", out.join(name).display());
    }
    Ok(())
}

/// Renders `cmd`'s page, named by its display name (the command path joined by '-', which
/// `Command::build` sets), and those of its subcommands, depth first.
fn render(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<(), CliError> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .map_err(|e| CliError::new(format!("rendering the man page of {name}: {e}")))?;
    pages.push((format!("{name}.1"), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() != "help" {
            render(sub, pages)?;
        }
    }
    Ok(())
}
