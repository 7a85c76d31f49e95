#!/usr/bin/env bash
# The evledger walkthrough: record the FaceGate 3D example evidence into a ledger, sign
# checkpoints, prove inclusion and consistency, audit everything; then, as a buyer would, export
# claims as bundles and verify them offline: a PAD, an accuracy and a certification claim backed
# by their evidence, and an over-claim of each kind, which the verifier rejects; then the
# certificate is withdrawn, and the claim resting on it fails; then record an actively exploited
# vulnerability's three CRA Art. 14 reports and verify them; last, as an export auditor would,
# check export decisions, shipments, due diligence, end-use checks and a deployment against the EU
# dual-use, US EAR and BIPA profiles (keys.example/export-auditor.trust.toml).
#
#   EVLEDGER_DIR  ledger directory (default: ledger/ at the project root); created if absent,
#                 otherwise the walkthrough appends to it, so it can run again and again
#   EVLEDGER      the evledger binary (default: `evledger` on PATH, else built with cargo)
#   EVLEDGER_OUT  where bundles and checkpoints are written (default: $EVLEDGER_DIR/exports)
#
# The keys used are the public, test-only keys in keys.example/. Never use them for real evidence.
set -euo pipefail
shopt -s inherit_errexit  # so a failure inside $(...) stops the walkthrough too
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ex=$root/examples/facegate
keys=$root/keys.example
export EVLEDGER_DIR=${EVLEDGER_DIR:-$root/ledger}

if [ -z "${EVLEDGER:-}" ]; then
  if command -v evledger >/dev/null 2>&1; then
    EVLEDGER=evledger
  else
    (cd "$root" && cargo build --release --quiet)
    EVLEDGER=$root/target/release/evledger
  fi
fi
evl() { "$EVLEDGER" "$@"; }
step() { printf '\n== %s\n' "$*" >&2; }

# Git does not keep file modes: private keys must be owner-only before evledger will read them.
chmod 600 "$keys"/*.key

if [ ! -f "$EVLEDGER_DIR/evledger.db" ]; then
  step "create the ledger in $EVLEDGER_DIR"
  evl init --origin "aurelis.example/evidence-log" --log-key "$keys/log.key"
else
  # Statements are signed at the current second (iat); a run within the second of the last one
  # would sign the same firmware statements again, which the ledger refuses as duplicates.
  sleep 1
fi

# Inputs cite earlier entries by entry hash, which is only known once they are recorded: the
# examples write @FW_420@, @FW_421@, @LAB_RESULT@, @COUNTERSIG@, @ACC_RESULT@, @ACC_COUNTERSIG@,
# @CERT@, @CERT_COUNTERSIG@, @DECISION_0101@ and @DECISION_0103@, and fill() copies an example into a temporary directory with the
# hashes recorded so far filled in.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fill() {
  local out
  out=$tmp/$(basename "$1")
  sed -e "s/@FW_420@/${fw1:-@FW_420@}/g" -e "s/@FW_421@/${fw2:-@FW_421@}/g" \
      -e "s/@LAB_RESULT@/${lab:-@LAB_RESULT@}/g" -e "s/@COUNTERSIG@/${csig:-@COUNTERSIG@}/g" \
      -e "s/@ACC_RESULT@/${acc:-@ACC_RESULT@}/g" -e "s/@ACC_COUNTERSIG@/${acc_csig:-@ACC_COUNTERSIG@}/g" \
      -e "s/@CERT@/${cert:-@CERT@}/g" -e "s/@CERT_COUNTERSIG@/${cert_csig:-@CERT_COUNTERSIG@}/g" \
      -e "s/@DECISION_0101@/${dec_0101:-@DECISION_0101@}/g" -e "s/@DECISION_0103@/${dec_0103:-@DECISION_0103@}/g" \
      "$1" >"$out"
  if grep -q '@[A-Z0-9_]*@' "$out"; then
    echo "$1: cites an entry not recorded yet: $(grep -o '@[A-Z0-9_]*@' "$out" | sort -u | tr '\n' ' ')" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}
# record KIND FILE KEY ISSUER SUBJECT: records an example and prints its entry hash.
record() {
  local input
  input=$(fill "$ex/$2")
  evl record "$1" "$input" --key "$keys/$3" --issuer "$4" --subject "$5" | cut -d' ' -f1
}

step "release engineering signs two firmware builds"
fw1=$(record firmware-build firmware-4.2.0.toml release-engineer.key \
        "Aurelis Security Systems" "FaceGate 3D 4.2.0")
fw2=$(record firmware-build firmware-4.2.1.toml release-engineer.key \
        "Aurelis Security Systems" "FaceGate 3D 4.2.1")
echo "firmware 4.2.0: $fw1" >&2
echo "firmware 4.2.1: $fw2" >&2

out=${EVLEDGER_OUT:-$EVLEDGER_DIR/exports}
mkdir -p "$out"
step "the log signs a checkpoint over the builds; the buyer keeps it ($out/builds.checkpoint)"
evl checkpoint >"$out/builds.checkpoint"
cat "$out/builds.checkpoint"

step "product/legal records the iBeta PAD result and sends iBeta, the scheme's operator, a bundle of it"
lab=$(record lab-result lab-result-pad-l2.toml product-legal.key \
        "Aurelis Security Systems" "FaceGate 3D 4.2.0 on FG3-100: iBeta PAD report IBQA-PAD-2026-0142")
echo "lab result:       $lab" >&2
evl checkpoint >/dev/null
evl bundle --entry "$lab" --out "$out/lab-result.bundle.cbor"
log_vkey=$(evl key show "$keys/log.key.pub" --name aurelis.example/evidence-log | sed -n 's/^vkey //p')

# iBeta Quality Assurance runs the iBeta PAD programme and issues its levels; here it is an example
# identity whose key (keys.example/ibeta-example.key) is NOT iBeta's. The buyer's trust file pins
# that key as the scheme's operator (role ibeta-pad); the accuracy result below comes from another
# accredited lab, Kestrel, trusted through the accreditation body's root (role lab).
step "iBeta (example key), in its own directory with its own key, checks the bundle and countersigns the entry"
opdir=$tmp/ibeta
mkdir -p "$opdir"
cp "$out/lab-result.bundle.cbor" "$opdir/"
evl countersign --bundle "$opdir/lab-result.bundle.cbor" "$lab" --log-key "$log_vkey" \
    --key "$keys/ibeta-example.key" --cert "$keys/ibeta-example-cert.pem" \
    --issuer "iBeta Quality Assurance (example key)" --subject "Report IBQA-PAD-2026-0142" \
    --statement "Results as issued in report IBQA-PAD-2026-0142" --out "$opdir/ibqa-0142.cose" >/dev/null

step "the vendor admits the accreditation body's root for countersignatures and registers iBeta's file"
evl signer add --kinds countersignature --x509-root "$keys/accreditation-root-ca.pem"
csig=$(evl register "$opdir/ibqa-0142.cose" --receipt "$out/receipts" | cut -d' ' -f1)
echo "countersignature: $csig (receipt for the lab in $out/receipts)" >&2

step "product/legal records the claims as published, with the evidence they cite"
claim2=$(record claim claim-pad-level2.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-PAD-002")
claim3=$(record claim claim-pad-level3-overclaim.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-PAD-003")
echo "claim (Level 2):  $claim2" >&2
echo "claim (Level 3, over-claims its evidence): $claim3" >&2

step "product/legal records Kestrel's accuracy result; Kestrel, an accredited lab, checks and countersigns it"
acc=$(record accuracy-result accuracy-result-kbl-acc.toml product-legal.key \
        "Aurelis Security Systems" "aurelis-face-matcher 7.1: accuracy report KBL-ACC-2026-0031")
echo "accuracy result:  $acc" >&2
evl checkpoint >/dev/null
evl bundle --entry "$acc" --out "$out/accuracy-result.bundle.cbor"
labdir=$tmp/kestrel-lab
mkdir -p "$labdir"
cp "$out/accuracy-result.bundle.cbor" "$labdir/"
evl countersign --bundle "$labdir/accuracy-result.bundle.cbor" "$acc" --log-key "$log_vkey" \
    --key "$keys/lab.key" --cert "$keys/lab-cert.pem" \
    --issuer "Kestrel Biometric Test Lab" --subject "Report KBL-ACC-2026-0031" \
    --statement "Results as issued in report KBL-ACC-2026-0031" --out "$labdir/kbl-acc-0031.cose" >/dev/null
acc_csig=$(evl register "$labdir/kbl-acc-0031.cose" --receipt "$out/receipts" | cut -d' ' -f1)
echo "countersignature: $acc_csig" >&2

step "product/legal records the IEC 62443-4-2 certificate; Nordmark Certification countersigns it with its own certificate"
cert=$(record certification certification-iec62443.toml product-legal.key \
        "Aurelis Security Systems" "Certificate NMC-62443-2026-0117")
echo "certification:    $cert" >&2
evl checkpoint >/dev/null
evl bundle --entry "$cert" --out "$out/certification.bundle.cbor"
bodydir=$tmp/nordmark
mkdir -p "$bodydir"
cp "$out/certification.bundle.cbor" "$bodydir/"
evl countersign --bundle "$bodydir/certification.bundle.cbor" "$cert" --log-key "$log_vkey" \
    --key "$keys/certbody.key" --cert "$keys/certbody-cert.pem" \
    --issuer "Nordmark Certification GmbH" --subject "Certificate NMC-62443-2026-0117" \
    --statement "Certificate NMC-62443-2026-0117 as issued, status valid" --out "$bodydir/nmc-0117.cose" >/dev/null
evl signer add --kinds countersignature --x509-root "$keys/certification-root-ca.pem"
cert_csig=$(evl register "$bodydir/nmc-0117.cose" --receipt "$out/receipts" | cut -d' ' -f1)
echo "countersignature: $cert_csig" >&2

step "product/legal records the accuracy and certification claims as published"
claim_acc=$(record claim claim-accuracy.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-ACC-001")
claim_acc_over=$(record claim claim-accuracy-overclaim.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-ACC-002")
claim_cert=$(record claim claim-certified.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-SEC-001")
claim_cert_over=$(record claim claim-certified-overclaim.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-SEC-002")
echo "claim (accuracy):  $claim_acc" >&2
echo "claim (accuracy, over-claims its evidence): $claim_acc_over" >&2
echo "claim (IEC 62443-4-2):  $claim_cert" >&2
echo "claim (IEC 62443-4-2 and EU AI Act, over-claims): $claim_cert_over" >&2

step "product/legal records incident AUR-2026-014 and its fix"
inc=$(record incident incident-aur-2026-014.toml product-legal.key \
        "Aurelis Security Systems" "Incident AUR-2026-014")
echo "incident:         $inc" >&2

step "the log signs a checkpoint (C2SP signed note)"
evl checkpoint
old_size=$(sed -n 2p "$out/builds.checkpoint")
new_size=$(evl log --json | grep -o '"index":[0-9]*' | wc -l)

step "consistency proof: the tree of $old_size entries is a prefix of the tree of $new_size"
evl consistency "$old_size" "$new_size"

step "inclusion proof of firmware 4.2.0"
evl prove "$fw1"

step "what the ledger holds"
evl show "$lab"
evl show "$claim2"
evl show "$inc"

step "audit: recompute every hash, node, signature and checkpoint"
evl audit

# cosign_checkpoint: the log signs a checkpoint; an independent witness checks that it extends the last one
# it saw and cosigns it; the operator stores the cosignature (checked against the witness's key).
wdir=$EVLEDGER_DIR/witness
cosign_checkpoint() {
  if [ ! -f "$wdir/state" ]; then
    evl witness init --name witness.example/w1 --key "$keys/witness.key" --out "$wdir" \
        --log-key "$(evl key show "$keys/log.key.pub" --name aurelis.example/evidence-log | sed -n 's/^vkey //p')"
  fi
  evl checkpoint >"$out/latest.checkpoint"
  local seen proof=()
  seen=$(awk 'NR == 2 { print $2 }' "$wdir/state")
  if [ -n "$seen" ]; then
    evl consistency "$seen" "$(sed -n 2p "$out/latest.checkpoint")" >"$out/witness.proof"
    proof=(--proof "$out/witness.proof")
  fi
  evl witness cosign "$out/latest.checkpoint" "${proof[@]}" --state "$wdir" >"$out/cosigned.checkpoint"
  if ! evl witness list 2>/dev/null | grep -qxF "$(cat "$wdir/witness.vkey") https://witness.example/w1"; then
    evl witness add "$wdir/witness.vkey" --url https://witness.example/w1
  fi
  evl checkpoint --cosigned "$out/cosigned.checkpoint"
}

step "an independent witness checks the new checkpoint extends what it saw before, and cosigns it; the operator configures the witness once, then stores its cosignature (checked against its key)"
cosign_checkpoint

step "export each claim with everything behind it, proving consistency with the buyer's earlier checkpoint"
docs=$ex/documents
evl bundle --claim "$claim2" --out "$out/claim-level2.bundle.cbor" --since "$out/builds.checkpoint" \
    --attach "$docs/brochure-2026-04-p4.txt" --attach "$docs/tender-T-2026-FG3-s5.3.txt"
evl bundle --claim "$claim3" --out "$out/claim-level3.bundle.cbor" --since "$out/builds.checkpoint" \
    --attach "$docs/website-liveness.html"
for c in claim_acc claim_acc_over claim_cert claim_cert_over; do
  evl bundle --claim "${!c}" --out "$out/$c.bundle.cbor"
done

# The buyer's trust file names the PAD, GDPR and CRA incident, accuracy and certification
# profiles, and knows the certification body: adverse entries travel in every bundle, so once a
# certificate has been withdrawn (below, or on an earlier run), every later bundle carries the
# notice, even a PAD claim's or an incident's.
trust=$keys/buyer-certified.trust.toml
step "the buyer verifies the Level 2 claim offline with keys.example/buyer-certified.trust.toml"
evl verify "$out/claim-level2.bundle.cbor" --trust "$trust"

step "the buyer verifies the Level 3 claim: the evidence does not back it"
if evl verify "$out/claim-level3.bundle.cbor" --trust "$trust"; then
  echo "the over-claim was not caught" >&2
  exit 1
else
  status=$?
  [ "$status" -eq 4 ] || { echo "expected exit 4 (policy not met), got $status" >&2; exit 1; }
  echo "caught: policy not met (exit $status), as expected" >&2
fi

# expect_not_met BUNDLE WHAT: the buyer's verifier must reject BUNDLE with exit 4.
expect_not_met() {
  local status=0
  evl verify "$1" --trust "$trust" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "the $2 was not caught" >&2
    exit 1
  fi
  [ "$status" -eq 4 ] || { echo "expected exit 4 (policy not met), got $status" >&2; exit 1; }
  echo "caught: $2, policy not met (exit $status), as expected" >&2
}

step "the buyer verifies the accuracy claim"
evl verify "$out/claim_acc.bundle.cbor" --trust "$trust"

step "the buyer verifies the accuracy over-claim: a lower FMR than measured, and a build whose matcher was not tested"
expect_not_met "$out/claim_acc_over.bundle.cbor" "accuracy over-claim"

step "the buyer verifies the certification claim"
evl verify "$out/claim_cert.bundle.cbor" --trust "$trust"

step "the buyer verifies the certification over-claim: a model outside the certificate's scope, and a regulation no certificate backs"
expect_not_met "$out/claim_cert_over.bundle.cbor" "certification over-claim"

step "Nordmark Certification withdraws the IEC 62443-4-2 certificate; product/legal records the withdrawal"
withdrawal=$(record certification certification-iec62443-withdrawn.toml product-legal.key \
        "Aurelis Security Systems" "Certificate NMC-62443-2026-0117 withdrawn")
echo "withdrawal:       $withdrawal" >&2
cosign_checkpoint
evl bundle --claim "$claim_cert" --out "$out/claim_cert_withdrawn.bundle.cbor"

step "the buyer verifies the certification claim again: the withdrawal is adverse, so the bundle must carry it, and the claim fails"
expect_not_met "$out/claim_cert_withdrawn.bundle.cbor" "claim on a withdrawn certificate"

step "product/legal records vulnerability AUR-2026-031 as each CRA Art. 14 report went out: early warning, notification, final report"
# The record is re-recorded as the response unfolds; each record repeats the last and adds to it.
vuln=()
for stage in early-warning notification final-report; do
  vuln+=("$(record incident "incident-aur-2026-031-$stage.toml" product-legal.key \
        "Aurelis Security Systems" "Incident AUR-2026-031 ($stage)")")
done
echo "incident AUR-2026-031: ${vuln[*]}" >&2
cosign_checkpoint
evl bundle --entry "${vuln[0]}" --entry "${vuln[1]}" --entry "${vuln[2]}" \
    --out "$out/incident-aur-2026-031.bundle.cbor"

step "the buyer verifies the actively exploited vulnerability's three reports against CRA Art. 14 (incident-cra-art14.toml)"
evl verify "$out/incident-aur-2026-031.bundle.cbor" --trust "$trust"

# ---- Export control, due diligence and deployments, as an export auditor samples them ----
# The profiles help check evidence; they are not legal advice. Export compliance signs with the
# product/legal key here. Each audit bundle gathers one decision's records, shipments, end-use
# checks, the classifications of its builds and the due diligence of its end user; the log's
# adverse entries travel in every bundle.
auditor=$keys/export-auditor.trust.toml
pl() { record "$1" "$2" product-legal.key "Aurelis Security Systems" "$3"; }
# audit_export NAME DECISION EXPECTED WHAT: bundle the decision for audit and verify it; the exit
# code must be EXPECTED.
audit() {
  local status=0
  evl verify "$out/$1.bundle.cbor" --trust "$auditor" || status=$?
  [ "$status" -eq "$2" ] || { echo "$1: expected exit $2, got $status" >&2; exit 1; }
  echo "verdict for $1: $3 (exit $status), as expected" >&2
}

step "export compliance classifies both builds, in the EU and the US"
for f in export-classification-eu-4.2.0 export-classification-us-4.2.0 \
         export-classification-eu-4.2.1 export-classification-us-4.2.1; do
  pl export-classification "$f.toml" "Classification $f" >/dev/null
done

step "scenario 1: access-control terminals (1:1 only) to Japan, screened and classified before they ship"
dec_0101=$(pl export-decision export-decision-exp-0101.toml "Export decision EXP-2026-0101")
pl shipment shipment-exp-0101.toml "Shipment of EXP-2026-0101" >/dev/null
cosign_checkpoint >/dev/null
evl bundle --export-decision "$dec_0101" --out "$out/export-exp-0101.bundle.cbor"
audit export-exp-0101 0 "the export is classified, screened before shipment and licensed"

step "scenario 2: 1:N-capable terminals for a police force, whose due diligence was logged only after the decision"
dec_0102=$(pl export-decision export-decision-exp-0102.toml "Export decision EXP-2026-0102")
pl hr-due-diligence hrdd-dps-2026-07.toml "Due diligence HRDD-2026-07" >/dev/null
cosign_checkpoint >/dev/null
evl bundle --export-decision "$dec_0102" --out "$out/export-exp-0102.bundle.cbor"
audit export-exp-0102 4 "policy not met: due diligence logged after the decision"

step "scenario 3: a consignment left unscreened; screening added afterwards, back-dated, is logged after the shipment"
dec_0103=$(pl export-decision export-decision-exp-0103.toml "Export decision EXP-2026-0103")
pl shipment shipment-exp-0103.toml "Shipment of EXP-2026-0103" >/dev/null
evl record export-decision "$(fill "$ex/export-decision-exp-0103-screened.toml")" \
    --key "$keys/product-legal.key" --issuer "Aurelis Security Systems" \
    --subject "Export decision EXP-2026-0103 (screening added)" --iat 2026-06-01T09:30:00Z >/dev/null
cosign_checkpoint >/dev/null
evl bundle --export-decision "$dec_0103" --out "$out/export-exp-0103.bundle.cbor"
audit export-exp-0103 4 "policy not met: back-dated screening logged after the shipment"

step "scenario 5: a BIPA deployment in Illinois keeping templates five years after the last visit"
dep=$(pl deployment-record deployment-us-il-lobby.toml "Deployment DEP-US-IL-0007")
cosign_checkpoint >/dev/null
evl bundle --deployment "$dep" --out "$out/deployment-us-il.bundle.cbor"
audit deployment-us-il 4 "policy not met: retention longer than BIPA's three years"

step "scenario 4: the post-shipment verification of EXP-2026-0101 is unfavourable, and a later decision for the same end user follows"
pl end-use-check end-use-check-exp-0101.toml "End-use check of EXP-2026-0101" >/dev/null
dec_0104=$(pl export-decision export-decision-exp-0104.toml "Export decision EXP-2026-0104")
cosign_checkpoint >/dev/null
evl bundle --export-decision "$dec_0104" --out "$out/export-exp-0104.bundle.cbor"
audit export-exp-0104 4 "policy not met: an unfavourable end-use check blocks the later decision"
# Scenario 6, the same bundle with the unfavourable check removed by hand, fails completeness
# (exit 1): tests/walkthrough.rs edits the bundle and checks it.
