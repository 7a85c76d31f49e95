//! `adverse-index`: the log's own commitment to every adverse entry below a tree size.
//!
//! Adverse entries are those that can make other evidence untrustworthy: key events, incidents,
//! claims that supersede earlier claims, and certifications that suspend, withdraw or supersede
//! ([`Evidence::is_adverse`]). Before it signs a
//! checkpoint, the log appends one `adverse-index` statement, signed with the log key, that
//! commits to the count and a running digest of the adverse entries below its own index. The
//! statement is a leaf of the tree, so the checkpoint's root, every consistency proof and every
//! witness cosignature cover it: a log cannot show two buyers two different indexes under
//! checkpoints the witnesses cosign alike. A bundle carries every adverse entry below the
//! index in full, and the verifier recomputes the digest from them (`specs/completeness.md`).

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Evidence, Kind, Problems, Sha256Hex};

/// The log's commitment to the adverse entries at indexes `0 .. size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdverseIndex {
    /// The log's origin (the checkpoint origin), so that one log's index is never read as another's.
    pub log: String,
    /// The entries covered: indexes `0 .. size`. The statement itself sits at index `size`.
    pub size: u64,
    /// How many of them are adverse.
    pub count: u64,
    /// The running digest of the adverse entries, in index order ([`AdverseDigest`]).
    pub digest: Sha256Hex,
}

impl Kind for AdverseIndex {
    const KIND: &'static str = "adverse-index";

    fn validate(&self, p: &mut Problems) {
        p.text("log", &self.log, 255);
        p.check(self.count <= self.size, "count", "must be at most size");
    }

    fn summary(&self) -> String {
        format!(
            "the log commits to {} adverse entr{} below index {}",
            self.count,
            if self.count == 1 { "y" } else { "ies" },
            self.size
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "adverse-index");
        let _ = writeln!(s, "  log     {}", self.log);
        let _ = writeln!(s, "  size    {}", self.size);
        let _ = writeln!(s, "  count   {}", self.count);
        let _ = writeln!(s, "  digest  {}", self.digest);
        s
    }
}

/// The running digest of a log's adverse entries: `d_0` is 32 zero bytes and
/// `d_{k+1} = SHA-256("evledger adverse-index v1" || d_k || index as 8 bytes big-endian || entry hash)`
/// for the k-th adverse entry in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdverseDigest {
    /// Adverse entries folded in so far.
    pub count: u64,
    /// The digest after them.
    pub digest: [u8; 32],
    /// The index of the last entry folded in, if any: entries must come in ascending order.
    last: Option<u64>,
}

/// The domain separation prefix of every step of [`AdverseDigest`].
pub const ADVERSE_DIGEST_DOMAIN: &[u8] = b"evledger adverse-index v1";

impl AdverseDigest {
    /// Continues from a committed count and digest (a previous index statement's).
    pub fn resume(count: u64, digest: [u8; 32], below: u64) -> Self {
        AdverseDigest {
            count,
            digest,
            last: below.checked_sub(1),
        }
    }

    /// Folds in the adverse entry at `index`; returns false (and changes nothing) if `index` is
    /// not above the last one folded in.
    pub fn add(&mut self, index: u64, entry_hash: &[u8; 32]) -> bool {
        if self.last.is_some_and(|l| index <= l) {
            return false;
        }
        let mut h = Sha256::new();
        h.update(ADVERSE_DIGEST_DOMAIN);
        h.update(self.digest);
        h.update(index.to_be_bytes());
        h.update(entry_hash);
        self.digest = h.finalize().into();
        self.count += 1;
        self.last = Some(index);
        true
    }

    /// Whether an index statement commits to exactly this state.
    pub fn matches(&self, index: &AdverseIndex) -> bool {
        self.count == index.count && self.digest == index.digest.0
    }
}

impl Evidence {
    /// Whether this evidence is **adverse**: it can make other evidence untrustworthy, so a bundle
    /// must carry every such entry below its checkpoint (`specs/completeness.md`). Each kind
    /// declares it: key events and incidents always are; a claim is when it supersedes another
    /// (it withdraws the earlier wording); a certification is when it suspends or withdraws a
    /// certificate or supersedes an earlier entry; a human-rights due-diligence assessment is when it
    /// declines, an end-use check when its result is unfavourable; builds, lab results, accuracy results,
    /// countersignatures and the log's own index statements are not.
    pub fn is_adverse(&self) -> bool {
        match self {
            Evidence::KeyEvent(_) | Evidence::Incident(_) => true,
            Evidence::Claim(c) => c.supersedes.is_some(),
            Evidence::Certification(c) => c.is_adverse(),
            Evidence::HrDueDiligence(d) => d.is_adverse(),
            Evidence::EndUseCheck(c) => c.is_adverse(),
            Evidence::ExportClassification(_)
            | Evidence::ExportDecision(_)
            | Evidence::Shipment(_)
            | Evidence::DeploymentRecord(_) => false,
            Evidence::FirmwareBuild(_)
            | Evidence::AccuracyResult(_)
            | Evidence::LabResult(_)
            | Evidence::Countersignature(_)
            | Evidence::AdverseIndex(_) => false,
        }
    }
}

/// The kinds whose entries may be adverse ([`Evidence::is_adverse`] decides per entry).
pub const MAY_BE_ADVERSE: &[&str] = &[
    "key-event",
    "incident",
    "claim",
    "certification",
    "hr-due-diligence",
    "end-use-check",
];
