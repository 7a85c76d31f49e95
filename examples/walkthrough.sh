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
fi

step "release engineering signs two firmware builds"
fw1=$(evl record firmware-build "$ex/firmware-4.2.0.toml" --key "$keys/release-engineer.key" \
        --issuer "Aurelis Security Systems" --subject "FaceGate 3D 4.2.0" | cut -d' ' -f1)
fw2=$(evl record firmware-build "$ex/firmware-4.2.1.toml" --key "$keys/release-engineer.key" \
        --issuer "Aurelis Security Systems" --subject "FaceGate 3D 4.2.1" | cut -d' ' -f1)
echo "firmware 4.2.0: $fw1" >&2
echo "firmware 4.2.1: $fw2" >&2

step "the log signs a checkpoint (C2SP signed note)"
evl checkpoint

step "inclusion proof of firmware 4.2.0"
evl prove "$fw1"

step "what the ledger holds"
evl show "$fw2"

step "audit: recompute every hash, node, signature and checkpoint"
evl audit
