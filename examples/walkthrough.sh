#!/usr/bin/env bash
# The evledger walkthrough: record the FaceGate 3D example evidence into a ledger, sign a
# checkpoint, prove an entry's inclusion and the log's consistency, and audit everything.
#
#   EVLEDGER_DIR  ledger directory (default: ledger/ at the project root); created if absent,
#                 otherwise the walkthrough appends to it, so it can run again and again
#   EVLEDGER      the evledger binary (default: `evledger` on PATH, else built with cargo)
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
  evl init --origin "aurelis.example/evidence-log"
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

step "product/legal records the lab's PAD result; the lab countersigns it with its own key"
lab=$(record lab-result lab-result-pad-l2.toml product-legal.key \
        "Aurelis Security Systems" "FaceGate 3D 4.2.0 on FG3-100: PAD report KBL-PAD-2026-0142")
csig=$(record countersignature countersignature-lab.toml lab.key \
        "Kestrel Biometric Test Lab" "Report KBL-PAD-2026-0142")
echo "lab result:       $lab" >&2
echo "countersignature: $csig" >&2

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

step "inclusion proof of firmware 4.2.0"
evl prove "$fw1"

step "what the ledger holds"
evl show "$lab"
evl show "$claim2"
evl show "$inc"

step "audit: recompute every hash, node, signature and checkpoint"
evl audit
