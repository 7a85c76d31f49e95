//! The `evledger` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = evledger::cli::Cli::parse();
    match evledger::cli::run(cli) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(e.code);
        }
    }
}
