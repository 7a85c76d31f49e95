#!/usr/bin/env bash
# Builds the offline verifier page: one HTML file, dist/evledger-verify.html, with the verifier
# compiled to WebAssembly inlined (base64), a classic script (wasm-bindgen --target no-modules),
# no external resource, and a Content-Security-Policy whose hashes are computed here. Prints the
# page's SHA-256 (to publish with a release) and the digest the page prints in its reports.
#
#   web/build.sh            # from anywhere; needs the wasm32-unknown-unknown target, python3 and
#                           # the wasm-bindgen CLI at the version of web/Cargo.lock (0.2.130)
#
# CARGO_TARGET_DIR is honoured; the page's layout and the digest rule are in web/README.md.
set -euo pipefail
web=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$web")
target=${CARGO_TARGET_DIR:-$web/target}
out=$web/dist
wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' "$web/Cargo.lock")
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbg" ]; then
  echo "web/build.sh: needs the wasm-bindgen CLI $wbg (web/Cargo.lock): cargo install wasm-bindgen-cli --version $wbg" >&2
  exit 1
fi
# The same sources make the same page wherever they are checked out: no local path in the module.
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root=/evledger --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
(cd "$web" && CARGO_TARGET_DIR=$target cargo build --release --lib --target wasm32-unknown-unknown --quiet)
gen=$target/page-bindgen
rm -rf "$gen"
wasm-bindgen --target no-modules --no-typescript --out-dir "$gen" \
  "$target/wasm32-unknown-unknown/release/evledger_web.wasm"
mkdir -p "$out"
python3 "$web/page/assemble.py" "$web/page" "$gen/evledger_web.js" "$gen/evledger_web_bg.wasm" \
  "$out/evledger-verify.html"
