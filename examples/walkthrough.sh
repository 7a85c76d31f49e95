#!/usr/bin/env bash
# The evledger walkthrough: record the FaceGate 3D example evidence into a ledger, sign
# checkpoints, prove inclusion and consistency, audit everything; then, as a buyer would, export
# two claims as bundles and verify them offline: one is backed by its evidence, one over-claims;
# last, record an actively exploited vulnerability's three CRA Art. 14 reports and verify them.
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
# examples write @FW_420@, @FW_421@, @LAB_RESULT@ and @COUNTERSIG@, and fill() copies an example
# into a temporary directory with the hashes recorded so far filled in.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fill() {
  local out
  out=$tmp/$(basename "$1")
  sed -e "s/@FW_420@/${fw1:-@FW_420@}/g" -e "s/@FW_421@/${fw2:-@FW_421@}/g" \
      -e "s/@LAB_RESULT@/${lab:-@LAB_RESULT@}/g" -e "s/@COUNTERSIG@/${csig:-@COUNTERSIG@}/g" \
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

step "product/legal records the lab's PAD result and sends the lab a bundle of it"
lab=$(record lab-result lab-result-pad-l2.toml product-legal.key \
        "Aurelis Security Systems" "FaceGate 3D 4.2.0 on FG3-100: PAD report KBL-PAD-2026-0142")
echo "lab result:       $lab" >&2
evl checkpoint >/dev/null
evl bundle --entry "$lab" --out "$out/lab-result.bundle.cbor"
log_vkey=$(evl key show "$keys/log.key.pub" --name aurelis.example/evidence-log | sed -n 's/^vkey //p')

step "the lab, in its own directory with its own key, checks the bundle and countersigns the entry"
labdir=$tmp/kestrel-lab
mkdir -p "$labdir"
cp "$out/lab-result.bundle.cbor" "$labdir/"
evl countersign --bundle "$labdir/lab-result.bundle.cbor" "$lab" --log-key "$log_vkey" \
    --key "$keys/lab.key" --cert "$keys/lab-cert.pem" \
    --issuer "Kestrel Biometric Test Lab" --subject "Report KBL-PAD-2026-0142" \
    --statement "Results as issued in report KBL-PAD-2026-0142" --out "$labdir/kbl-0142.cose" >/dev/null

step "the vendor admits the accreditation body's root for countersignatures and registers the lab's file"
evl signer add --kinds countersignature --x509-root "$keys/accreditation-root-ca.pem"
csig=$(evl register "$labdir/kbl-0142.cose" --receipt "$out/receipts" | cut -d' ' -f1)
echo "countersignature: $csig (receipt for the lab in $out/receipts)" >&2

step "product/legal records the claims as published, with the evidence they cite"
claim2=$(record claim claim-pad-level2.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-PAD-002")
claim3=$(record claim claim-pad-level3-overclaim.toml product-legal.key \
        "Aurelis Security Systems" "Claim CLM-FG3-PAD-003")
echo "claim (Level 2):  $claim2" >&2
echo "claim (Level 3, over-claims its evidence): $claim3" >&2

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

step "the buyer verifies the Level 2 claim offline with keys.example/buyer.trust.toml"
evl verify "$out/claim-level2.bundle.cbor" --trust "$keys/buyer.trust.toml"

step "the buyer verifies the Level 3 claim: the evidence does not back it"
if evl verify "$out/claim-level3.bundle.cbor" --trust "$keys/buyer.trust.toml"; then
  echo "the over-claim was not caught" >&2
  exit 1
else
  status=$?
  [ "$status" -eq 4 ] || { echo "expected exit 4 (policy not met), got $status" >&2; exit 1; }
  echo "caught: policy not met (exit $status), as expected" >&2
fi

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
evl verify "$out/incident-aur-2026-031.bundle.cbor" --trust "$keys/buyer.trust.toml"
