//! The `evledger` command line: argument definitions and one `match` over subcommands.
//!
//! Results (data) go to stdout, messages and progress to stderr, so that
//! `evledger checkpoint > cp.note` and `evledger log --json | jq` work.

mod bundle_cmds;
#[cfg(feature = "client")]
mod client_cmds;
mod docs_cmds;
mod error;
mod evidence_input;
mod key_cmds;
mod ledger_cmds;
mod register_cmds;
pub mod remember;
#[cfg(feature = "serve")]
mod serve_cmds;
mod sign_cmds;
#[cfg(feature = "sigstore")]
mod sigstore_cmds;
pub mod trust_file;
mod witness_cmds;
#[cfg(feature = "serve")]
mod witness_net_cmds;

pub use error::CliError;

/// The current time in Unix seconds, from the system clock (0 if the clock is before 1970).
///
/// The command line is the one place evledger reads the clock: the library, the verifier above
/// all, takes the time as an input, so that it runs where there is no clock to trust and its
/// answers can be reproduced.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keep a signed, append-only evidence ledger and prove what is in it.
#[derive(Parser, Debug)]
#[command(name = "evledger", version, about, long_about = None)]
pub struct Cli {
    /// The PostgreSQL database the ledger lives in, as a postgres:// URL [default: $EVLEDGER_STORE, then
    /// the ledger directory's store.url, then the SQLite database in the ledger directory].
    #[cfg(feature = "postgres")]
    #[arg(long, global = true, env = "EVLEDGER_STORE", value_name = "URL")]
    pub store: Option<String>,
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

/// The signer's key, time and certificates.
#[derive(Args, Debug, Clone)]
pub struct SigningArgs {
    /// Signer's private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Signing time (RFC 3339 or Unix seconds; default: now).
    #[arg(long, value_name = "TIME")]
    pub iat: Option<String>,
    /// The signer's X.509 certificate (PEM), carried in the statement.
    #[arg(long, value_name = "CERT.pem")]
    pub cert: Option<PathBuf>,
    /// Intermediate certificates (PEM), leaf's issuer first.
    #[arg(long, value_name = "CHAIN.pem", requires = "cert")]
    pub chain: Option<PathBuf>,
}

/// A Sigstore (cosign) signature over one of a firmware build's artifacts, to verify and cite.
///
/// With feature `sigstore` only; without it the struct is empty and a build citing a Sigstore
/// bundle is refused.
#[derive(Args, Debug, Clone, Default)]
pub struct SigstoreRecordArgs {
    /// A Sigstore bundle signing one of the build's artifacts: verified offline first, then
    /// cited by SHA-256 and kept in the ledger (firmware-build only).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "FILE", requires = "trusted_root")]
    pub sigstore_bundle: Option<PathBuf>,
    /// The pinned trusted_root.json to verify the Sigstore bundle (and attestation) against.
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Expected certificate identity (SAN) of the Sigstore signer.
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "ID", requires_all = ["sigstore_bundle", "oidc_issuer"], conflicts_with = "sigstore_key")]
    pub identity: Option<String>,
    /// Expected OIDC issuer URL of the Sigstore signer (--issuer names the signing organisation).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "URL", requires = "identity")]
    pub oidc_issuer: Option<String>,
    /// Managed Sigstore public key (PEM) instead of --identity and --oidc-issuer.
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "PEM", requires = "sigstore_bundle")]
    pub sigstore_key: Option<PathBuf>,
    /// The artifact (by name) the Sigstore bundle signs (default: the one whose SHA-256 the
    /// bundle's message digest names).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "NAME", requires = "sigstore_bundle")]
    pub sigstore_artifact: Option<String>,
    /// A Sigstore bundle with a DSSE in-toto attestation (e.g. SLSA provenance) about one of the
    /// build's artifacts: verified offline first (against --trusted-root), then cited by SHA-256
    /// and kept in the ledger (firmware-build only).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "FILE", requires = "trusted_root")]
    pub attestation: Option<PathBuf>,
    /// Expected certificate identity (SAN) of the attestation's signer (e.g. the build workflow).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "ID", requires_all = ["attestation", "attestation_issuer"], conflicts_with = "attestation_key")]
    pub attestation_identity: Option<String>,
    /// Expected OIDC issuer URL of the attestation's signer.
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "URL", requires = "attestation_identity")]
    pub attestation_issuer: Option<String>,
    /// Managed public key (PEM) of the attestation's signer, instead of its identity and issuer.
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "PEM", requires = "attestation")]
    pub attestation_key: Option<PathBuf>,
    /// The artifact (by name) the attestation is about (default: the first artifact of the
    /// build that is a subject of its statement).
    #[cfg(feature = "sigstore")]
    #[arg(long, value_name = "NAME", requires = "attestation")]
    pub attestation_artifact: Option<String>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a ledger and its log key, and print the log's verifier key.
    ///
    /// Example: evledger init --origin aurelis.example/evidence-log --ledger ledger
    Init {
        /// Checkpoint origin, also the log key's name (e.g. example.com/devices/log).
        #[arg(long)]
        origin: String,
        /// Use this existing private key as the log key instead of generating one (it is copied into the ledger).
        #[arg(long, value_name = "FILE")]
        log_key: Option<PathBuf>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Generate or inspect Ed25519 key files.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Validate, sign and append a piece of evidence.
    ///
    /// INPUT is TOML, or JSON if it ends in .json. Where it gives a document's SHA-256, it may
    /// name the document instead (file = "PATH", relative to INPUT) and the digest is computed
    /// (specs/evidence.md). Prints the entry hash and index.
    ///
    /// Example: evledger record firmware-build build.toml --key release.key --issuer "Acme" --subject "FT-3 4.2.1"
    ///
    /// With --sigstore-bundle (feature `sigstore`), a firmware build also cites a cosign signature
    /// over one of its artifacts: the bundle is verified offline against --trusted-root and
    /// --identity/--oidc-issuer (or --sigstore-key) first, and nothing is recorded if it fails.
    ///
    /// Example: evledger record firmware-build build.toml --key release.key --issuer "Acme" --subject "FT-3 4.2.1" --sigstore-bundle fw.sigstore.json --trusted-root trusted_root.json --identity https://github.com/acme/fw/.github/workflows/release.yml@refs/heads/main --oidc-issuer https://token.actions.githubusercontent.com
    Record {
        /// Evidence kind: firmware-build, lab-result, countersignature, claim, incident, key-event,
        /// accuracy-result, certification, export-classification, export-decision, shipment,
        /// hr-due-diligence, end-use-check or deployment-record.
        kind: String,
        /// Evidence file (TOML or JSON).
        input: PathBuf,
        /// Signing organisation (CWT iss).
        #[arg(long)]
        issuer: String,
        /// What the entry is about (CWT sub), e.g. the product and version.
        #[arg(long)]
        subject: String,
        /// How to sign.
        #[command(flatten)]
        signing: SigningArgs,
        /// A Sigstore signature to verify and cite (feature `sigstore`).
        #[command(flatten)]
        sigstore: SigstoreRecordArgs,
        /// Run every check, citations against the ledger included, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Sign evidence as a statement file, with no ledger: the ledger operator registers it later.
    ///
    /// Validates INPUT as `record` does (TOML, or JSON if it ends in .json; file = "PATH" in a
    /// digest's place is hashed, relative to INPUT), signs it with --key, and writes the
    /// COSE_Sign1 statement to --out, which is never replaced unless --force. Prints the entry
    /// hash (SHA-256 of the statement); with --out -, the statement goes to stdout and the entry
    /// hash to stderr. Without the ledger, the entries the evidence cites and the standing of
    /// the signer key are not checked here: the ledger checks them when it registers the
    /// statement. Signing the same input with the same key, certificates and --iat gives the
    /// same bytes as `record`.
    ///
    /// Example: evledger sign firmware-build build.toml --key release.key --issuer "Acme" --subject "FT-3 4.2.1" --out build.cose
    Sign {
        /// Evidence kind: firmware-build, lab-result, countersignature, claim, incident, key-event,
        /// accuracy-result, certification, export-classification, export-decision, shipment,
        /// hr-due-diligence, end-use-check or deployment-record.
        kind: String,
        /// Evidence file (TOML or JSON).
        input: PathBuf,
        /// Signing organisation (CWT iss).
        #[arg(long)]
        issuer: String,
        /// What the entry is about (CWT sub), e.g. the product and version.
        #[arg(long)]
        subject: String,
        /// How to sign.
        #[command(flatten)]
        signing: SigningArgs,
        /// A Sigstore signature to verify and cite (feature `sigstore`); the vendor then
        /// registers the statement with the bundle as --document.
        #[command(flatten)]
        sigstore: SigstoreRecordArgs,
        /// The statement file to write (binary COSE_Sign1), or - for stdout.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace --out if it already exists.
        #[arg(long)]
        force: bool,
    },
    /// Countersign an entry: endorse it with your own key (and certificate).
    ///
    /// In the ledger's directory, the countersignature is appended directly. A lab or auditor
    /// without access to the vendor's ledger uses --bundle: the vendor's bundle holding the entry
    /// is verified first against --trust (or at least the pinned --log-key), then the
    /// countersignature is written to --out for the vendor to `evledger register`.
    /// With --cert, the statement carries your certificate (COSE x5chain) so that buyers can
    /// check it against the accreditation body's root; the certificate's key must be --key's and
    /// it must be valid at the signing time.
    ///
    /// Example: evledger countersign --bundle lab-result.bundle.cbor 1406d43e... --trust vendor.trust.toml --key lab.key --cert lab-cert.pem --out ibqa-0142.cose
    ///
    /// Example: evledger countersign 1406d43e... --key lab.key --cert lab-cert.pem --statement "Results as issued in report IBQA-PAD-2026-0142"
    Countersign {
        /// The entry to endorse (hash or index).
        entry: String,
        /// What you attest.
        #[arg(long, default_value = "Endorsed as recorded")]
        statement: String,
        /// SHA-256 of the report the entry matches (64 hex digits).
        #[arg(long, value_name = "HEX")]
        report_sha256: Option<String>,
        /// Signing organisation (CWT iss; default: the certificate's subject).
        #[arg(long)]
        issuer: Option<String>,
        /// What the countersignature is about (CWT sub; default: "countersignature of ENTRY").
        #[arg(long)]
        subject: Option<String>,
        /// How to sign.
        #[command(flatten)]
        signing: SigningArgs,
        /// The vendor's bundle holding the entry: verify it, then write the countersignature to
        /// --out instead of appending it (no ledger needed).
        #[arg(long, value_name = "FILE", requires = "out")]
        bundle: Option<PathBuf>,
        /// The vendor's trust file, to verify --bundle with.
        #[arg(
            long,
            value_name = "FILE",
            requires = "bundle",
            conflicts_with = "log_key"
        )]
        trust: Option<PathBuf>,
        /// The vendor log's C2SP verifier key (or a file holding it), to verify --bundle with
        /// when there is no trust file.
        #[arg(long, value_name = "VKEY", requires = "bundle")]
        log_key: Option<String>,
        /// The countersignature statement file to write (with --bundle).
        #[arg(long, value_name = "FILE", requires = "bundle")]
        out: Option<PathBuf>,
        /// Replace --out if it exists.
        #[arg(long, requires = "out")]
        force: bool,
        /// Run every check and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Register statements signed elsewhere: all or nothing, in argument order.
    ///
    /// Each FILE is a COSE_Sign1 statement (what `evledger sign` or `evledger countersign
    /// --bundle` writes), `-` for stdin, or a directory whose files are read in file-name order. A
    /// statement may cite one registered before it in the same call. Every check the buyer's
    /// verifier makes of a statement runs first, inside the transaction that appends: strict
    /// parsing, the payload, the signature, citations, the signer's key events, and the
    /// registration policy (`evledger signer add`). Prints `ENTRY-HASH INDEX` per statement.
    ///
    /// Example: evledger register fw-4210.cose ibqa-0142.cose --document fw.sigstore.json
    Register {
        /// Statement files or directories, in order (`-` for stdin).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// A document a statement cites by SHA-256, kept in the ledger (e.g. a Sigstore bundle); repeatable.
        #[arg(long, value_name = "FILE")]
        document: Vec<PathBuf>,
        /// The pinned trusted_root.json that firmware builds citing a Sigstore bundle are
        /// re-verified against before they are registered (feature `sigstore`); repeatable.
        #[arg(long, value_name = "FILE")]
        trusted_root: Vec<PathBuf>,
        /// Write a receipt for each statement into DIR: the entry with what it cites, proved against
        /// a checkpoint signed now, which its signer checks offline with `evledger verify --receipt`.
        #[arg(long, value_name = "DIR", conflicts_with = "dry_run")]
        receipt: Option<PathBuf>,
        /// Run every check and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Manage the registration policy: which signers may register which kinds.
    #[command(subcommand)]
    Signer(SignerCommand),
    /// Serve the ledger over HTTP as a SCITT transparency service.
    ///
    /// `POST /entries` registers a signed statement (`Content-Type: application/cose`) through
    /// the same checks and registration policy as `evledger register`, and answers `201` with
    /// its RFC 9942 COSE receipt, or `202` with the `Location` to poll when the receipt is not
    /// ready within the registration wait (draft-ietf-scitt-scrapi-11). `POST /documents`
    /// uploads a document a statement cites. Statements and documents are read with a reader's
    /// bearer token unless their kind is public; checkpoints, keys and `/healthz` are public
    /// (specs/service.md). With no arguments it serves ./ledger on 127.0.0.1:8080. The first
    /// line on standard output is `listening on http://ADDR`, with the port bound (port 0 picks
    /// a free one). Runs until SIGTERM or SIGINT, then finishes the requests in flight.
    ///
    /// Example: evledger serve --config serve.toml --listen 127.0.0.1:8080
    #[cfg(feature = "serve")]
    Serve {
        /// The service's configuration file (TOML, specs/service.md); flags override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The address and port to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Ledger directory [default: $EVLEDGER_DIR, then the file's `ledger`, then ./ledger].
        #[arg(long, env = "EVLEDGER_DIR", value_name = "DIR")]
        ledger: Option<PathBuf>,
        /// Milliseconds a registration waits for its receipt before it is answered 202 (0: always
        /// 202) [default: 200].
        #[arg(long, value_name = "MS")]
        registration_wait_ms: Option<u64>,
        /// An evidence kind anyone may read, without a token; repeat for more. Replaces the
        /// file's `public_kinds`.
        #[arg(long = "public-kind", value_name = "KIND")]
        public_kinds: Vec<String>,
        /// The largest uploaded document, in bytes [default: 1048576].
        #[arg(long, value_name = "BYTES")]
        max_document_bytes: Option<usize>,
        /// TLS and the other flags `serve_cmds` defines.
        #[command(flatten)]
        more: serve_cmds::ServeFlags,
    },
    /// Sign a checkpoint over the whole log and print it as a C2SP signed note.
    ///
    /// The note carries the witness cosignatures collected for it. Once the log holds an adverse
    /// entry (a key event, an incident, a superseding claim), the log first appends its adverse
    /// index, so that bundles can show completeness against the checkpoint; --anchor does so even
    /// before. With --cosigned, sign nothing: store the cosignature lines of witness-cosigned
    /// copies of stored checkpoints, then print those checkpoints with every cosignature
    /// collected so far. Every line must be a valid cosignature of that checkpoint by a witness
    /// configured with `evledger witness add`; one that is not refuses every file given, and
    /// nothing is stored.
    ///
    /// Example: evledger checkpoint --ledger ledger > cp.note
    ///
    /// Example: evledger witness cosign cp.note --state w1 > cp.w1 && evledger checkpoint --cosigned cp.w1
    Checkpoint {
        /// A cosigned copy of a stored checkpoint (what `evledger witness cosign` prints); repeatable.
        #[arg(long, value_name = "FILE")]
        cosigned: Vec<PathBuf>,
        /// End the tree with the log's adverse index even if the log holds no adverse entry yet,
        /// as a bundle's checkpoint must: witness this checkpoint and bundles can use it.
        #[arg(long, conflicts_with = "cosigned")]
        anchor: bool,
        /// Ask every configured witness with a URL to cosign the checkpoint (c2sp.org/tlog-witness),
        /// store their cosignatures, and fail unless the witness quorum cosigned it.
        #[cfg(feature = "serve")]
        #[arg(long, conflicts_with = "cosigned")]
        witnesses: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Print the inclusion proof of an entry, or write its RFC 9942 COSE receipt.
    ///
    /// With --cose-receipt, writes instead the entry's COSE receipt of inclusion against the
    /// latest checkpoint, signed by the log key (specs/service.md, "Receipts"): its candidate
    /// entry is the statement's SHA-256, and it signs the root, not the tree size.
    ///
    /// Example: evledger prove 3f9c2d8e... --size 8 --json
    ///
    /// Example: evledger prove 3f9c2d8e... --cose-receipt entry.receipt.cose
    Prove {
        /// Entry hash (hex) or index.
        entry: String,
        /// Tree size to prove against (default: the latest checkpoint, else the whole log).
        #[arg(long, conflicts_with = "cose_receipt")]
        size: Option<u64>,
        /// Print as JSON.
        #[arg(long, conflicts_with = "cose_receipt")]
        json: bool,
        /// Write the entry's RFC 9942 COSE receipt (against the latest checkpoint) to FILE, or to
        /// standard output with `-`, instead of printing the proof.
        #[arg(long, value_name = "FILE")]
        cose_receipt: Option<PathBuf>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Print the consistency proof between two tree sizes.
    ///
    /// Example: evledger consistency 4 8 > proof.txt
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
    /// Check that two signed checkpoints of a log describe one history.
    ///
    /// Verifies both notes under the log key, then: equal sizes must have equal roots; different
    /// sizes need --proof, the consistency proof from the smaller to the larger (what
    /// `evledger consistency OLD NEW` prints). If they are not consistent, prints both (size, root)
    /// as evidence that the log has shown two histories.
    /// Exit codes: 0 consistent, 1 inconsistent or a note does not verify, 2 usage error.
    ///
    /// Example: evledger consistency-check old.note new.note --proof proof.txt --trust buyer.trust.toml
    #[command(group(clap::ArgGroup::new("key").required(true).args(["log_key", "trust"])))]
    ConsistencyCheck {
        /// A signed checkpoint note file.
        a: PathBuf,
        /// Another signed checkpoint note file of the same log.
        b: PathBuf,
        /// The log's C2SP verifier key (or a file holding it).
        #[arg(long, value_name = "VKEY")]
        log_key: Option<String>,
        /// A trust file whose pinned log keys to use.
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// The consistency proof from the smaller checkpoint to the larger.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
    },
    /// Run a witness (init, cosign), or configure the ledger's witnesses (add, list).
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// List the entries.
    ///
    /// Example: evledger log --json | jq '.[] | .kind'
    Log {
        /// Print as a JSON array.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Show one entry with its decoded evidence.
    ///
    /// Example: evledger show 5
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
    /// Export selected entries with proofs as a self-contained bundle.cbor.
    ///
    /// A selection is closed under evidence: what a selected entry cites, the countersignatures
    /// of selected entries, the incidents citing selected builds, and the key events about the
    /// selected entries' signer keys are included, transitively.
    ///
    /// Example: evledger bundle --claim 3f9c2d8e... --out claim.bundle.cbor
    Bundle {
        /// Output file (- for standard output).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Bundle every entry.
        #[arg(long, conflicts_with_all = ["entry", "claim", "export_decision", "deployment"])]
        all: bool,
        /// An entry (hash or index) to include with its closure; repeatable.
        #[arg(long, value_name = "ENTRY")]
        entry: Vec<String>,
        /// A claim entry to include with everything behind it; repeatable.
        #[arg(long, value_name = "ENTRY")]
        claim: Vec<String>,
        /// An export decision to audit: every record of it, its shipments and end-use checks, the
        /// classifications of its builds and the due diligence of its end user; repeatable.
        #[arg(long, value_name = "ENTRY")]
        export_decision: Vec<String>,
        /// A deployment record to audit, with its build; repeatable.
        #[arg(long, value_name = "ENTRY")]
        deployment: Vec<String>,
        /// A document to attach, cited by SHA-256; repeatable.
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// An earlier checkpoint (signed note file) to prove consistency from.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        since: Option<PathBuf>,
        /// Download the bundle from the transparency service at URL (GET /bundle) instead of
        /// building it from a ledger directory; --ledger is not used.
        #[cfg(feature = "client")]
        #[arg(long, value_name = "URL", conflicts_with = "attach")]
        from: Option<String>,
        /// With --from: verify the downloaded bundle against this trust file before writing it;
        /// if it does not verify, nothing is written and the exit code is `verify`'s.
        #[cfg(feature = "client")]
        #[arg(long, value_name = "FILE", requires = "from")]
        trust: Option<PathBuf>,
        /// With --from: the reader's bearer token.
        #[cfg(feature = "client")]
        #[arg(long, value_name = "TOKEN", env = "EVLEDGER_TOKEN", requires = "from")]
        token: Option<String>,
        /// With --from: check an https:// service's certificate under the PEM CA certificate(s) of FILE alone,
        /// instead of the system's trusted roots: for a service whose certificate a private CA
        /// issued.
        #[cfg(feature = "client")]
        #[arg(long, value_name = "FILE", requires = "from")]
        ca: Option<PathBuf>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Register signed statements with a transparency service and check their receipts.
    ///
    /// Each FILE (- for standard input) is sent as `POST URL/entries`; the service answers with
    /// an RFC 9942 receipt (201), or a location to poll until it is ready (303), which is
    /// followed with backoff. The receipt is verified against the statement under the log key
    /// before it is reported or written. A statement the service refuses is reported with the
    /// service's problem details, and the others are still sent; an unreachable service stops
    /// the run. Exit 0 only if every statement was registered and its receipt verified.
    ///
    /// Example: evledger submit fw.cose --to http://127.0.0.1:8080 --log-key log.vkey --receipt receipts
    #[cfg(feature = "client")]
    #[command(group(clap::ArgGroup::new("keys").required(true).multiple(true).args(["log_key", "trust"])))]
    Submit {
        /// Signed statement files (`evledger sign --out`); - for standard input.
        #[arg(required = true, value_name = "FILE.cose")]
        files: Vec<PathBuf>,
        /// The service's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Write each verified receipt to DIR/<entry-hash>.receipt.cose (created if needed).
        #[arg(long, value_name = "DIR")]
        receipt: Option<PathBuf>,
        /// A bearer token, sent as `Authorization: Bearer TOKEN`.
        #[arg(long, value_name = "TOKEN", env = "EVLEDGER_TOKEN")]
        token: Option<String>,
        /// The log's C2SP verifier key (or a file holding it), to verify receipts; repeatable.
        #[arg(long, value_name = "VKEY")]
        log_key: Vec<String>,
        /// A trust file whose pinned log keys verify receipts.
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// Check an https:// service's certificate under the PEM CA certificate(s) of FILE alone,
        /// instead of the system's trusted roots: for a service whose certificate a private CA
        /// issued.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Follow a transparency log: check each new checkpoint extends the last one seen, list new
    /// entries, and flag entries signed by watched keys and adverse entries.
    ///
    /// Reads `URL/checkpoint`, the C2SP tlog-tiles entry bundles and hash tiles, and each new
    /// entry's statement (`URL/entries/HASH/statement`, with --token where the service requires
    /// a reader). The first run pins --log-key in DIR and checks every entry from the start;
    /// each later run checks that the new checkpoint's tree extends the last one by recomputing
    /// it from the new entries. The state in DIR is replaced atomically, only after a run has
    /// checked everything. Output: a `checkpoint` line, an `entry` line per new entry, and a
    /// `FLAG watched-key` or `FLAG adverse` line per flag.
    ///
    /// Exit codes: 0 followed, 1 failed (unreachable service, tiles or statements not
    /// matching; state unchanged), 2 usage or state directory error, 3 the log has forked.
    ///
    /// Example: evledger monitor http://127.0.0.1:8080 --state monitor --log-key log.vkey --watch-key lab.pub
    #[cfg(feature = "client")]
    Monitor {
        /// The service's base URL.
        url: String,
        /// The state directory (created on the first run).
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The log's C2SP verifier key (or a file holding it): required on the first run, and
        /// must match the pinned key afterwards.
        #[arg(long, value_name = "VKEY")]
        log_key: Option<String>,
        /// A signer key to flag entries of: a public key file (PEM) or a key id (64 hex
        /// digits); repeatable.
        #[arg(long, value_name = "VKEY")]
        watch_key: Vec<String>,
        /// A reader's bearer token, to read statements.
        #[arg(long, value_name = "TOKEN", env = "EVLEDGER_TOKEN")]
        token: Option<String>,
        /// Check an https:// service's certificate under the PEM CA certificate(s) of FILE alone,
        /// instead of the system's trusted roots: for a service whose certificate a private CA
        /// issued.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Verify a bundle offline against a trust file; exit 0 only if everything verified.
    ///
    /// Every assertion of every claim, and every claim's wording, must be judged by a rule of
    /// the trust file's profiles: what no rule judges fails as "not judged" (exit 4), and so does
    /// a trust file that names no profile, unless you ask for --integrity-only.
    ///
    /// Exit codes: 0 verified, 1 verification failed, 2 unusable trust file or usage error,
    /// 3 invalid bundle, 4 policy not met (including "not judged").
    ///
    /// Example: evledger verify claim.bundle.cbor --trust buyer.trust.toml
    ///
    /// Example: evledger verify fw-4210.cose.receipt.cbor --receipt --trust vendor.trust.toml
    Verify {
        /// The bundle file (- for standard input).
        file: PathBuf,
        /// The trust file (TOML).
        #[arg(long, value_name = "FILE")]
        trust: PathBuf,
        /// Print the report as JSON (schema in specs/verification.md).
        #[arg(long)]
        json: bool,
        /// Remember verified checkpoints in DIR; later bundles from the same log must prove they
        /// extend the newest one remembered (`evledger bundle --since`), or verification fails.
        #[arg(long, value_name = "DIR")]
        remember: Option<PathBuf>,
        /// FILE is a registration receipt (`evledger register --receipt`): check that its
        /// statements are in the log, signed and resolvable, without judging policy.
        #[arg(long)]
        receipt: bool,
        /// Check only signatures, proofs, roles and references, and judge no claim: the trust
        /// file's profiles are not applied, the report says so at the top, and exit 0 means
        /// exactly that. Without it, claims no rule judges fail as "not judged" (exit 4).
        #[arg(long)]
        integrity_only: bool,
        /// A file you hold (firmware image, datasheet, report): check that it is a firmware
        /// build artifact or a document that a verified entry of the bundle describes, by
        /// SHA-256 and, for firmware artifacts, size. Repeat for several files.
        #[arg(long, value_name = "FILE")]
        artifact: Vec<PathBuf>,
        /// Verify as at this time (Unix seconds or RFC 3339) instead of the system clock's: the
        /// time checks that compare a signed time with the present use it.
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
        /// Also write the report as one self-contained, printable HTML file, to file (- for
        /// standard output, in place of the text report).
        ///
        /// The file holds the verdict, each claim in plain words with the evidence behind it,
        /// every check, the SHA-256 of the bundle, the trust file and each profile, the
        /// checkpoint and its witnesses' cosignature times, the tool's version, the verification
        /// time, and what the verdict does and does not mean. It is replaced atomically: a
        /// failed write leaves no partial file. `--html -` cannot be combined with --json.
        ///
        /// Example: evledger verify claim.bundle.cbor --trust buyer.trust.toml --html report.html
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Rotate the log key: add a successor (checkpoints are then signed by both), later retire the old one.
    #[command(subcommand)]
    LogKey(LogKeyCommand),
    /// Trust file tools.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Verify Sigstore (cosign) bundles offline.
    #[cfg(feature = "sigstore")]
    #[command(subcommand)]
    Sigstore(SigstoreCommand),
    /// Recompute every hash, node, signature and checkpoint from the statements.
    ///
    /// Example: evledger audit --ledger ledger
    Audit {
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Print a shell completion script on stdout.
    ///
    /// Example: evledger completions bash > ~/.local/share/bash-completion/completions/evledger
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages: evledger.1 and one per command (evledger-verify.1, …).
    ///
    /// Example: evledger man --out /usr/local/share/man/man1
    Man {
        /// The directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Prepare a PostgreSQL database for ledgers (roles, schema, privileges).
    #[cfg(feature = "postgres")]
    #[command(subcommand)]
    Store(StoreCommand),
}

/// Log key rotation subcommands.
#[derive(Subcommand, Debug)]
pub enum LogKeyCommand {
    /// Register a new log key; from now on checkpoints carry signatures by the old and the new key.
    ///
    /// Example: evledger log-key add --key log-2027.key
    Add {
        /// The new log key's private key file (PKCS#8 PEM, mode 0600); it is copied into the ledger.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Stop signing with a log key (its key file in the ledger is renamed to *.retired).
    ///
    /// Example: evledger log-key retire log-2026.pub
    Retire {
        /// The log key to retire (private or public key file).
        key: PathBuf,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
}

/// Registration policy subcommands.
#[derive(Subcommand, Debug)]
pub enum SignerCommand {
    /// Admit a signer to register statements of the given kinds.
    ///
    /// With --key, statements signed by that Ed25519 key (pinned by its key id); with
    /// --x509-root, statements whose certificate chain (COSE x5chain) leads to that root and is
    /// valid at the statement's signing time. Keys that a key event introduces or rotates to
    /// take the kinds of the key that signed the event.
    ///
    /// Example: evledger signer add --kinds lab-result,countersignature --x509-root accreditation-root.pem
    Add {
        /// Evidence kinds, comma-separated.
        #[arg(long, required = true, value_delimiter = ',', value_name = "KIND,...")]
        kinds: Vec<String>,
        /// The signer's public (or private) key file.
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "x509_root",
            required_unless_present = "x509_root"
        )]
        key: Option<PathBuf>,
        /// A root certificate (PEM) the signers' chains lead to.
        #[arg(long, value_name = "ROOT.pem")]
        x509_root: Option<PathBuf>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// List the registration policy.
    ///
    /// Example: evledger signer list --json
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
}

/// Sigstore subcommands.
#[cfg(feature = "sigstore")]
#[derive(Subcommand, Debug)]
pub enum SigstoreCommand {
    /// Verify a Sigstore bundle over an artifact offline, transparency-log evidence included.
    ///
    /// Exit codes: 0 verified, 1 verification failed, 3 invalid bundle or trusted root.
    ///
    /// Example: evledger sigstore verify --bundle fw.sigstore.json --artifact fw.bin --trusted-root trusted_root.json --identity https://github.com/acme/fw/.github/workflows/release.yml@refs/heads/main --issuer https://token.actions.githubusercontent.com
    Verify {
        /// The Sigstore bundle (JSON).
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The signed artifact.
        #[arg(long, value_name = "FILE")]
        artifact: PathBuf,
        /// The pinned trusted_root.json.
        #[arg(long, value_name = "FILE")]
        trusted_root: PathBuf,
        /// Expected certificate identity (SAN).
        #[arg(long, requires = "issuer", conflicts_with = "key")]
        identity: Option<String>,
        /// Expected OIDC issuer URL.
        #[arg(long, requires = "identity")]
        issuer: Option<String>,
        /// Managed public key (PEM) instead of an identity.
        #[arg(long, value_name = "PEM", required_unless_present = "identity")]
        key: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Trust file subcommands.
#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Write a starting trust file from a ledger: its log key, the roles given with --role, and
    /// the signers the ledger holds as comments (never as roles).
    ///
    /// Example: evledger trust init --out buyer.trust.toml --profile pad-ibeta-level2.toml --role lab=countersignature:x509-root:accreditation-root.pem
    Init {
        /// Trust file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A policy profile to name in the file (relative to it); repeatable.
        #[arg(long, value_name = "FILE")]
        profile: Vec<String>,
        /// A role to pin, NAME=KIND[,KIND…]:SIGNER with SIGNER kid:HEX (a signer key the ledger
        /// holds), key:FILE.pub or x509-root:ROOT.pem; repeatable (the same NAME again adds a
        /// signer). Example: --role lab=countersignature:key:lab.pub
        #[arg(long, value_name = "NAME=KINDS:SIGNER")]
        role: Vec<crate::ledger::trust_init::RoleArg>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Write a self-contained copy of a trust file: the profiles, X.509 roots and Sigstore
    /// trusted roots it names are carried in it (`[[files]]`, each with its SHA-256), so that it
    /// verifies alone, in the verifier page or anywhere else.
    ///
    /// Example: evledger trust pack keys/buyer.trust.toml --out buyer.packed.trust.toml
    Pack {
        /// The trust file to pack (the files it names are read relative to it).
        trust: PathBuf,
        /// The packed trust file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Witness subcommands.
#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Create a witness state directory and print the witness's cosignature verifier key.
    ///
    /// DIR receives the witness key (witness.key, mode 0600), the watched log's verifier key and
    /// an empty state. Buyers pin the printed key in the witnesses table of their trust file.
    ///
    /// Example: evledger witness init --name witness.example/w1 --log-key "$(cat log.vkey)" --out w1
    Init {
        /// The witness's name (a C2SP key name, e.g. witness.example/w1).
        #[arg(long)]
        name: String,
        /// The C2SP verifier key of the log to watch (or a file holding it).
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// The state directory to create (absent or empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Use this existing private key instead of generating one (it is copied into DIR).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Configure a witness on the ledger: its cosignatures may then be stored.
    ///
    /// The ledger operator's command (it needs --ledger). `evledger checkpoint --cosigned` stores
    /// only cosignatures that verify under a configured witness's key. VKEY is the cosignature key
    /// `evledger witness init` printed, or a file holding it. A name or a key already configured
    /// is refused; a witness is never removed (the table is append-only).
    ///
    /// Example: evledger witness add "$(cat w1/witness.vkey)" --url https://w1.example --ledger ledger
    Add {
        /// The witness's cosignature verifier key (<name>+<key id>+<key>) or a file holding it.
        vkey: String,
        /// Where the witness can be asked for cosignatures (https:// or http://).
        #[arg(long)]
        url: Option<String>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// List the witnesses configured on the ledger, in the order added.
    ///
    /// One line each: the cosignature verifier key, then the URL if one was given.
    ///
    /// Example: evledger witness list --ledger ledger
    List {
        /// Print as a JSON array of {name, vkey, url}.
        #[arg(long)]
        json: bool,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Serve this witness over HTTP: c2sp.org/tlog-witness `POST /add-checkpoint`.
    ///
    /// The body is `old N`, the consistency proof lines, an empty line and the signed checkpoint;
    /// the checks and the crash-safe state are those of `evledger witness cosign`. Answers 200
    /// with the cosignature line, 409 (`text/x.tlog.size`) with the size last cosigned when the
    /// old size is not it, 404 for a log it does not watch, 403 for a bad log signature, 422 for
    /// a proof that does not verify, 400 for a malformed body (specs/witness.md §7). The first
    /// line on standard output is `listening on http://ADDR` (`https://` with --tls-cert and
    /// --tls-key). Runs until stopped.
    ///
    /// Example: evledger witness serve --state w1 --listen 127.0.0.1:7380
    #[cfg(feature = "serve")]
    Serve {
        /// The witness state directory (made by `evledger witness init`).
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The address and port to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7380")]
        listen: std::net::SocketAddr,
        /// Serve HTTPS with this PEM certificate chain (the witness's certificate first); needs
        /// --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of the --tls-cert certificate.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Show or raise how many configured witnesses must cosign a checkpoint before it is published.
    ///
    /// With a quorum N > 0, bundles, receipts and `GET /checkpoint` use only checkpoints that
    /// carry cosignatures of at least N distinct configured witnesses (`evledger checkpoint
    /// --witnesses` or `--cosigned` collect them). The quorum never decreases and is at most the
    /// number of configured witnesses; each setting is kept (specs/witness.md §8). Without N,
    /// prints the current quorum.
    ///
    /// Example: evledger witness quorum 2 --ledger ledger
    Quorum {
        /// The new quorum.
        quorum: Option<u64>,
        /// The ledger directory.
        #[command(flatten)]
        dir: LedgerDir,
    },
    /// Cosign a checkpoint of the watched log if it extends the last one cosigned, and print it.
    ///
    /// Verifies the log's signature, then checks the checkpoint against the last one this
    /// witness cosigned for the origin: the same size needs the same root; a larger size needs
    /// --proof from the last cosigned size (`evledger consistency LAST NEW` prints it); a smaller
    /// size is refused. The new size and root are recorded durably before anything is printed.
    /// Prints the note with a cosignature/v1 line appended.
    ///
    /// Example: evledger witness cosign cp.note --proof proof.txt --state w1 > cp.cosigned
    Cosign {
        /// The signed checkpoint note file.
        checkpoint: PathBuf,
        /// The consistency proof from the last cosigned size to this checkpoint's size.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// The witness state directory.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// Cosignature timestamp, Unix seconds (default: now).
        #[arg(long, value_name = "UNIX")]
        time: Option<u64>,
    },
}

/// PostgreSQL store subcommands.
#[cfg(feature = "postgres")]
#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Create the owner and service roles and the evledger schema, as a superuser.
    ///
    /// The owner role owns the schema, its tables and triggers, and cannot log in; the service
    /// role, which `evledger serve` and the other commands connect as, owns nothing and may
    /// only read, insert history and take the sequencing lease: no UPDATE or DELETE of history,
    /// no TRUNCATE, no ALTER, no disabling a trigger (specs/store.md, "Roles"). Then create the
    /// ledger as the service role with `evledger init --store URL`.
    ///
    /// Example: evledger store setup --admin postgres://postgres@db.internal/evidence --service-password-file svc.pw
    Setup {
        /// A superuser's URL of the database to prepare.
        #[arg(long, value_name = "URL")]
        admin: String,
        /// The role to own the tables.
        #[arg(long, value_name = "ROLE", default_value = "evledger_owner")]
        owner: String,
        /// The role the service connects as.
        #[arg(long, value_name = "ROLE", default_value = "evledger_service")]
        service: String,
        /// A file holding the service role's password (else authenticate it otherwise).
        #[arg(long, value_name = "FILE")]
        service_password_file: Option<PathBuf>,
    },
}

/// Key file subcommands.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate an Ed25519 key: FILE (PKCS#8 PEM, mode 0600) and FILE.pub.
    ///
    /// Example: evledger key generate --out release.key
    Generate {
        /// Private key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also print the C2SP signed-note verifier key under this name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print the key id (and with --name the C2SP verifier key) of a private or public key file.
    ///
    /// Example: evledger key show release.key.pub --name aurelis.example/release
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
    #[cfg(feature = "postgres")]
    if let Some(url) = &cli.store {
        crate::store::use_store_url(url)?;
    }
    match cli.command {
        #[cfg(feature = "postgres")]
        Command::Store(StoreCommand::Setup {
            admin,
            owner,
            service,
            service_password_file,
        }) => ledger_cmds::store_setup(&admin, &owner, &service, service_password_file.as_deref()),
        Command::Init {
            origin,
            log_key,
            dir,
        } => ledger_cmds::init(&dir.ledger, &origin, log_key.as_deref()),
        Command::Key(KeyCommand::Generate { out, name }) => {
            key_cmds::generate(&out, name.as_deref())
        }
        Command::Key(KeyCommand::Show { file, name }) => key_cmds::show(&file, name.as_deref()),
        Command::Record {
            kind,
            input,
            issuer,
            subject,
            signing,
            sigstore,
            dry_run,
            json,
            dir,
        } => ledger_cmds::record(
            &dir.ledger,
            &ledger_cmds::RecordArgs {
                kind: &kind,
                input: &input,
                issuer: &issuer,
                subject: &subject,
                signing: &signing,
                sigstore: &sigstore,
                dry_run,
            },
            json,
        ),
        Command::Sign {
            kind,
            input,
            issuer,
            subject,
            signing,
            sigstore,
            out,
            force,
        } => sign_cmds::sign(&sign_cmds::SignArgs {
            kind: &kind,
            input: &input,
            issuer: &issuer,
            subject: &subject,
            signing: &signing,
            sigstore: &sigstore,
            out: &out,
            force,
        }),
        Command::Countersign {
            entry,
            statement,
            report_sha256,
            issuer,
            subject,
            signing,
            bundle: Some(bundle),
            trust,
            log_key,
            out: Some(out),
            force,
            dry_run,
            ..
        } => sign_cmds::countersign_detached(&sign_cmds::DetachedCountersign {
            bundle: &bundle,
            entry: &entry,
            trust: trust.as_deref(),
            log_key: log_key.as_deref(),
            statement: &statement,
            report_sha256: report_sha256.as_deref(),
            issuer: issuer.as_deref(),
            subject: subject.as_deref(),
            signing: &signing,
            out: &out,
            force,
            dry_run,
        }),
        Command::Countersign {
            entry,
            statement,
            report_sha256,
            issuer,
            subject,
            signing,
            dry_run,
            json,
            dir,
            ..
        } => ledger_cmds::countersign(
            &dir.ledger,
            &entry,
            &statement,
            report_sha256.as_deref(),
            issuer.as_deref(),
            subject.as_deref(),
            &signing,
            dry_run,
            json,
        ),
        Command::Register {
            files,
            document,
            trusted_root,
            receipt,
            dry_run,
            json,
            dir,
        } => register_cmds::register(
            &dir.ledger,
            &files,
            &document,
            &trusted_root,
            receipt.as_deref(),
            dry_run,
            json,
        ),
        #[cfg(feature = "serve")]
        Command::Serve {
            config,
            listen,
            ledger,
            registration_wait_ms,
            public_kinds,
            max_document_bytes,
            more,
        } => serve_cmds::serve(
            config.as_deref(),
            crate::serve::config::Overrides {
                listen,
                ledger,
                registration_wait_ms,
                public_kinds: (!public_kinds.is_empty()).then_some(public_kinds),
                max_document_bytes,
                ..more.overrides()
            },
        ),
        Command::Signer(SignerCommand::Add {
            kinds,
            key,
            x509_root,
            dir,
        }) => register_cmds::signer_add(&dir.ledger, &kinds, key.as_deref(), x509_root.as_deref()),
        Command::Signer(SignerCommand::List { json, dir }) => {
            register_cmds::signer_list(&dir.ledger, json)
        }
        #[cfg(feature = "serve")]
        Command::Checkpoint {
            witnesses: true,
            anchor,
            dir,
            ..
        } => witness_net_cmds::checkpoint_witnesses(&dir.ledger, anchor),
        Command::Checkpoint {
            cosigned,
            anchor,
            dir,
            ..
        } if cosigned.is_empty() => ledger_cmds::checkpoint(&dir.ledger, anchor),
        Command::Checkpoint { cosigned, dir, .. } => witness_cmds::collect(&dir.ledger, &cosigned),
        Command::ConsistencyCheck {
            a,
            b,
            log_key,
            trust,
            proof,
        } => witness_cmds::consistency_check(
            &a,
            &b,
            log_key.as_deref(),
            trust.as_deref(),
            proof.as_deref(),
        ),
        Command::Witness(WitnessCommand::Init {
            name,
            log_key,
            out,
            key,
        }) => witness_cmds::init(&name, &log_key, &out, key.as_deref()),
        Command::Witness(WitnessCommand::Add { vkey, url, dir }) => {
            witness_cmds::add(&dir.ledger, &vkey, url.as_deref())
        }
        Command::Witness(WitnessCommand::List { json, dir }) => {
            witness_cmds::list(&dir.ledger, json)
        }
        #[cfg(feature = "serve")]
        Command::Witness(WitnessCommand::Serve {
            state,
            listen,
            tls_cert,
            tls_key,
        }) => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| crate::serve::config::TlsFiles { cert, key });
            witness_net_cmds::serve(&state, listen, tls)
        }
        Command::Witness(WitnessCommand::Quorum { quorum, dir }) => {
            witness_cmds::quorum(&dir.ledger, quorum)
        }
        Command::Witness(WitnessCommand::Cosign {
            checkpoint,
            proof,
            state,
            time,
        }) => witness_cmds::cosign(&checkpoint, proof.as_deref(), &state, time),
        Command::Prove {
            entry,
            cose_receipt: Some(out),
            dir,
            ..
        } => ledger_cmds::cose_receipt(&dir.ledger, &entry, &out),
        Command::Prove {
            entry,
            size,
            json,
            cose_receipt: None,
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
        Command::Completions { shell } => docs_cmds::completions(shell),
        Command::Man { out } => docs_cmds::man(&out),
        #[cfg(feature = "client")]
        Command::Bundle {
            out,
            all,
            entry,
            claim,
            export_decision,
            deployment,
            since,
            from: Some(from),
            trust,
            token,
            ca,
            ..
        } => client_cmds::bundle_from(
            &from,
            &out,
            &client_cmds::RemoteSelection {
                all,
                entries: &entry,
                claims: &claim,
                export_decisions: &export_decision,
                deployments: &deployment,
                since: since.as_deref(),
            },
            trust.as_deref(),
            token,
            ca.as_deref(),
        ),
        #[cfg(feature = "client")]
        Command::Submit {
            files,
            to,
            receipt,
            token,
            log_key,
            trust,
            ca,
        } => client_cmds::submit(
            &files,
            &to,
            receipt.as_deref(),
            (token, ca.as_deref()),
            &log_key,
            trust.as_deref(),
        ),
        #[cfg(feature = "client")]
        Command::Monitor {
            url,
            state,
            log_key,
            watch_key,
            token,
            ca,
        } => client_cmds::monitor(
            &url,
            &state,
            log_key.as_deref(),
            &watch_key,
            (token, ca.as_deref()),
        ),
        Command::Bundle {
            out,
            all,
            entry,
            claim,
            export_decision,
            deployment,
            attach,
            since,
            dir,
            ..
        } => bundle_cmds::bundle(
            &dir.ledger,
            &out,
            &bundle_cmds::Selected {
                all,
                entries: &entry,
                claims: &claim,
                export_decisions: &export_decision,
                deployments: &deployment,
            },
            &attach,
            since.as_deref(),
        ),
        Command::Verify {
            file,
            trust,
            json,
            remember,
            receipt,
            integrity_only,
            artifact,
            time,
            html,
        } => bundle_cmds::verify(
            &file,
            &trust,
            bundle_cmds::ReportOutputs {
                json,
                html: html.as_deref(),
            },
            remember.as_deref(),
            receipt || integrity_only,
            receipt,
            &artifact,
            time.as_deref(),
        ),
        Command::LogKey(LogKeyCommand::Add { key, dir }) => {
            ledger_cmds::log_key_add(&dir.ledger, &key)
        }
        Command::LogKey(LogKeyCommand::Retire { key, dir }) => {
            ledger_cmds::log_key_retire(&dir.ledger, &key)
        }
        #[cfg(feature = "sigstore")]
        Command::Sigstore(SigstoreCommand::Verify {
            bundle,
            artifact,
            trusted_root,
            identity,
            issuer,
            key,
            json,
        }) => sigstore_cmds::verify(
            &bundle,
            &artifact,
            &trusted_root,
            identity.zip(issuer),
            key.as_deref(),
            json,
        ),
        Command::Trust(TrustCommand::Init {
            out,
            profile,
            role,
            dir,
        }) => trust_file::init(&dir.ledger, &out, &profile, &role),
        Command::Trust(TrustCommand::Pack { trust, out }) => trust_file::pack(&trust, &out),
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
