//! Errors as the user sees them: what went wrong, what to do about it, and the exit code.

use std::fmt;

use crate::evidence::EvidenceError;
use crate::keys::KeyError;
use crate::ledger::LedgerError;
use crate::store::StoreError;

/// Exit code for a failed command (bad input, refused operation, I/O).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when `audit` finds the ledger inconsistent.
pub const EXIT_AUDIT_FAILED: i32 = 3;

/// What to do about a write to a ledger opened read-only.
pub const READ_ONLY_HINT: &str = "writing needs write access to the ledger directory and its files (as their owner, on a read-write mount); log, show, prove, consistency, bundle, audit and trust init work without it";

/// A command's failure: message, optional hint, exit code.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong (may span lines).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The process exit code.
    pub code: i32,
}

impl CliError {
    /// A failure with a message and exit code 1.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hint: None,
            code: EXIT_FAILURE,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the exit code.
    pub fn code(mut self, code: i32) -> CliError {
        self.code = code;
        self
    }
}

/// Messages quote files, bundles and ledger entries, so their lines are escaped
/// ([`crate::terminal::escape_lines`]) before they reach the terminal.
impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::terminal::escape_lines;
        write!(f, "error: {}", escape_lines(&self.message))?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {}", escape_lines(h))?;
        }
        Ok(())
    }
}

impl From<KeyError> for CliError {
    fn from(e: KeyError) -> CliError {
        let hint = match &e {
            KeyError::Permissions { path, .. } => Some(format!("chmod 600 {}", path.display())),
            KeyError::Exists { .. } => Some("choose another --out file; keys are never overwritten".to_owned()),
            KeyError::Format { .. } => Some("expected a PEM file written by `evledger key generate` or `openssl genpkey -algorithm ed25519`".to_owned()),
            _ => None,
        };
        let err = CliError::new(e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> CliError {
        let err = CliError::new(e.to_string());
        match &e {
            StoreError::NotFound(db) if db.to_string_lossy().starts_with("postgres") => err.hint(
                "create the ledger with: evledger init --store URL --ledger DIR --origin NAME (after `evledger store setup`)",
            ),
            StoreError::NotFound(dir) => err.hint(format!(
                "create one with: evledger init --ledger {} --origin NAME (or set --ledger / EVLEDGER_DIR)",
                dir.display()
            )),
            StoreError::Exists(_) => err.hint("use another --ledger directory; an existing ledger is never replaced"),
            StoreError::Duplicate { .. } => err.hint("a statement is recorded once; `evledger show ENTRY` displays it"),
            StoreError::Corrupt(_) => err.hint("run `evledger audit` for a full report"),
            StoreError::ReadOnly(_) => err.hint(READ_ONLY_HINT),
            _ => err,
        }
    }
}

impl From<EvidenceError> for CliError {
    fn from(e: EvidenceError) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<LedgerError> for CliError {
    fn from(e: LedgerError) -> CliError {
        match e {
            LedgerError::Store(s) => s.into(),
            LedgerError::Key(k) => k.into(),
            LedgerError::WrongLogKey { .. } => CliError::new(e.to_string())
                .hint("the log key must stay in the ledger directory it was created in"),
            LedgerError::NotAdmitted { ref kind, .. } => {
                let hint = format!(
                    "if this signer may register {kind} statements, the ledger operator admits it with: evledger signer add --kinds {kind} --key SIGNER.pub (or --x509-root ROOT.pem for a certified signer)"
                );
                CliError::new(e.to_string()).hint(hint)
            }
            LedgerError::UnknownSigner { ref kind, .. } => {
                let hint = format!(
                    "if this signer may register {kind} statements, the ledger operator admits it with: evledger signer add --kinds {kind} --key SIGNER.pub; a certified signer signs with --cert, chaining to a root admitted with --x509-root"
                );
                CliError::new(e.to_string()).hint(hint)
            }
            LedgerError::Damaged { .. } => CliError::new(e.to_string())
                .hint("run `evledger audit` for a full report, and restore the ledger from a backup taken before the damage")
                .code(EXIT_AUDIT_FAILED),
            other => CliError::new(other.to_string()),
        }
    }
}

impl CliError {
    /// Prefixes the message with where the problem is (e.g. the input file).
    pub fn prefix(mut self, at: &str) -> CliError {
        self.message = format!("{at}: {}", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::CliError;

    #[test]
    fn a_message_quoting_hostile_text_is_escaped_line_by_line() {
        let e =
            CliError::new("b.cbor: issuer \u{1b}[2J\u{202e}x\nsecond line\r").hint("fix \u{7}it");
        assert_eq!(
            e.to_string(),
            "error: b.cbor: issuer \\u{1b}[2J\\u{202e}x\nsecond line\\u{d}\nhint: fix \\u{7}it"
        );
    }
}
