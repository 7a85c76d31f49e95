"""Assembles the verifier page: the template with its style, its script (the wasm-bindgen glue
followed by page.js) and the module in base64; a Content-Security-Policy with the SHA-256 of the
style and the script; then the page's own digest (web/README.md, "The page's digest").

Usage: assemble.py PAGE_DIR GLUE.js MODULE.wasm OUT.html
"""

import base64
import hashlib
import pathlib
import re
import sys

ZERO_DIGEST = "0" * 64
DIGEST_META = '<meta name="evledger-page-sha256" content="'


def csp_hash(text):
    """The CSP source expression for an inline element whose text is `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def main(page_dir, glue_path, wasm_path, out_path):
    page = pathlib.Path(page_dir)
    template = (page / "index.html").read_text()
    style = (page / "page.css").read_text()
    glue = pathlib.Path(glue_path).read_text()
    script = glue.rstrip() + "\n" + (page / "page.js").read_text()
    wasm = base64.b64encode(pathlib.Path(wasm_path).read_bytes()).decode()
    for name, text in (("style", style), ("script", script)):
        # An inline element ends at the first "</" of its end tag: none may occur in its text.
        if re.search(r"</(script|style)", text, re.IGNORECASE):
            sys.exit(f"assemble.py: the {name} holds an end tag; it cannot be inlined")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {csp_hash(script)} 'wasm-unsafe-eval'",
            f"style-src {csp_hash(style)}",
            "worker-src blob:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    html = template
    for key, value in (
        ("@CSP@", csp),
        ("@PAGE_SHA256@", ZERO_DIGEST),
        ("@STYLE@", style),
        ("@WASM_BASE64@", wasm),
        ("@SCRIPT@", script),
    ):
        if html.count(key) != 1:
            sys.exit(f"assemble.py: index.html must hold {key} exactly once")
        html = html.replace(key, value)
    if html.count(DIGEST_META + ZERO_DIGEST) != 1:
        sys.exit("assemble.py: the page digest's meta element must occur exactly once")
    # The page's digest: SHA-256 of the page with the digest written as 64 zeros.
    digest = hashlib.sha256(html.encode()).hexdigest()
    html = html.replace(DIGEST_META + ZERO_DIGEST, DIGEST_META + digest)
    out = pathlib.Path(out_path)
    out.write_text(html)
    wasm_size = pathlib.Path(wasm_path).stat().st_size
    print(f"{out}: {len(html.encode())} bytes (WebAssembly {wasm_size} bytes)")
    print(f"page digest (shown in its reports): {digest}")
    print(f"SHA-256 of the file (publish with the release): {hashlib.sha256(html.encode()).hexdigest()}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
