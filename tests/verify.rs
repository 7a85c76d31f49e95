//! The buyer's offline verifier against real bundles and targeted tampering: every selection
//! round-trips to "verified"; each attack is rejected with the specific verdict, step and reason.
#![cfg(feature = "store")]

mod story;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use evledger::bundle::{Bundle, BundleLimits};
use evledger::cbor::{self, Value};
use evledger::checkpoint::Checkpoint;
use evledger::export::BundleOptions;
use evledger::note::{Note, NoteSigner};
use evledger::verify::{Outcome, Step, Verdict, verify_bundle};

use story::*;

/// The story's bundles, built once.
struct Bundles {
    story: Story,
    /// `--all`.
    all: Vec<u8>,
    /// `--claim claim2 --since builds.checkpoint --attach brochure --attach tender` (the walkthrough's).
    claim2: Vec<u8>,
    /// `--claim claim2` alone.
    claim2_plain: Vec<u8>,
    /// `--claim claim3` (over-claims).
    claim3: Vec<u8>,
    /// `--entry fw420`.
    fw420: Vec<u8>,
    /// `--entry lab --entry incident`.
    lab_and_incident: Vec<u8>,
}

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| {
        let (mut f, s) = story();
        let none = BundleOptions::default();
        Bundles {
            all: f.bundle_all(&none).to_cbor(),
            claim2: f.bundle_of(&[&s.claim2], &claim2_options(&s)).to_cbor(),
            claim2_plain: f.bundle_of(&[&s.claim2], &none).to_cbor(),
            claim3: f.bundle_of(&[&s.claim3], &none).to_cbor(),
            fw420: f.bundle_of(&[&s.fw420], &none).to_cbor(),
            lab_and_incident: f.bundle_of(&[&s.lab, &s.incident], &none).to_cbor(),
            story: s,
        }
    })
}

fn parsed(bytes: &[u8]) -> Bundle {
    Bundle::parse(bytes, &BundleLimits::default()).expect("fixture bundle parses")
}

/// The index of the entry with this hex entry hash in a bundle.
fn index_of(b: &Bundle, hex: &str) -> u64 {
    b.entries
        .iter()
        .find(|e| evledger::hex::encode(&evledger::statement::entry_hash(&e.statement)) == hex)
        .map(|e| e.index)
        .expect("entry in bundle")
}

fn position_of(b: &Bundle, index: u64) -> usize {
    b.entries
        .iter()
        .position(|e| e.index == index)
        .expect("index")
}

fn indexes(b: &Bundle) -> Vec<u64> {
    b.entries.iter().map(|e| e.index).collect()
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn all_selection_verifies() {
    let b = bundles();
    // Every entry of evidence; the log's adverse index (entry 7) travels under its own key.
    assert_eq!(indexes(&parsed(&b.all)), vec![0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(parsed(&b.all).adverse_index.map(|e| e.index), Some(7));
    // The over-claim is in --all, so the PAD profile fails it; checked for integrity only,
    // everything verifies.
    let r = evledger::verify::verify_bundle_with(
        &b.all,
        &trust(),
        &[],
        &evledger::verify::VerifyOptions::integrity_only(),
    );
    assert_verified(&r);
    assert_eq!(r.tree_size, Some(8));
    assert_eq!(r.origin.as_deref(), Some(ORIGIN));
    assert_fails(
        &verify(&b.all),
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(5),
        "level 3",
    );
}

#[test]
fn claim_selection_verifies_with_its_closure() {
    let b = bundles();
    // The claim, the builds and lab result it cites, the countersignature citing the lab
    // result, and the incident citing the 4.2.0 build.
    assert_eq!(indexes(&parsed(&b.claim2_plain)), vec![0, 1, 2, 3, 4, 6]);
    let r = verify(&b.claim2_plain);
    assert_verified(&r);
    let policy: Vec<_> = r.checks.iter().filter(|c| c.step == Step::Policy).collect();
    assert!(
        policy
            .iter()
            .any(|c| c.message.contains("backed by lab result 2")),
        "{}",
        r.render()
    );
}

#[test]
fn since_and_attach_verify() {
    let b = bundles();
    let p = parsed(&b.claim2);
    assert_eq!(p.consistency.len(), 1);
    assert_eq!(p.attachments.len(), 2);
    let r = verify(&b.claim2);
    assert_verified(&r);
    let passed = |step: Step, frag: &str| {
        r.checks
            .iter()
            .any(|c| c.step == step && c.outcome == Outcome::Pass && c.message.contains(frag))
    };
    assert!(
        passed(Step::Consistency, "tree size 2 is a prefix of tree size 8"),
        "{}",
        r.render()
    );
    assert!(
        passed(Step::Policy, "contains the claim's exact wording"),
        "{}",
        r.render()
    );
}

#[test]
fn entry_selections_verify() {
    let b = bundles();
    // A build pulls in the incident citing it, and the incident its fix build.
    assert_eq!(indexes(&parsed(&b.fw420)), vec![0, 1, 6]);
    assert_verified(&verify(&b.fw420));
    assert_eq!(indexes(&parsed(&b.lab_and_incident)), vec![0, 1, 2, 3, 6]);
    assert_verified(&verify(&b.lab_and_incident));
}

#[test]
fn overclaim_fails_policy_naming_the_level() {
    let r = verify(&bundles().claim3);
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(5),
        "shows iBeta PAD level 2, below the claimed level 3",
    );
    // Its wording also credits ISO/IEC 30107-3 with the scheme's level.
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(5),
        "words a level as if ISO/IEC 30107-3 defined it",
    );
    assert_eq!(r.verdict.exit_code(), 4);
    assert_eq!(r.failures(), 2, "{}", r.render());
}

// ---------------------------------------------------------------------------------------------
// Tampering with signed and proved content

/// Replaces the statement of the entry at `index` after applying `f` to its bytes.
fn with_statement(bytes: &[u8], index: u64, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = parsed(bytes);
    let i = position_of(&b, index);
    f(&mut b.entries[i].statement);
    b.to_cbor()
}

/// Replaces the first occurrence of `from` in `haystack` with `to` (same length).
fn replace_once(haystack: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    haystack[at..at + to.len()].copy_from_slice(to);
}

#[test]
fn flipped_statement_signature_byte_fails_signature() {
    // The signature is the statement's last 64 bytes, R then s: byte -40 is in R.
    let bad = with_statement(&bundles().claim2, 2, |st| {
        let n = st.len();
        st[n - 40] ^= 0x01;
    });
    let r = verify(&bad);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Signature,
        Some(2),
        "statement signature does not verify under key",
    );
    // The entry hash changed too, so the inclusion proof no longer leads to the root.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(2),
        "inclusion proof does not verify",
    );
    // A lab result that did not verify does not back the claim.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Policy,
        Some(4),
        "cites no verified lab result",
    );
}

#[test]
fn flipped_payload_byte_fails_signature() {
    // "FG3-100" -> "FG3-101" inside the lab result's payload: still well-formed evidence.
    let bad = with_statement(&bundles().claim2, 2, |st| {
        replace_once(st, b"FG3-100", b"FG3-101")
    });
    let r = verify(&bad);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Signature,
        Some(2),
        "statement signature does not verify",
    );
    assert!(
        r.entries
            .iter()
            .any(|e| e.index == 2 && e.summary.contains("FG3-101")),
        "the report shows what the bundle says"
    );
}

#[test]
fn payload_that_breaks_the_schema_is_an_invalid_bundle() {
    // "pass" -> "past": the verdict enum no longer decodes.
    let bad = with_statement(&bundles().claim2, 2, |st| {
        replace_once(st, b"\x64pass", b"\x64past")
    });
    let r = verify(&bad);
    assert_fails(
        &r,
        Verdict::InvalidBundle,
        Step::Parse,
        Some(2),
        "lab-result payload: verdict.result",
    );
    assert_eq!(r.verdict.exit_code(), 3);
}

#[test]
fn flipped_inclusion_proof_hash_fails_inclusion() {
    let mut b = parsed(&bundles().claim2);
    let i = position_of(&b, 3);
    b.entries[i].proof[1][7] ^= 0x80;
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(3),
        "inclusion proof does not verify: root is",
    );
    // Its signature is fine; only its proof is wrong.
    assert!(
        r.checks
            .iter()
            .any(|c| c.step == Step::Signature && c.entry == Some(3) && c.outcome == Outcome::Pass)
    );
    // The countersignature was not proved to be in the log: it does not count for the scheme
    // operator's role.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Policy,
        Some(4),
        "is neither signed nor countersigned by a key in role ibeta-pad",
    );
}

#[test]
fn truncated_inclusion_proof_fails() {
    let mut b = parsed(&bundles().claim2);
    b.entries[0].proof.pop();
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(0),
        "inclusion proof has 2 hashes, expected 3",
    );
}

#[test]
fn extended_inclusion_proof_fails() {
    let mut b = parsed(&bundles().claim2);
    let extra = b.entries[0].proof[0];
    b.entries[0].proof.push(extra);
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(0),
        "inclusion proof has 4 hashes, expected 3",
    );
}

#[test]
fn wrong_entry_index_fails_inclusion() {
    // Entry 4 (the claim) claims to be entry 5; the proof has the right length for both.
    let mut b = parsed(&bundles().claim2);
    let i = position_of(&b, 4);
    b.entries[i].index = 5;
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(5),
        "inclusion proof does not verify",
    );
}

#[test]
fn swapped_statements_fail_inclusion() {
    // The statements of entries 0 and 1 swapped, each with the other's index-specific proof.
    let mut b = parsed(&bundles().all);
    let (s0, s1) = (
        b.entries[0].statement.clone(),
        b.entries[1].statement.clone(),
    );
    b.entries[0].statement = s1;
    b.entries[1].statement = s0;
    let r = verify(&b.to_cbor());
    for e in [0, 1] {
        assert_fails(
            &r,
            Verdict::VerificationFailed,
            Step::Inclusion,
            Some(e),
            "inclusion proof does not verify",
        );
    }
}

#[test]
fn entry_from_another_ledger_fails_inclusion() {
    // A second ledger, same keys, one different build: its statement is validly signed by a
    // pinned key, but it is not in this log.
    let mut other = Fixture::new();
    other.iat = T0 + 1000;
    let foreign = other.record("firmware-build", &example(FW421, &[]), Who::Release);
    let foreign = other.bundle_of(&[&foreign], &BundleOptions::default());
    let mut b = parsed(&bundles().claim2);
    let i = position_of(&b, 1);
    b.entries[i].statement = foreign.entries[0].statement.clone();
    let r = verify(&b.to_cbor());
    assert!(
        r.checks
            .iter()
            .any(|c| c.step == Step::Signature && c.entry == Some(1) && c.outcome == Outcome::Pass)
    );
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(1),
        "inclusion proof does not verify",
    );
    // The claim cites the real 4.2.1 build, which is now missing.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::References,
        Some(4),
        "which is not in the bundle",
    );
}

/// The checkpoint of a bundle re-signed by `key` under `name`.
fn resigned_checkpoint(note: &str, name: &str, key: &ed25519_dalek::SigningKey) -> String {
    let n = Note::parse(note).expect("note");
    let mut cp = Checkpoint::parse(n.text()).expect("checkpoint");
    cp.origin = name.to_owned();
    let signer = NoteSigner::new(name, key.clone()).expect("signer");
    cp.sign(&signer).expect("sign").to_text()
}

#[test]
fn checkpoint_signed_by_unpinned_key_fails() {
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    // Same origin, same tree, another key.
    b.checkpoint = resigned_checkpoint(&b.checkpoint, ORIGIN, &keys.rogue_log);
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Checkpoint,
        None,
        "not signed by a pinned log key: checkpoint note: ",
    );
    // Nothing downstream counts as checked.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Inclusion,
        Some(0),
        "not checked: the checkpoint did not verify",
    );
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "not checked: the checkpoint did not verify",
    );
    assert!(
        !r.checks
            .iter()
            .any(|c| c.step == Step::Inclusion && c.outcome == Outcome::Pass)
    );
}

#[test]
fn checkpoint_of_another_origin_fails() {
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    b.checkpoint = resigned_checkpoint(&b.checkpoint, "evil.example/log", &keys.rogue_log);
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Checkpoint,
        None,
        "not signed by a pinned log key",
    );
}

/// Replaces line `n` (0-based) of the checkpoint body, keeping the signature.
fn alter_checkpoint_line(bytes: &[u8], n: usize, line: &str) -> Vec<u8> {
    let mut b = parsed(bytes);
    let mut lines: Vec<String> = b.checkpoint.split('\n').map(str::to_owned).collect();
    lines[n] = line.to_owned();
    b.checkpoint = lines.join("\n");
    b.to_cbor()
}

#[test]
fn checkpoint_size_altered_fails() {
    let r = verify(&alter_checkpoint_line(&bundles().claim2, 1, "9"));
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Checkpoint,
        None,
        "signature by \"aurelis.example/evidence-log\" does not verify",
    );
}

#[test]
fn checkpoint_root_altered_fails() {
    let root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let r = verify(&alter_checkpoint_line(&bundles().claim2, 2, root));
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Checkpoint,
        None,
        "does not verify",
    );
}

#[test]
fn no_pinned_log_key_never_verifies_and_names_the_signer() {
    let keys = Keys::new();
    let trust = TrustSpec {
        pin_log: false,
        ..TrustSpec::default()
    }
    .load(&keys);
    let r = verify_bundle(&bundles().claim2, &trust, &profiles());
    let id = evledger::note::key_id(ORIGIN, 0x01, keys.log.verifying_key().as_bytes());
    let signer = format!("{ORIGIN}+{}", evledger::hex::encode(&id));
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Checkpoint,
        None,
        &format!(
            "no log key is pinned in the trust file; the checkpoint claims to be signed by {signer}"
        ),
    );
    assert_eq!(r.checkpoint_signers, vec![signer]);
    assert_ne!(r.verdict.exit_code(), 0);
    assert!(!r.render().contains("VERIFIED"), "{}", r.render());
}

#[test]
fn signer_not_in_trust_file_fails() {
    let (mut f, s) = story();
    let rogue = f.record("lab-result", &s.example(LAB), Who::Stranger);
    let b = f.bundle_of(&[&rogue], &BundleOptions::default()).to_cbor();
    let idx = index_of(&parsed(&b), &rogue);
    let kid = f.keys.kid(Who::Stranger);
    assert_fails(
        &verify(&b),
        Verdict::VerificationFailed,
        Step::Signature,
        Some(idx),
        &format!("signer kid {kid} is not pinned by the trust file"),
    );
}

#[test]
fn signer_pinned_but_role_does_not_allow_kind_fails() {
    // The release engineer's key signs a claim; it is pinned only for firmware builds.
    let (mut f, s) = story();
    let claim = f.record(
        "claim",
        &s.example(CLAIM2).replace("CLM-FG3-PAD-002", "CLM-X"),
        Who::Release,
    );
    let b = f.bundle_of(&[&claim], &BundleOptions::default()).to_cbor();
    let idx = index_of(&parsed(&b), &claim);
    let r = verify(&b);
    let kid = f.keys.kid(Who::Release);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Signer,
        Some(idx),
        &format!("no role in the trust file lets kid {kid} sign claim"),
    );
    // Its signature itself is good.
    assert!(
        r.checks.iter().any(|c| c.step == Step::Signature
            && c.entry == Some(idx)
            && c.outcome == Outcome::Pass)
    );
}

#[test]
fn cited_lab_result_removed_from_bundle_fails_references() {
    let b = bundles();
    let mut p = parsed(&b.claim2);
    p.entries.retain(|e| e.index != 2);
    let r = verify(&p.to_cbor());
    let msg = format!("cites entry {}, which is not in the bundle", b.story.lab);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::References,
        Some(4),
        &msg,
    );
    assert!(
        failures(&r)
            .iter()
            .any(|c| c.entry == Some(4) && c.field.as_deref() == Some("evidence[0]")),
        "{}",
        r.render()
    );
    // The countersignature's target is missing too.
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::References,
        Some(3),
        &msg,
    );
}

#[test]
fn altered_consistency_proof_does_not_verify_and_accuses_no_fork() {
    // One flipped bit in a proof hash: a damaged proof, which an honest log's bundle can carry;
    // only two signed checkpoints prove a fork.
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].proof[0][0] ^= 0x01;
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the consistency proof from size 2 to 8 does not verify: consistency proof does not verify",
    );
    assert!(!r.render().contains("two histories"), "{}", r.render());
}

#[test]
fn a_signed_checkpoint_of_the_same_size_with_another_root_is_two_histories() {
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].from = signed_checkpoint(ORIGIN, 8, [2; 32], &keys.log);
    b.consistency[0].proof = Vec::new();
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the log has shown two histories: checkpoint at size 8 (root 0202",
    );
}

#[test]
fn truncated_consistency_proof_fails() {
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].proof.pop();
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the consistency proof from tree size 2 to 8 is malformed: consistency proof from tree size 2 to 8 has 1 hashes, expected 2",
    );
}

#[test]
fn consistency_from_a_later_checkpoint_is_malformed_not_two_histories() {
    // The same log one entry later: the buyer's checkpoint is newer than the bundle's.
    let (mut f, s) = story();
    f.record(
        "claim",
        &s.example(CLAIM2).replace("CLM-FG3-PAD-002", "CLM-9"),
        Who::Legal,
    );
    let later = f.checkpoint();
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].from = later;
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the consistency proof from tree size 10 to 8 is malformed: old tree size 10 is larger than new tree size 8",
    );
    assert!(!r.render().contains("two histories"), "{}", r.render());
}

#[test]
fn consistency_from_checkpoint_by_another_key_fails() {
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].from = resigned_checkpoint(&b.consistency[0].from, ORIGIN, &keys.rogue_log);
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the earlier checkpoint is not signed by a pinned log key",
    );
}

/// A checkpoint of `origin` at `size` with `root`, signed by `key` under the name `origin`.
fn signed_checkpoint(
    origin: &str,
    size: u64,
    root: [u8; 32],
    key: &ed25519_dalek::SigningKey,
) -> String {
    let cp = Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        extensions: Vec::new(),
    };
    let signer = NoteSigner::new(origin, key.clone()).expect("signer");
    cp.sign(&signer).expect("sign").to_text()
}

#[test]
fn a_signed_empty_tree_with_another_root_is_two_histories() {
    // RFC 9162 §2.1.1: the tree of size 0 has one root, SHA-256 of the empty string. The log key
    // signing another root for it has signed something no honest log has.
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].from = signed_checkpoint(ORIGIN, 0, [1; 32], &keys.log);
    b.consistency[0].proof = Vec::new();
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the log has shown two histories: checkpoint at size 0 (root 0101",
    );
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "a tree of size 0 signed with a root other than the empty tree's",
    );
}

#[test]
fn the_empty_tree_with_its_root_is_a_prefix_of_every_tree() {
    let keys = Keys::new();
    let mut b = parsed(&bundles().claim2);
    b.consistency[0].from = signed_checkpoint(ORIGIN, 0, evledger::merkle::EMPTY_ROOT, &keys.log);
    b.consistency[0].proof = Vec::new();
    let r = verify(&b.to_cbor());
    assert!(
        r.checks.iter().any(|c| c.step == Step::Consistency
            && c.outcome == Outcome::Pass
            && c.message == "tree size 0 is a prefix of tree size 8"),
        "{}",
        r.render()
    );
}

#[test]
fn a_remembered_empty_tree_is_judged_by_its_root() {
    let keys = Keys::new();
    let with = |remembered: String| {
        let options = evledger::verify::VerifyOptions {
            remembered: Some(remembered),
            ..Default::default()
        };
        evledger::verify::verify_bundle_with(&bundles().claim2, &trust(), &profiles(), &options)
    };
    let r = with(signed_checkpoint(
        ORIGIN,
        0,
        evledger::merkle::EMPTY_ROOT,
        &keys.log,
    ));
    assert!(
        r.checks
            .iter()
            .any(|c| c.field.as_deref() == Some("remembered checkpoint")
                && c.outcome == Outcome::Pass
                && c.message == "extends the remembered checkpoint (size 0 to 8)"),
        "{}",
        r.render()
    );
    let r = with(signed_checkpoint(ORIGIN, 0, [1; 32], &keys.log));
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the log has shown two histories: the remembered checkpoint (size 0, root 0101",
    );
}

#[test]
fn consistency_from_another_pinned_log_is_not_this_logs_history() {
    // The buyer pins two logs; a checkpoint of the other one proves nothing about this one, and
    // is no sign that this one forked.
    const OTHER: &str = "other.example/log";
    let keys = Keys::new();
    let other = evledger::note::NoteVerifier::new(OTHER, keys.rogue_log.verifying_key())
        .expect("vkey")
        .to_string();
    let text = TrustSpec::default().text(&keys).replace(
        &format!("keys = [{:?}]", keys.log_vkey()),
        &format!("keys = [{:?}, {other:?}]", keys.log_vkey()),
    );
    let trust = evledger::trust::TrustFile::parse(&text, "trust.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust");
    let mut b = parsed(&bundles().claim2);
    let from = Checkpoint::parse(Note::parse(&b.consistency[0].from).expect("note").text())
        .expect("checkpoint");
    b.consistency[0].from = signed_checkpoint(OTHER, from.size, from.root, &keys.rogue_log);
    let r = verify_bundle(&b.to_cbor(), &trust, &profiles());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Consistency,
        None,
        "the earlier checkpoint is of log \"other.example/log\", not of this bundle's log \"aurelis.example/evidence-log\"",
    );
    assert!(!r.render().contains("two histories"), "{}", r.render());
}

// ---------------------------------------------------------------------------------------------
// Malformed bundles: strict parsing

/// The bundle's top-level map entries.
fn top_level(bytes: &[u8]) -> Vec<(Value, Value)> {
    cbor::decode(bytes)
        .expect("cbor")
        .as_map()
        .expect("map")
        .to_vec()
}

/// A map encoded with its entries in the given order (no sorting).
fn raw_map(entries: &[(Value, Value)]) -> Vec<u8> {
    let mut out = Vec::new();
    assert!(entries.len() < 24);
    out.push(0xa0 | entries.len() as u8);
    for (k, v) in entries {
        out.extend(cbor::encode(k));
        out.extend(cbor::encode(v));
    }
    out
}

#[track_caller]
fn assert_invalid(bytes: &[u8], fragment: &str) {
    let r = verify(bytes);
    assert_fails(&r, Verdict::InvalidBundle, Step::Parse, None, fragment);
    assert_eq!(r.verdict.exit_code(), 3);
    assert_eq!(r.checks.len(), 1, "{}", r.render());
}

#[test]
fn attachment_whose_key_does_not_match_its_bytes_is_invalid() {
    let mut b = parsed(&bundles().claim2);
    let (k, mut v) = b.attachments.pop_first().expect("attachment");
    v.push(b'!');
    b.attachments.insert(k.clone(), v);
    assert_invalid(
        &b.to_cbor(),
        &format!("bundle attachments[{k:?}]: bytes do not hash to the key"),
    );
}

#[test]
fn attachment_key_not_lower_hex_is_invalid() {
    let mut b = parsed(&bundles().claim2);
    let (k, v) = b.attachments.pop_first().expect("attachment");
    b.attachments.insert(k.to_uppercase(), v);
    assert_invalid(&b.to_cbor(), "key is not a lower-case hex SHA-256");
}

#[test]
fn trailing_bytes_are_invalid() {
    let mut bytes = bundles().claim2.clone();
    bytes.push(0x00);
    assert_invalid(&bytes, "cbor: 1 trailing byte(s) after the data item");
}

#[test]
fn truncated_bundle_is_invalid() {
    let bytes = &bundles().claim2;
    for cut in [0, 1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert_invalid(&bytes[..cut], "cbor: ");
    }
}

#[test]
fn non_shortest_integer_is_invalid() {
    let mut bytes = bundles().claim2.clone();
    let key = cbor::encode(&Value::text("evledger-bundle"));
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("version key")
        + key.len();
    assert_eq!(bytes[at], 0x02);
    bytes.splice(at..at + 1, [0x18, 0x02]);
    assert_invalid(
        &bytes,
        &format!("non-shortest integer or length encoding at byte {at}"),
    );
}

#[test]
fn non_shortest_length_inside_a_statement_is_invalid() {
    // The statement's payload byte string re-encoded with a 4-byte length: the signed content
    // is unchanged, the encoding is not deterministic.
    let mut b = parsed(&bundles().claim2);
    let st = &mut b.entries[0].statement;
    let v = cbor::decode(st).expect("statement");
    let Value::Tag(18, inner) = &v else { panic!() };
    let parts = inner.as_array().expect("array");
    let payload = parts[2].as_bytes().expect("payload");
    let mut out = vec![0xd2, 0x84];
    out.extend(cbor::encode(&parts[0]));
    out.extend(cbor::encode(&parts[1]));
    out.push(0x5a);
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(payload);
    out.extend(cbor::encode(&parts[3]));
    *st = out;
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::InvalidBundle,
        Step::Parse,
        Some(0),
        "statement: statement is not deterministic CBOR: cbor: non-shortest integer or length encoding",
    );
}

#[test]
fn duplicate_key_is_invalid() {
    let mut m = top_level(&bundles().claim2);
    let dup = m
        .iter()
        .find(|(k, _)| k.as_text() == Some("checkpoint"))
        .cloned()
        .expect("checkpoint");
    let at = m
        .iter()
        .position(|(k, _)| k.as_text() == Some("checkpoint"))
        .expect("pos");
    m.insert(at, dup);
    assert_invalid(&raw_map(&m), "cbor: duplicate map key at byte");
}

#[test]
fn unsorted_keys_are_invalid() {
    let mut m = top_level(&bundles().claim2);
    m.reverse();
    assert_invalid(&raw_map(&m), "cbor: map keys out of order at byte");
}

#[test]
fn indefinite_length_is_invalid() {
    let m = top_level(&bundles().claim2);
    let mut bytes = raw_map(&m);
    bytes[0] = 0xbf;
    bytes.push(0xff);
    assert_invalid(&bytes, "cbor: indefinite length at byte 0");
    // An indefinite-length entries array inside a definite map.
    let mut m = top_level(&bundles().claim2);
    let entries = m
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("entries"))
        .expect("entries");
    let items = entries.1.as_array().expect("array").to_vec();
    let mut raw = vec![0x9f];
    for i in &items {
        raw.extend(cbor::encode(i));
    }
    raw.push(0xff);
    let mut out = vec![0xa0 | m.len() as u8];
    for (k, v) in &m {
        out.extend(cbor::encode(k));
        if k.as_text() == Some("entries") {
            out.extend(&raw);
        } else {
            out.extend(cbor::encode(v));
        }
    }
    assert_invalid(&out, "cbor: indefinite length at byte");
}

fn with_top_level(bytes: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut m = top_level(bytes);
    f(&mut m);
    cbor::encode(&Value::Map(m))
}

#[test]
fn unknown_top_level_key_is_invalid() {
    let bytes = with_top_level(&bundles().claim2, |m| {
        m.push((Value::text("witness-notes"), Value::Unsigned(1)))
    });
    assert_invalid(
        &bytes,
        "bundle key \"witness-notes\": is not part of the bundle format",
    );
}

#[test]
fn missing_entries_is_invalid() {
    let bytes = with_top_level(&bundles().claim2, |m| {
        m.retain(|(k, _)| k.as_text() != Some("entries"))
    });
    assert_invalid(&bytes, "bundle entries: is missing");
}

#[test]
fn empty_entries_is_invalid() {
    let bytes = with_top_level(&bundles().claim2, |m| {
        for (k, v) in m.iter_mut() {
            if k.as_text() == Some("entries") {
                *v = Value::Array(Vec::new());
            }
        }
    });
    assert_invalid(&bytes, "bundle entries: is empty");
}

#[test]
fn entries_not_ascending_are_invalid() {
    let mut b = parsed(&bundles().claim2);
    b.entries.swap(0, 1);
    assert_invalid(
        &b.to_cbor(),
        "bundle entries[1].index: 0 is not above the previous index 1",
    );
    let mut b = parsed(&bundles().claim2);
    let e = b.entries[0].clone();
    b.entries.insert(0, e);
    assert_invalid(
        &b.to_cbor(),
        "bundle entries[1].index: 0 is not above the previous index 0",
    );
}

#[test]
fn proof_element_of_31_bytes_is_invalid() {
    let bytes = with_top_level(&bundles().claim2, |m| {
        let entries = m
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some("entries"))
            .expect("entries");
        let Value::Array(items) = &mut entries.1 else {
            panic!()
        };
        let Value::Map(e) = &mut items[1] else {
            panic!()
        };
        let proof = e
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some("proof"))
            .expect("proof");
        let Value::Array(hashes) = &mut proof.1 else {
            panic!()
        };
        hashes[2] = Value::Bytes(vec![7; 31]);
    });
    assert_invalid(&bytes, "bundle entries[1].proof[2]: is not a 32-byte hash");
}

#[test]
fn version_3_is_invalid() {
    let bytes = with_top_level(&bundles().claim2, |m| {
        m.iter_mut()
            .find(|(k, _)| k.as_text() == Some("evledger-bundle"))
            .expect("version")
            .1 = Value::Unsigned(3);
    });
    assert_invalid(
        &bytes,
        "bundle evledger-bundle: version 3 is not supported (expected 1 to 2)",
    );
}

#[test]
fn oversized_counts_fail_fast() {
    // Each claimed length is refused from its head, before anything is allocated for it.
    // An entries array claiming 2^32 items.
    let mut bytes = vec![0xa1];
    bytes.extend(cbor::encode(&Value::text("entries")));
    bytes.extend([0x9b, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_invalid(&bytes, "cbor: length 4294967296 at byte 9 exceeds");
    // A statement byte string claiming 1 GiB.
    let mut bytes = vec![0xa1];
    bytes.extend(cbor::encode(&Value::text("entries")));
    bytes.extend([0x81, 0xa3]);
    bytes.extend(cbor::encode(&Value::text("index")));
    bytes.push(0x00);
    bytes.extend(cbor::encode(&Value::text("proof")));
    bytes.push(0x80);
    bytes.extend(cbor::encode(&Value::text("statement")));
    bytes.extend([0x5a, 0x40, 0, 0, 0]);
    bytes.extend([0u8; 16]);
    assert_invalid(&bytes, "cbor: length 1073741824 at byte");
    // A map claiming u64::MAX entries.
    assert_invalid(
        &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        "cbor: length 18446744073709551615 at byte 0 exceeds",
    );
}

#[test]
fn limits_bound_entries_proofs_and_size() {
    let bytes = &bundles().claim2;
    let limits = |f: fn(&mut BundleLimits)| {
        let mut l = BundleLimits::default();
        f(&mut l);
        Bundle::parse(bytes, &l)
            .expect_err("over a limit")
            .to_string()
    };
    assert_eq!(
        limits(|l| l.max_entries = 5),
        "bundle entries: has 6 entries, over the limit of 5"
    );
    assert_eq!(
        limits(|l| l.max_proof = 2),
        "bundle entries[0].proof: has 3 hashes, over the limit of 2"
    );
    assert_eq!(
        limits(|l| l.max_bytes = 100),
        format!("bundle is {} bytes, over the limit of 100", bytes.len())
    );
    assert_eq!(
        limits(|l| l.max_attachments = 1),
        "bundle attachments: must hold 1 to 1 documents"
    );
    assert!(limits(|l| l.max_statement = 100).starts_with("bundle entries[0].statement: is "));
    // The default limit on proof length: 65 hashes.
    let mut b = parsed(bytes);
    b.entries[0].proof = vec![[0; 32]; 65];
    assert_invalid(
        &b.to_cbor(),
        "bundle entries[0].proof: has 65 hashes, over the limit of 64",
    );
}

#[test]
fn unverified_cosignature_lines_are_ignored_but_listed() {
    // A signature line of a key the trust file does not name is outside what the buyer
    // trusts: C2SP signed-note verifiers ignore it. It changes the bundle's bytes without
    // changing the verdict, the one such place in a bundle.
    let mut b = parsed(&bundles().claim2);
    let mut note = Note::parse(&b.checkpoint).expect("note");
    let w = NoteSigner::new("witness.example", Keys::new().stranger).expect("signer");
    note.add_signature(w.sign(note.text()).expect("sign"));
    b.checkpoint = note.to_text();
    let r = verify(&b.to_cbor());
    assert_verified(&r);
    assert_eq!(r.checkpoint_signers.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// The CLI: exit codes, selections and the JSON report

mod cli {
    use std::path::Path;
    use std::process::{Command, Output};

    use super::*;

    fn evledger(dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_evledger"))
            .args(args)
            .env("EVLEDGER_DIR", dir.join("ledger"))
            .output()
            .expect("run evledger")
    }

    fn code(o: &Output) -> i32 {
        o.status.code().expect("exit code")
    }

    fn write_trust(dir: &Path, spec: TrustSpec, name: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, spec.text(&Keys::new())).expect("write trust");
        path.to_string_lossy().into_owned()
    }

    fn buyer_spec() -> TrustSpec {
        TrustSpec {
            profiles: vec![
                profile_path("pad-ibeta-level2.toml"),
                profile_path("incident-gdpr-art33.toml"),
            ],
            ..TrustSpec::default()
        }
    }

    #[test]
    fn bundle_selections_verify_and_exit_codes() {
        let (f, s) = story();
        let Fixture {
            dir: tmp, ledger, ..
        } = f;
        drop(ledger); // the CLI opens the ledger itself
        let dir = tmp.path().to_owned();
        let docs = format!("{}/examples/facegate/documents", env!("CARGO_MANIFEST_DIR"));
        let since = dir.join("builds.checkpoint");
        std::fs::write(&since, &s.builds_checkpoint).expect("write");
        let since = since.to_string_lossy().into_owned();
        let trust = write_trust(&dir, buyer_spec(), "buyer.trust.toml");
        let out = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let brochure = format!("{docs}/brochure-2026-04-p4.txt");
        let tender = format!("{docs}/tender-T-2026-FG3-s5.3.txt");
        let cases: Vec<(&str, Vec<&str>, i32)> = vec![
            ("all", vec!["--all"], 4), // includes the over-claim
            ("entry", vec!["--entry", &s.fw420], 0),
            ("entries", vec!["--entry", &s.lab, "--entry", "6"], 0),
            ("claim", vec!["--claim", &s.claim2], 0),
            ("since", vec!["--claim", &s.claim2, "--since", &since], 0),
            (
                "attach",
                vec![
                    "--claim", &s.claim2, "--attach", &brochure, "--attach", &tender,
                ],
                0,
            ),
            ("overclaim", vec!["--claim", &s.claim3], 4),
        ];
        for (name, sel, expect) in cases {
            let file = out(&format!("{name}.bundle.cbor"));
            let mut args = vec!["bundle", "--out", &file];
            args.extend(sel);
            let o = evledger(&dir, &args);
            assert_eq!(
                code(&o),
                0,
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let o = evledger(&dir, &["verify", &file, "--trust", &trust]);
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert_eq!(code(&o), expect, "{name}: {stdout}");
            if expect == 0 {
                assert!(stdout.starts_with("VERIFIED: "), "{name}: {stdout}");
            } else {
                assert!(stdout.starts_with("POLICY NOT MET: "), "{name}: {stdout}");
                assert!(String::from_utf8_lossy(&o.stderr).contains("policy not met"));
            }
        }
        // Invalid bundle: exit 3. Verification failed: exit 1. Unusable trust file: exit 2.
        let good = out("claim.bundle.cbor");
        let mut bytes = std::fs::read(&good).expect("read");
        bytes.push(0);
        let bad = out("trailing.bundle.cbor");
        std::fs::write(&bad, &bytes).expect("write");
        let o = evledger(&dir, &["verify", &bad, "--trust", &trust]);
        assert_eq!(code(&o), 3);
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("INVALID BUNDLE: "));
        let unpinned = write_trust(
            &dir,
            TrustSpec {
                pin_log: false,
                ..buyer_spec()
            },
            "unpinned.toml",
        );
        let o = evledger(&dir, &["verify", &good, "--trust", &unpinned]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(code(&o), 1, "{stdout}");
        assert!(stdout.starts_with("VERIFICATION FAILED: "), "{stdout}");
        assert!(stdout.contains(&format!("checkpoint claims to be signed by {ORIGIN}+")));
        let broken = dir.join("broken.toml");
        std::fs::write(&broken, "version = 1\n[log]\nkeys = [\"nope\"]\n").expect("write");
        let o = evledger(
            &dir,
            &["verify", &good, "--trust", &broken.to_string_lossy()],
        );
        assert_eq!(code(&o), 2);
        assert!(String::from_utf8_lossy(&o.stderr).contains("log.keys[0]"));
        let missing = out("missing.bundle.cbor");
        let o = evledger(&dir, &["verify", &missing, "--trust", &trust]);
        assert_eq!(code(&o), 3);
    }

    #[test]
    fn oversized_bundle_file_is_refused_unread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let trust = write_trust(dir.path(), buyer_spec(), "buyer.trust.toml");
        // A sparse 4 GiB file: reading it would allocate 4 GiB.
        let big = dir.path().join("big.bundle.cbor");
        std::fs::File::create(&big)
            .and_then(|f| f.set_len(4 << 30))
            .expect("sparse file");
        let o = evledger(
            dir.path(),
            &["verify", &big.to_string_lossy(), "--trust", &trust],
        );
        assert_eq!(code(&o), 3);
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains("bundle is 4294967296 bytes, over the limit of 536870912"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    #[test]
    fn json_report_has_the_documented_fields() {
        let (f, s) = story();
        let Fixture {
            dir: tmp, ledger, ..
        } = f;
        drop(ledger);
        let dir = tmp.path().to_owned();
        let trust = write_trust(&dir, buyer_spec(), "buyer.trust.toml");
        let file = dir.join("c3.cbor").to_string_lossy().into_owned();
        let o = evledger(&dir, &["bundle", "--claim", &s.claim3, "--out", &file]);
        assert_eq!(code(&o), 0);
        let o = evledger(&dir, &["verify", &file, "--trust", &trust, "--json"]);
        assert_eq!(code(&o), 4);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        assert_eq!(j["verdict"], "policy-not-met");
        assert_eq!(j["origin"], ORIGIN);
        assert_eq!(j["tree_size"], 8);
        assert_eq!(j["completeness"]["status"], "shown");
        assert_eq!(j["completeness"]["tree_size"], 8);
        assert_eq!(j["completeness"]["adverse_entries"], 1);
        let checks = j["checks"].as_array().expect("checks");
        assert!(!checks.is_empty());
        for c in checks {
            assert!(c["step"].is_string(), "{c}");
            assert!(c["outcome"] == "pass" || c["outcome"] == "fail", "{c}");
            assert!(c["message"].is_string(), "{c}");
        }
        let failed: Vec<_> = checks.iter().filter(|c| c["outcome"] == "fail").collect();
        // The level over-claim, and the wording that credits the standard with a level.
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0]["step"], "policy");
        assert_eq!(failed[0]["entry"], 5);
        assert_eq!(failed[0]["field"], "assertions[0]");
        assert!(failed[0]["citation"].is_string());
        let entries = j["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 6);
        for e in entries {
            for k in [
                "index",
                "entry_hash",
                "kind",
                "issuer",
                "subject",
                "iat",
                "summary",
            ] {
                assert!(!e[k].is_null(), "entries[].{k} missing: {e}");
            }
        }
        assert_eq!(entries[4]["entry_hash"], s.claim3.as_str());
    }
}

#[test]
fn report_json_serialization_matches_render() {
    let r = verify(&bundles().claim2);
    let j = serde_json::to_value(&r).expect("json");
    assert_eq!(j["verdict"], "verified");
    assert_eq!(j["checks"].as_array().map(Vec::len), Some(r.checks.len()));
    let steps: BTreeMap<String, usize> = r.checks.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.step.name().to_owned()).or_default() += 1;
        m
    });
    for s in [
        "parse",
        "checkpoint",
        "consistency",
        "inclusion",
        "signature",
        "signer",
        "references",
        "policy",
    ] {
        assert!(steps.contains_key(s), "no {s} check: {steps:?}");
    }
}

#[test]
fn unusable_trust_files_name_the_field() {
    let keys = Keys::new();
    let err = |text: &str| {
        evledger::trust::TrustFile::parse(text, "t.toml", &|n: &str| {
            Err(format!("{n}: not available"))
        })
        .expect_err("trust file must be refused")
        .to_string()
    };
    let good = TrustSpec::default().text(&keys);
    assert_eq!(err("version = 1\n"), "t.toml: missing field `log`");
    assert_eq!(
        err(&good.replace("version = 1", "version = 2")),
        "t.toml: version: 2 is not supported (expected 1)"
    );
    assert_eq!(
        err(&format!("{good}\n[extra]\n")),
        "t.toml: extra: unknown field `extra`, expected one of `version`, `profiles`, `log`, `witnesses`, `roles`, `sigstore`, `files`"
    );
    assert_eq!(
        err(&good.replace("[log]\nkeys = [", "[log]\nkeys = [\"not a key\", ")),
        format!(
            "t.toml: log.keys[0]: {}",
            evledger::note::NoteVerifier::parse("not a key").expect_err("bad key")
        )
    );
    let legal = evledger::hex::encode(keys.legal.verifying_key().as_bytes());
    assert_eq!(
        err(&good.replace(&legal, "abcd")),
        "t.toml: roles[1].public_keys[0]: not base64 or hex of a 32-byte Ed25519 public key"
    );
    assert_eq!(
        err(&good.replace("kinds = [\"countersignature\"]", "kinds = []")),
        "t.toml: roles[2].kinds: must list at least one kind"
    );
    // A small-order key would accept forged signatures.
    let weak = format!("01{}", "00".repeat(31));
    assert_eq!(
        err(&good.replace(&legal, &weak)),
        "t.toml: roles[1].public_keys[0]: weak (small-order) Ed25519 key refused"
    );
}

#[test]
fn an_attachment_no_entry_cites_fails_references() {
    let mut b = parsed(&bundles().claim2);
    let stray = b"an unsigned document riding along".to_vec();
    let key = evledger::hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(&stray));
    b.attachments.insert(key.clone(), stray);
    let r = verify(&b.to_cbor());
    assert_eq!(r.verdict, Verdict::VerificationFailed, "{}", r.render());
    let f = failures(&r);
    assert_eq!(f.len(), 1, "{}", r.render());
    assert_eq!(f[0].step, Step::References);
    assert_eq!(
        f[0].field.as_deref(),
        Some(format!("attachments[{key}]").as_str())
    );
    assert!(f[0].message.contains("no entry in the bundle cites"));
    // The cited ones are reported as what they are.
    let good = verify(&bundles().claim2);
    assert!(good.checks.iter().any(|c| c.step == Step::References
        && c.outcome == Outcome::Pass
        && c.message.contains("channels[0].document_sha256")));
}

#[test]
fn without_a_profile_no_claim_is_judged_and_the_policy_is_not_met() {
    let r = verify_bundle(&bundles().claim3, &trust(), &[]);
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    assert!(!r.integrity_only);
    let failed: Vec<(Option<u64>, Option<&str>, &str)> = r
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| (c.entry, c.field.as_deref(), c.message.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            (
                None,
                None,
                "not judged: no policy profile is named by the trust file, so no claim was judged; name profiles in the trust file (profiles = [...]), or ask for integrity only (--integrity-only) to check signatures, proofs, roles and references alone"
            ),
            (
                Some(5),
                Some("assertions[0]"),
                "not judged: assertions[0] (pad) of claim \"CLM-FG3-PAD-003\": no rule in your profiles judges pad claims; name a profile with a rule for pad assertions in the trust file (specs/policy.md lists which rule judges which type), or ask for integrity only"
            ),
            (
                Some(5),
                Some("wording"),
                "not judged: the wording of claim \"CLM-FG3-PAD-003\": no rule in your profiles compares a claim's wording with its assertions; add a claim-wording-matches rule to a profile of the trust file, or ask for integrity only"
            ),
        ]
    );
    let judged: Vec<(&str, evledger::verify::JudgedOutcome)> = r
        .judged
        .iter()
        .map(|j| (j.field.as_str(), j.outcome))
        .collect();
    assert_eq!(
        judged,
        [
            ("assertions[0]", evledger::verify::JudgedOutcome::NotJudged),
            ("wording", evledger::verify::JudgedOutcome::NotJudged)
        ]
    );
    assert!(r.render().contains("    assertions[0] (pad): not judged\n"));
}

#[test]
fn integrity_only_verifies_without_judging_and_says_so_at_the_top() {
    let options = evledger::verify::VerifyOptions::integrity_only();
    // With or without the profiles: integrity only applies none of them.
    for profiles in [vec![], profiles()] {
        let r =
            evledger::verify::verify_bundle_with(&bundles().claim3, &trust(), &profiles, &options);
        assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
        assert!(r.integrity_only);
        let text = r.render();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("VERIFIED (INTEGRITY ONLY): "),
            "{text}"
        );
        assert_eq!(
            lines.next(),
            Some(
                "integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule"
            )
        );
        let policy: Vec<&str> = r
            .checks
            .iter()
            .filter(|c| c.step == Step::Policy)
            .map(|c| c.message.as_str())
            .collect();
        assert_eq!(policy.len(), 1, "{policy:?}");
        assert!(policy[0].starts_with("integrity only: "), "{policy:?}");
        assert!(
            r.judged
                .iter()
                .all(|j| j.outcome == evledger::verify::JudgedOutcome::NotJudged)
        );
        assert!(r.to_json().contains("\"integrity_only\": true"));
    }
}

/// The first firmware build in `b`: its index and first artifact.
fn first_artifact(b: &Bundle) -> (u64, evledger::evidence::FileDigest) {
    b.entries
        .iter()
        .find_map(|e| {
            let st = evledger::statement::SignedStatement::parse(&e.statement).ok()?;
            match evledger::evidence::Evidence::from_payload(&st.header().kind, st.payload())
                .ok()?
            {
                evledger::evidence::Evidence::FirmwareBuild(fw) => Some((
                    e.index,
                    evledger::evidence::FileDigest {
                        sha256: fw.artifacts[0].sha256.0,
                        size: fw.artifacts[0].size,
                    },
                )),
                _ => None,
            }
        })
        .expect("a firmware build in the bundle")
}

#[test]
fn only_an_entry_that_verified_vouches_for_a_held_file() {
    let mut b = parsed(&bundles().claim2);
    let (index, digest) = first_artifact(&b);
    let with_held = |bytes: &[u8]| {
        let options = evledger::verify::VerifyOptions {
            held: vec![evledger::verify::HeldFile {
                name: "fw.img".into(),
                digest,
            }],
            ..Default::default()
        };
        evledger::verify::verify_bundle_with(bytes, &trust(), &profiles(), &options)
    };
    let r = with_held(&b.to_cbor());
    assert!(
        r.checks.iter().any(|c| c.step == Step::Artifact
            && c.outcome == Outcome::Pass
            && c.entry == Some(index)
            && c.field.as_deref() == Some("artifacts[0].sha256")),
        "{}",
        r.render()
    );
    // The same entry, no longer proved to be in the log, vouches for nothing.
    let k = b.entries.iter().position(|e| e.index == index).unwrap();
    b.entries[k].proof[0][0] ^= 0x01;
    let r = with_held(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Artifact,
        Some(index),
        "fw.img: the file you hold matches the firmware build artifact of entry",
    );
    assert!(
        !r.checks
            .iter()
            .any(|c| c.step == Step::Artifact && c.outcome == Outcome::Pass),
        "{}",
        r.render()
    );
}
