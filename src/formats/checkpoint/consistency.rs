//! Whether two checkpoints of one log describe one history, and the consistency proof file.
//!
//! Two checkpoints of a log are consistent when the smaller tree is a prefix of the larger
//! (RFC 9162 §2.1.4): equal sizes need equal roots, different sizes need a consistency proof
//! `PROOF(old, D[new])` that verifies against both roots. A size-0 checkpoint must carry the
//! empty-tree root and is a prefix of every tree, with the empty proof (c2sp.org/tlog-witness:
//! "the proof MUST be empty if the old size is zero"). Two checkpoints signed by the log key that
//! are not consistent are evidence that the log has shown two histories (a split view).
//!
//! A proof file is what `evledger consistency OLD NEW` prints: a line `old <OLD>`, then one
//! standard base64 hash per line (the old-size line and proof lines of a tlog-witness
//! `add-checkpoint` request). Its `--json` output (`old_size`, `new_size`, `proof`; the roots it
//! also prints are informational and ignored) is accepted too. See `specs/witness.md`.

use std::fmt;

// RFC 4648 §4 standard base64 with canonical padding.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{Checkpoint, VerifiedCheckpoint};
use crate::merkle::{ConsistencyError, ConsistencyProof, EMPTY_ROOT, Hash, RootHash};

/// Most hashes a proof file may hold: a consistency proof within a tree of at most 2^64 leaves
/// has fewer (tlog-witness allows 63 lines).
pub const MAX_PROOF_HASHES: usize = 64;

/// A consistency proof as read from a file, with the old size it starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    /// The tree size the proof starts from (`old N`).
    pub old_size: u64,
    /// The tree size it leads to, when the file says (JSON form only).
    pub new_size: Option<u64>,
    /// The proof hashes, RFC 9162 order.
    pub proof: ConsistencyProof,
}

/// Why a proof file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofFileError {
    /// A line of the text form is malformed.
    #[error("proof file line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More hashes than [`MAX_PROOF_HASHES`].
    #[error("proof file has {count} hashes, more than the limit of {max}")]
    TooManyHashes {
        /// Hashes found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON form does not have the expected shape.
    #[error("proof file (json): {0}")]
    Json(String),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonProof {
    old_size: u64,
    new_size: Option<u64>,
    #[serde(rename = "old_root")]
    _old_root: Option<serde::de::IgnoredAny>,
    #[serde(rename = "new_root")]
    _new_root: Option<serde::de::IgnoredAny>,
    proof: Vec<String>,
}

impl ProofFile {
    /// Parses either form: the text form strictly (`old N`, then one base64 hash per line, each
    /// line ending in a newline, the last one optionally not), or the JSON form.
    ///
    /// # Errors
    /// [`ProofFileError`] naming the first bad line or field.
    pub fn parse(text: &str) -> Result<ProofFile, ProofFileError> {
        if text.trim_start().starts_with('{') {
            return Self::parse_json(text);
        }
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut lines = body.split('\n');
        let first = lines.next().unwrap_or_default();
        let old_size = first.strip_prefix("old ").and_then(parse_decimal).ok_or(
            ProofFileError::Malformed {
                line: 1,
                reason: "expected `old <size>` (decimal, no leading zeros)",
            },
        )?;
        let mut hashes = Vec::new();
        for (i, line) in lines.enumerate() {
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(ProofFileError::TooManyHashes {
                    count: body.split('\n').count() - 1,
                    max: MAX_PROOF_HASHES,
                });
            }
            hashes.push(parse_hash(line).ok_or(ProofFileError::Malformed {
                line: i + 2,
                reason: "not the base64 of a 32-byte hash",
            })?);
        }
        Ok(ProofFile {
            old_size,
            new_size: None,
            proof: ConsistencyProof::new(hashes),
        })
    }

    fn parse_json(text: &str) -> Result<ProofFile, ProofFileError> {
        let raw: JsonProof =
            serde_json::from_str(text).map_err(|e| ProofFileError::Json(e.to_string()))?;
        if raw.proof.len() > MAX_PROOF_HASHES {
            return Err(ProofFileError::TooManyHashes {
                count: raw.proof.len(),
                max: MAX_PROOF_HASHES,
            });
        }
        let hashes = raw
            .proof
            .iter()
            .enumerate()
            .map(|(i, h)| {
                parse_hash(h).ok_or_else(|| {
                    ProofFileError::Json(format!("proof[{i}]: not the base64 of a 32-byte hash"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProofFile {
            old_size: raw.old_size,
            new_size: raw.new_size,
            proof: ConsistencyProof::new(hashes),
        })
    }

    /// The text form: `old N` and one base64 hash per line, each line ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in self.proof.hashes() {
            out.push_str(&BASE64.encode(h));
            out.push('\n');
        }
        out
    }
}

/// ASCII decimal, no sign, no leading zero unless the number is 0.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Standard padded base64 of exactly 32 bytes.
pub(crate) fn parse_hash(s: &str) -> Option<Hash> {
    if s.len() != 44 {
        return None;
    }
    BASE64.decode(s).ok()?.try_into().ok()
}

/// Why one checkpoint was not shown to extend another.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The checkpoints name different logs.
    #[error("the checkpoints are from different logs: {a:?} and {b:?}")]
    OriginMismatch {
        /// The first checkpoint's origin (the one to be extended).
        a: String,
        /// The second checkpoint's origin.
        b: String,
    },
    /// The sizes differ and no proof file was given.
    #[error("a consistency proof from size {old} to size {new} is needed")]
    ProofRequired {
        /// The smaller size.
        old: u64,
        /// The larger size.
        new: u64,
    },
    /// The proof file starts from, or leads to, another size than the checkpoints'.
    #[error("the proof is from size {proof_old}{}, but the checkpoints are at sizes {old} and {new}",
        .proof_new.map(|n| format!(" to size {n}")).unwrap_or_default())]
    ProofSizeMismatch {
        /// The proof file's `old` size.
        proof_old: u64,
        /// The proof file's new size, when it says.
        proof_new: Option<u64>,
        /// The smaller checkpoint size.
        old: u64,
        /// The larger checkpoint size.
        new: u64,
    },
    /// The proof does not fit the sizes (a wrong number of hashes, or an older checkpoint larger
    /// than the newer): malformed input, not evidence of a fork.
    #[error("malformed consistency proof: {0}")]
    MalformedProof(ConsistencyError),
    /// The checkpoints are not consistent: same size with different roots, a size-0 checkpoint
    /// with another root than the empty tree's, or a proof that does not verify.
    #[error(transparent)]
    Inconsistent(Box<Inconsistency>),
}

/// Two checkpoints of one log that were not shown consistent, with the proof that was tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inconsistency {
    /// The checkpoint that was to be extended (the smaller or equal size).
    pub older: Checkpoint,
    /// The checkpoint that was to extend it.
    pub newer: Checkpoint,
    /// The consistency proof tried (as given; empty when the checkpoints alone decided).
    pub proof: ConsistencyProof,
    /// Why they are not consistent.
    pub reason: InconsistencyReason,
}

/// What makes two checkpoints inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InconsistencyReason {
    /// Equal sizes, different roots: the log signed two different trees of one size.
    SameSizeDifferentRoots,
    /// A size-0 checkpoint whose root is not the empty-tree root (RFC 9162 §2.1.1: the hash of
    /// an empty list is SHA-256 of the empty string).
    EmptyTreeRoot,
    /// The consistency proof does not rebuild both roots (RFC 9162 §2.1.4.2).
    ProofDoesNotVerify(ConsistencyError),
}

impl fmt::Display for InconsistencyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InconsistencyReason::SameSizeDifferentRoots => {
                f.write_str("one tree size signed with two different roots")
            }
            InconsistencyReason::EmptyTreeRoot => f.write_str(
                "a tree of size 0 signed with a root other than the empty tree's (SHA-256 of the empty string)",
            ),
            InconsistencyReason::ProofDoesNotVerify(e) => write!(f, "{e}"),
        }
    }
}

impl Inconsistency {
    /// True when the two checkpoints alone prove that the log signed two histories (equal sizes
    /// with different roots, or a non-empty root for the empty tree); false when it rests on a
    /// proof that did not verify, which a log serving a wrong proof would also explain.
    pub fn is_conclusive(&self) -> bool {
        !matches!(self.reason, InconsistencyReason::ProofDoesNotVerify(_))
    }
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (o, n) = (&self.older, &self.newer);
        let (ro, rn) = (BASE64.encode(o.root), BASE64.encode(n.root));
        match self.reason {
            InconsistencyReason::SameSizeDifferentRoots => write!(
                f,
                "the log has shown two histories: {:?} signed size {} with root {ro} and with root {rn}",
                o.origin, o.size
            ),
            InconsistencyReason::EmptyTreeRoot => {
                let bad = if o.size == 0 && o.root != EMPTY_ROOT {
                    o
                } else {
                    n
                };
                write!(
                    f,
                    "the log has shown two histories: {:?} signed size 0 with root {}, which is not the empty tree's root",
                    bad.origin,
                    BASE64.encode(bad.root)
                )
            }
            InconsistencyReason::ProofDoesNotVerify(e) => write!(
                f,
                "the log has shown two histories, or served a wrong proof: {:?} size {} (root {ro}) is not proven a prefix of size {} (root {rn}): {e}",
                o.origin, o.size, n.size
            ),
        }
    }
}

impl std::error::Error for Inconsistency {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.reason {
            InconsistencyReason::ProofDoesNotVerify(e) => Some(e),
            _ => None,
        }
    }
}

/// Checks that two verified checkpoints, in either order, describe one history of one log, with
/// a proof file when their sizes differ (see [`check_extends_with_file`]).
///
/// # Errors
/// As [`check_extends_with_file`], for the smaller checkpoint and the larger.
pub fn check_pair(
    a: &VerifiedCheckpoint,
    b: &VerifiedCheckpoint,
    proof: Option<&ProofFile>,
) -> Result<(), CheckError> {
    let (a, b) = (a.checkpoint(), b.checkpoint());
    if a.origin != b.origin {
        return Err(CheckError::OriginMismatch {
            a: a.origin.clone(),
            b: b.origin.clone(),
        });
    }
    let (older, newer) = if a.size <= b.size { (a, b) } else { (b, a) };
    check_extends_with_file(older, newer, proof)
}

/// Decides whether checkpoint `newer` extends checkpoint `older` given `proof`, that is whether
/// `older`'s tree is a prefix of `newer`'s (RFC 9162 §2.1.4). This is the one rule: the witness,
/// the verifier and `consistency-check` all ask it.
///
/// In this order:
/// 1. different origins: [`CheckError::OriginMismatch`];
/// 2. what the two checkpoints show on their own, whatever the proof: equal sizes with different
///    roots, or a checkpoint of size 0 whose root is not the empty-tree root, are
///    [`CheckError::Inconsistent`] (conclusive);
/// 3. `older` larger than `newer`: [`CheckError::MalformedProof`] (it cannot be extended by a
///    smaller tree, and no proof exists);
/// 4. `older` of size 0 (with the empty root) is a prefix of every tree: consistent, with the
///    empty proof (c2sp.org/tlog-witness: "the proof MUST be empty if the old size is zero");
/// 5. otherwise the proof is verified against both roots (RFC 9162 §2.1.4.2; for equal sizes
///    the empty proof): a wrong number of hashes is [`CheckError::MalformedProof`], a proof that
///    does not rebuild both roots [`CheckError::Inconsistent`].
///
/// # Errors
/// As above; never [`CheckError::ProofRequired`] or [`CheckError::ProofSizeMismatch`], which
/// are about proof files.
pub fn check_extends(
    older: &Checkpoint,
    newer: &Checkpoint,
    proof: &ConsistencyProof,
) -> Result<(), CheckError> {
    check_checkpoints(older, newer)?;
    let malformed = |e| Err(CheckError::MalformedProof(e));
    if older.size == 0 {
        if !proof.is_empty() {
            return malformed(ConsistencyError::WrongProofLength {
                old: 0,
                new: newer.size,
                expected: 0,
                got: proof.len(),
            });
        }
        return Ok(());
    }
    let (old_head, new_head) = (
        RootHash::new(older.size, older.root),
        RootHash::new(newer.size, newer.root),
    );
    match old_head.verify_consistency(&new_head, proof) {
        Ok(()) => Ok(()),
        Err(e) if e.is_malformed() => malformed(e),
        Err(e) => Err(inconsistent(
            older,
            newer,
            proof,
            InconsistencyReason::ProofDoesNotVerify(e),
        )),
    }
}

/// [`check_extends`] with the proof read from a proof file: without one, equal sizes and a
/// size-0 `older` need none; a proof file must start at `older.size` (and, if it says, lead to
/// `newer.size`). What the checkpoints show on their own is reported before anything about the
/// file.
///
/// # Errors
/// As [`check_extends`]; [`CheckError::ProofRequired`] for different non-zero sizes without a
/// file; [`CheckError::ProofSizeMismatch`] for a file of other sizes.
pub fn check_extends_with_file(
    older: &Checkpoint,
    newer: &Checkpoint,
    file: Option<&ProofFile>,
) -> Result<(), CheckError> {
    check_checkpoints(older, newer)?;
    let empty = ConsistencyProof::default();
    let proof = match file {
        Some(p) if p.old_size != older.size || p.new_size.is_some_and(|n| n != newer.size) => {
            return Err(CheckError::ProofSizeMismatch {
                proof_old: p.old_size,
                proof_new: p.new_size,
                old: older.size,
                new: newer.size,
            });
        }
        Some(p) => &p.proof,
        None if older.size == newer.size || older.size == 0 => &empty,
        None => {
            return Err(CheckError::ProofRequired {
                old: older.size,
                new: newer.size,
            });
        }
    };
    check_extends(older, newer, proof)
}

/// Steps 1 to 3 of [`check_extends`]: what the two checkpoints decide without a proof.
fn check_checkpoints(older: &Checkpoint, newer: &Checkpoint) -> Result<(), CheckError> {
    if older.origin != newer.origin {
        return Err(CheckError::OriginMismatch {
            a: older.origin.clone(),
            b: newer.origin.clone(),
        });
    }
    let empty = ConsistencyProof::default();
    if older.size == newer.size && older.root != newer.root {
        return Err(inconsistent(
            older,
            newer,
            &empty,
            InconsistencyReason::SameSizeDifferentRoots,
        ));
    }
    if [older, newer]
        .iter()
        .any(|cp| cp.size == 0 && cp.root != EMPTY_ROOT)
    {
        return Err(inconsistent(
            older,
            newer,
            &empty,
            InconsistencyReason::EmptyTreeRoot,
        ));
    }
    if older.size > newer.size {
        return Err(CheckError::MalformedProof(
            ConsistencyError::OldLargerThanNew {
                old: older.size,
                new: newer.size,
            },
        ));
    }
    Ok(())
}

fn inconsistent(
    older: &Checkpoint,
    newer: &Checkpoint,
    proof: &ConsistencyProof,
    reason: InconsistencyReason,
) -> CheckError {
    CheckError::Inconsistent(Box::new(Inconsistency {
        older: older.clone(),
        newer: newer.clone(),
        proof: proof.clone(),
        reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, leaf_hash, prove_consistency, root};

    fn tree(n: u64, salt: u8) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            // The first two leaves are shared by every salt, so trees of different salts fork at 2.
            let s = if i < 2 { 0 } else { salt };
            t.push(leaf_hash(&[s, i as u8]));
        }
        t
    }

    fn cp(t: &MemoryTree, size: u64) -> Checkpoint {
        Checkpoint {
            origin: "log.example".into(),
            size,
            root: root(t, size).unwrap(),
            extensions: vec![],
        }
    }

    fn proof(t: &MemoryTree, old: u64, new: u64) -> ProofFile {
        ProofFile {
            old_size: old,
            new_size: None,
            proof: prove_consistency(t, old, new).unwrap(),
        }
    }

    #[test]
    fn proof_file_round_trips_and_is_strict() {
        let t = tree(7, 1);
        let p = proof(&t, 3, 7);
        assert_eq!(ProofFile::parse(&p.to_text()), Ok(p.clone()));
        let no_final_newline = p.to_text().trim_end().to_owned();
        assert_eq!(ProofFile::parse(&no_final_newline), Ok(p.clone()));
        assert_eq!(ProofFile::parse("old 0\n").unwrap().old_size, 0);
        for (bad, line) in [
            ("", 1),
            ("old\n", 1),
            ("old 03\n", 1),
            ("old -1\n", 1),
            ("new 3\n", 1),
            ("old 3\n\n", 2),
            ("old 3\nAAAA\n", 2),
            ("old 3\r\n", 1),
        ] {
            assert!(
                matches!(ProofFile::parse(bad), Err(ProofFileError::Malformed { line: l, .. }) if l == line),
                "{bad:?}"
            );
        }
        let mut long = "old 1\n".to_owned();
        for _ in 0..=MAX_PROOF_HASHES {
            long.push_str(&BASE64.encode([0u8; 32]));
            long.push('\n');
        }
        assert!(matches!(
            ProofFile::parse(&long),
            Err(ProofFileError::TooManyHashes { count: 65, .. })
        ));
    }

    #[test]
    fn proof_file_json_form() {
        let t = tree(7, 1);
        let p = proof(&t, 3, 7);
        let hashes: Vec<String> = p.proof.hashes().iter().map(|h| BASE64.encode(h)).collect();
        let json = serde_json::json!({
            "old_size": 3, "new_size": 7, "old_root": "x", "new_root": "y", "proof": hashes,
        })
        .to_string();
        let parsed = ProofFile::parse(&json).unwrap();
        assert_eq!(parsed.old_size, 3);
        assert_eq!(parsed.new_size, Some(7));
        assert_eq!(parsed.proof, p.proof);
        assert!(matches!(
            ProofFile::parse(r#"{"old_size": 3, "proof": ["AAAA"]}"#),
            Err(ProofFileError::Json(_))
        ));
        assert!(matches!(
            ProofFile::parse(r#"{"old_size": 3, "proof": [], "extra": 1}"#),
            Err(ProofFileError::Json(_))
        ));
    }

    #[test]
    fn consistent_checkpoints() {
        let t = tree(7, 1);
        assert_eq!(
            check_extends_with_file(&cp(&t, 3), &cp(&t, 7), Some(&proof(&t, 3, 7))),
            Ok(())
        );
        assert_eq!(
            check_extends_with_file(&cp(&t, 3), &cp(&t, 3), None),
            Ok(())
        );
        assert_eq!(
            check_extends_with_file(&cp(&t, 3), &cp(&t, 3), Some(&proof(&t, 3, 3))),
            Ok(())
        );
        assert_eq!(
            check_extends_with_file(&cp(&t, 0), &cp(&t, 5), None),
            Ok(())
        );
        assert_eq!(
            check_extends_with_file(&cp(&t, 0), &cp(&t, 5), Some(&proof(&t, 0, 0))),
            Ok(())
        );
    }

    #[test]
    fn forks_and_bad_proofs() {
        let (a, b) = (tree(7, 1), tree(7, 2));
        // Same size, different roots: conclusive.
        let Err(CheckError::Inconsistent(i)) =
            check_extends_with_file(&cp(&a, 5), &cp(&b, 5), None)
        else {
            panic!("fork at equal size not caught")
        };
        assert_eq!(i.reason, InconsistencyReason::SameSizeDifferentRoots);
        assert!(i.is_conclusive());
        assert!(i.to_string().contains("two histories"));
        // Different sizes, a proof from the other branch.
        let Err(CheckError::Inconsistent(i)) =
            check_extends_with_file(&cp(&a, 3), &cp(&b, 7), Some(&proof(&b, 3, 7)))
        else {
            panic!("fork across sizes not caught")
        };
        assert!(matches!(
            i.reason,
            InconsistencyReason::ProofDoesNotVerify(ConsistencyError::OldRootMismatch { .. })
        ));
        assert!(!i.is_conclusive());
        assert_eq!(i.older, cp(&a, 3));
        assert_eq!(i.newer, cp(&b, 7));
        assert_eq!(i.proof, proof(&b, 3, 7).proof);
        // The shared prefix is consistent with both branches.
        assert_eq!(
            check_extends_with_file(&cp(&a, 2), &cp(&b, 7), Some(&proof(&b, 2, 7))),
            Ok(())
        );
        // A flipped bit in the proof.
        let mut flipped = proof(&a, 3, 7);
        let mut hashes = flipped.proof.clone().into_hashes();
        hashes[0][0] ^= 1;
        flipped.proof = ConsistencyProof::new(hashes);
        assert!(matches!(
            check_extends_with_file(&cp(&a, 3), &cp(&a, 7), Some(&flipped)),
            Err(CheckError::Inconsistent(_))
        ));
        // Wrong lengths and sizes are not evidence of anything.
        let mut short = proof(&a, 3, 7);
        short.proof = ConsistencyProof::new(short.proof.hashes()[1..].to_vec());
        assert!(matches!(
            check_extends_with_file(&cp(&a, 3), &cp(&a, 7), Some(&short)),
            Err(CheckError::MalformedProof(_))
        ));
        assert_eq!(
            check_extends_with_file(&cp(&a, 3), &cp(&a, 7), Some(&proof(&a, 2, 7))),
            Err(CheckError::ProofSizeMismatch {
                proof_old: 2,
                proof_new: None,
                old: 3,
                new: 7
            })
        );
        assert_eq!(
            check_extends_with_file(&cp(&a, 3), &cp(&a, 7), None),
            Err(CheckError::ProofRequired { old: 3, new: 7 })
        );
        // A size-0 checkpoint must commit to the empty tree.
        let mut bogus = cp(&a, 0);
        bogus.root = [1; 32];
        assert!(matches!(
            check_extends_with_file(&bogus, &cp(&a, 4), None),
            Err(CheckError::Inconsistent(i)) if i.reason == InconsistencyReason::EmptyTreeRoot
        ));
    }

    #[test]
    fn one_rule_for_bare_proofs() {
        let t = tree(7, 1);
        let p = |old, new| prove_consistency(&t, old, new).unwrap();
        assert_eq!(check_extends(&cp(&t, 3), &cp(&t, 7), &p(3, 7)), Ok(()));
        assert_eq!(check_extends(&cp(&t, 7), &cp(&t, 7), &p(7, 7)), Ok(()));
        // The empty tree is a prefix of every tree, with the empty proof only.
        assert_eq!(
            check_extends(&cp(&t, 0), &cp(&t, 7), &ConsistencyProof::default()),
            Ok(())
        );
        assert!(matches!(
            check_extends(&cp(&t, 0), &cp(&t, 7), &p(3, 7)),
            Err(CheckError::MalformedProof(
                ConsistencyError::WrongProofLength { .. }
            ))
        ));
        // A smaller tree cannot extend a larger one.
        assert_eq!(
            check_extends(&cp(&t, 7), &cp(&t, 3), &p(3, 7)),
            Err(CheckError::MalformedProof(
                ConsistencyError::OldLargerThanNew { old: 7, new: 3 }
            ))
        );
        // Equal sizes take the empty proof.
        assert!(matches!(
            check_extends(&cp(&t, 7), &cp(&t, 7), &p(3, 7)),
            Err(CheckError::MalformedProof(
                ConsistencyError::WrongProofLength { .. }
            ))
        ));
        let mut other = cp(&t, 7);
        other.origin = "other.example".into();
        assert!(matches!(
            check_extends(&cp(&t, 3), &other, &p(3, 7)),
            Err(CheckError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn a_size_0_checkpoint_must_carry_the_empty_root_whatever_the_proof() {
        let t = tree(7, 1);
        let mut bogus = cp(&t, 0);
        bogus.root = [1; 32];
        for (older, newer) in [(&bogus, &cp(&t, 4)), (&cp(&t, 0), &bogus), (&bogus, &bogus)] {
            let Err(CheckError::Inconsistent(i)) =
                check_extends(older, newer, &ConsistencyProof::default())
            else {
                panic!("a non-empty root for size 0 must be caught")
            };
            assert!(i.is_conclusive());
            assert!(
                i.to_string().contains(&BASE64.encode([1u8; 32])),
                "names the bad root: {i}"
            );
        }
        // Reported before what is wrong with a proof file.
        let wrong_file = proof(&t, 2, 4);
        assert!(matches!(
            check_extends_with_file(&bogus, &cp(&t, 4), Some(&wrong_file)),
            Err(CheckError::Inconsistent(i)) if i.reason == InconsistencyReason::EmptyTreeRoot
        ));
    }
}
