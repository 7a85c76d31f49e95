//! The `evledger` command line: argument definitions and one `match` over subcommands.
//!
//! Results (data) go to stdout, messages and progress to stderr, so that
//! `evledger checkpoint > cp.note` and `evledger log --json | jq` work.

mod error;
mod key_cmds;
mod ledger_cmds;

pub use error::CliError;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keep a signed, append-only evidence ledger and prove what is in it.
#[derive(Parser, Debug)]
#[command(name = "evledger", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the ledger lives.
#[derive(Args, Debug, Clone)]
pub struct LedgerDir {
    /// Ledger directory (default: $EVLEDGER_DIR, then ./ledger).
    #[arg(
        long,
        env = "EVLEDGER_DIR",
        default_value = "ledger",
        value_name = "DIR"
    )]
    pub ledger: PathBuf,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a ledger and its log key, and print the log's verifier key.
    Init {
        /// Checkpoint origin, also the log key's name (e.g. example.com/devices/log).
        #[arg(long)]
        origin: String,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Generate or inspect Ed25519 key files.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Validate, sign and append a piece of evidence.
    ///
    /// INPUT is TOML, or JSON if it ends in .json. Prints the entry hash and index.
    /// Example: evledger record firmware-build build.toml --key release.key --issuer "Acme" --subject "FT-3 4.2.1"
    Record {
        /// Evidence kind: firmware-build, lab-result, countersignature, claim or incident.
        kind: String,
        /// Evidence file (TOML or JSON).
        input: PathBuf,
        /// Signer's private key (PKCS#8 PEM, mode 0600).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Signing organisation (CWT iss).
        #[arg(long)]
        issuer: String,
        /// What the entry is about (CWT sub), e.g. the product and version.
        #[arg(long)]
        subject: String,
        /// Signing time (RFC 3339 or Unix seconds; default: now).
        #[arg(long, value_name = "TIME")]
        iat: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Sign a checkpoint over the whole log and print it as a C2SP signed note.
    Checkpoint {
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Print the inclusion proof of an entry.
    Prove {
        /// Entry hash (hex) or index.
        entry: String,
        /// Tree size to prove against (default: the latest checkpoint, else the whole log).
        #[arg(long)]
        size: Option<u64>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Print the consistency proof between two tree sizes.
    Consistency {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// List the entries.
    Log {
        /// Print as a JSON array.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Show one entry with its decoded evidence.
    Show {
        /// Entry hash (hex) or index.
        entry: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Recompute every hash, node, signature and checkpoint from the statements.
    Audit {
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
}

/// Key file subcommands.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate an Ed25519 key: FILE (PKCS#8 PEM, mode 0600) and FILE.pub.
    Generate {
        /// Private key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also print the C2SP signed-note verifier key under this name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print the key id (and with --name the C2SP verifier key) of a private or public key file.
    Show {
        /// Key file (private or public PEM).
        file: PathBuf,
        /// Also print the C2SP signed-note verifier key under this name.
        #[arg(long)]
        name: Option<String>,
    },
}

/// Runs one parsed command line.
///
/// # Errors
/// A [`CliError`] with the message, an optional hint and the exit code.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Init { origin, dir } => ledger_cmds::init(&dir.ledger, &origin),
        Command::Key(KeyCommand::Generate { out, name }) => {
            key_cmds::generate(&out, name.as_deref())
        }
        Command::Key(KeyCommand::Show { file, name }) => key_cmds::show(&file, name.as_deref()),
        Command::Record {
            kind,
            input,
            key,
            issuer,
            subject,
            iat,
            json,
            dir,
        } => ledger_cmds::record(
            &dir.ledger,
            &kind,
            &input,
            &key,
            &issuer,
            &subject,
            iat.as_deref(),
            json,
        ),
        Command::Checkpoint { dir } => ledger_cmds::checkpoint(&dir.ledger),
        Command::Prove {
            entry,
            size,
            json,
            dir,
        } => ledger_cmds::prove(&dir.ledger, &entry, size, json),
        Command::Consistency {
            old,
            new,
            json,
            dir,
        } => ledger_cmds::consistency(&dir.ledger, old, new, json),
        Command::Log { json, dir } => ledger_cmds::log(&dir.ledger, json),
        Command::Show { entry, json, dir } => ledger_cmds::show(&dir.ledger, &entry, json),
        Command::Audit { dir } => ledger_cmds::audit(&dir.ledger),
    }
}

/// Writes a line of results to stdout; a closed pipe (`evledger log | head`) ends the process quietly with success.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}
pub(crate) use outln;
