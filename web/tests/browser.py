#!/usr/bin/env python3
"""The verifier page in a real browser: headless Chromium, driven through the DevTools protocol
over a pipe (--remote-debugging-pipe; the standard library only).

For every bundle the walkthrough makes (examples/walkthrough.sh, run into a temporary
directory), and for held-file, packed-trust-file, no-profile, integrity-only and tampered cases,
it opens web/dist/evledger-verify.html from file://, sets the files on the page's inputs
(DOM.setFileInputFiles), clicks Verify, waits for the verdict, reads the DOM and the page's JSON
report, and checks that:
- the report equals `evledger verify --json --time T` on the same inputs (fields naming the tool
  left aside), and the verdict the DOM shows is the report's;
- the page made no network request (Network domain events of the page and of its worker) and
  broke no rule of its Content-Security-Policy.
It saves screenshots for the README, and with --bench BUNDLE TRUST times the page (performance.now
in its worker) against the native CLI on the same bundle, and prints both; nothing is asserted
about time.

Usage: browser.py --evledger BIN [--page HTML] [--screenshots DIR] [--bench BUNDLE TRUST]
Exit status 0 when every case agrees; the closing line is "N passed, N failed".
"""

import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

WEB = pathlib.Path(__file__).resolve().parent.parent
ROOT = WEB.parent


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium, spoken to over --remote-debugging-pipe (NUL-separated JSON)."""

    def __init__(self, chromium, profile_dir):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [
            chromium,
            "--headless",
            "--remote-debugging-pipe",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            f"--user-data-dir={profile_dir}",
            "--window-size=1200,900",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")

        def fds():
            # Chromium reads commands from fd 3 and writes to fd 4: moved above both first, so
            # that neither dup2 overwrites the other pipe's end.
            r, w = 100, 101
            os.dup2(to_chrome_r, r)
            os.dup2(from_chrome_w, w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            args,
            preexec_fn=fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read_message(self):
        while b"\0" not in self._buf:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method, params=None, session=None):
        """Sends a command and returns its result; events read meanwhile are kept."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def poll(self, session):
        """Reads pending events (a cheap command round trip)."""
        self.send("Runtime.evaluate", {"expression": "0"}, session)


class Page:
    """One tab, with the Network domain on for it and every worker it starts."""

    def __init__(self, browser):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log", "DOM"):
            self.send(f"{domain}.enable")
        self.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None):
        return self.b.send(method, params, self.session)

    def handle_attachments(self):
        """Network on for each worker as it starts, then let it run."""
        for ev in list(self.b.events):
            if ev.get("method") == "Target.attachedToTarget" and not ev.get("_seen"):
                ev["_seen"] = True
                sid = ev["params"]["sessionId"]
                self.b.send("Network.enable", {}, sid)
                self.b.send("Runtime.runIfWaitingForDebugger", {}, sid)

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url):
        self.b.events.clear()
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.b.events):
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not load")
            self.b.poll(self.session)

    def set_files(self, element_id, paths):
        doc = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": doc, "selector": f"#{element_id}"})["nodeId"]
        self.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(p) for p in paths]})

    def wait_done(self, timeout=600):
        deadline = time.monotonic() + timeout
        while True:
            self.handle_attachments()
            state = self.eval("window.evledger.state")
            if state in ("done", "error"):
                return state
            if time.monotonic() > deadline:
                raise RuntimeError("no verdict in time")
            time.sleep(0.05)

    def requests(self):
        """Every network request the page or its workers started."""
        return [e["params"]["request"]["url"] for e in self.b.events if e.get("method") == "Network.requestWillBeSent"]

    def csp_violations(self):
        out = []
        for e in self.b.events:
            if e.get("method") == "Log.entryAdded":
                text = e["params"]["entry"].get("text", "")
                if "Content Security Policy" in text or "Refused to" in text:
                    out.append(text)
        return out

    def screenshot(self, path):
        height = self.eval("document.documentElement.scrollHeight")
        data = self.send("Page.captureScreenshot", {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1200, "height": min(height, 1800), "scale": 1},
        })["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))


def named_files(trust_path):
    """The files a trust file names, as paths relative to its directory (profiles, roots, ...)."""
    doc = tomllib.loads(pathlib.Path(trust_path).read_text())
    found = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and re.search(r"\.(toml|pem|json)$", v):
            found.append(v)

    walk(doc)
    base = pathlib.Path(trust_path).parent
    return [(base / f).resolve() for f in found]


def without_tool(report):
    """The report less the fields that name the tool that made it (and the page's digest)."""
    if isinstance(report, dict):
        return {k: without_tool(v) for k, v in report.items()
                if not (k.startswith("tool") or k.startswith("page") or k == "generator")}
    if isinstance(report, list):
        return [without_tool(v) for v in report]
    return report


def cli_report(evledger, case, now, work):
    """`evledger verify --json --time NOW` on the case. The files the buyer holds are given by
    file name from a directory holding copies of them, as the page names them by file name."""
    trust = pathlib.Path(case["trust"])
    args = [evledger, "verify", str(case["bundle"]), "--trust", str(trust), "--json", "--time", str(now)]
    if case.get("integrity_only"):
        args.append("--integrity-only")
    held_dir = pathlib.Path(tempfile.mkdtemp(dir=work))
    for h in case.get("held", []):
        shutil.copy(h, held_dir / pathlib.Path(h).name)
        args += ["--artifact", pathlib.Path(h).name]
    r = subprocess.run(args, cwd=held_dir, capture_output=True, text=True)
    if r.returncode not in (0, 1, 3, 4):
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


def run_page(page, url, case, now):
    page.open(url)
    page.set_files("bundle", [case["bundle"]])
    page.set_files("trust", [case["trust"]])
    if case.get("named"):
        page.set_files("named", case["named"])
    if case.get("held"):
        page.set_files("held", case["held"])
    page.eval(f"document.getElementById('time').value = {json.dumps(str(now))}")
    page.eval(f"document.getElementById('integrity-only').checked = {json.dumps(bool(case.get('integrity_only')))}")
    page.eval("document.getElementById('verify').click()")
    state = page.wait_done()
    if case.get("expect_error"):
        return {"state": state, "error": page.eval("document.getElementById('error').textContent")}
    if state != "done":
        raise RuntimeError("the page reported an error: " + str(page.eval("document.getElementById('error').textContent")))
    return {
        "json": json.loads(page.eval("window.evledger.reportJson")),
        "shown": page.eval("document.getElementById('verdict').dataset.verdict"),
        "headline": page.eval("document.getElementById('headline').textContent"),
        "digest": page.eval("document.getElementById('page-digest').textContent"),
        "groups": page.eval("document.querySelectorAll('#groups section.entry').length"),
        "ms": page.eval("window.evledger.ms"),
        "total_ms": page.eval("window.evledger.totalMs"),
        "stages": page.eval("window.evledger.stages"),
    }


def saved_html_report(browser, page, work, got):
    """Clicks "Save report (HTML)": the file is made in the page and names the verdict, the page
    and its digest. Returns the problems found."""
    downloads = work / "downloads"
    downloads.mkdir(exist_ok=True)
    browser.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    page.eval("document.getElementById('save-html').click()")
    saved = downloads / "evledger-report.html"
    deadline = time.monotonic() + 60
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    if not saved.exists():
        return ["Save report (HTML) wrote no file"]
    html = saved.read_text()
    problems = []
    for want in ("VERIFIED", got["digest"], "evledger-verify.html"):
        if want not in html:
            problems.append(f"the saved HTML report does not hold {want!r}")
    return problems


def make_cases(evledger, work):
    """The walkthrough's bundles with its buyer's trust file, and the held-file, packed, no-profile,
    integrity-only and tampered variants."""
    env = dict(os.environ, EVLEDGER=evledger, EVLEDGER_DIR=str(work / "ledger"), EVLEDGER_OUT=str(work / "out"))
    subprocess.run(["bash", str(ROOT / "examples/walkthrough.sh")], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trust = ROOT / "keys.example/buyer-certified.trust.toml"
    named = named_files(trust)
    cases = []
    for b in sorted((work / "out").glob("*.bundle.cbor")):
        cases.append({"name": b.name, "bundle": b, "trust": trust, "named": named})
    level2 = work / "out/claim-level2.bundle.cbor"
    docs = ROOT / "examples/facegate/documents"
    cases.append({"name": "held files", "bundle": level2, "trust": trust, "named": named,
                  "held": [docs / "brochure-2026-04-p4.txt", docs / "website-liveness.html",
                           ROOT / "keys.example/README.md"]})
    packed = work / "packed/buyer.trust.toml"
    packed.parent.mkdir()
    subprocess.run([evledger, "trust", "pack", str(trust), "--out", str(packed)], check=True,
                   capture_output=True)
    cases.append({"name": "packed trust file", "bundle": level2, "trust": packed, "named": []})
    bare = work / "bare/buyer.trust.toml"
    bare.parent.mkdir()
    bare.write_text(re.sub(r"(?ms)^profiles = \[.*?\]", "profiles = []", trust.read_text()))
    for f in named:
        if f.suffix == ".pem":
            shutil.copy(f, bare.parent / f.name)
    cases.append({"name": "no profile: not judged", "bundle": level2, "trust": bare,
                  "named": [f for f in named if f.suffix == ".pem"]})
    cases.append({"name": "integrity only", "bundle": level2, "trust": bare,
                  "named": [f for f in named if f.suffix == ".pem"], "integrity_only": True})
    tampered = work / "tampered.bundle.cbor"
    data = bytearray(level2.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    cases.append({"name": "tampered", "bundle": tampered, "trust": trust, "named": named})
    truncated = work / "truncated.bundle.cbor"
    truncated.write_bytes(level2.read_bytes()[:1000])
    cases.append({"name": "truncated", "bundle": truncated, "trust": trust, "named": named})
    # The trust file's profiles not given: the page says which, as the CLI does, and no verdict.
    cases.append({"name": "profiles missing", "bundle": level2, "trust": trust,
                  "named": [f for f in named if f.suffix == ".pem"],
                  "expect_error": "not given; add the file the trust file names"})
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--evledger", required=True)
    ap.add_argument("--page", default=str(WEB / "dist/evledger-verify.html"))
    ap.add_argument("--screenshots")
    ap.add_argument("--bench", nargs=2, metavar=("BUNDLE", "TRUST"))
    a = ap.parse_args()
    evledger = str(pathlib.Path(a.evledger).resolve())
    chromium = find_chromium()
    if not chromium:
        msg = "browser.py: Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            sys.exit(msg)
        print("SKIPPED: " + msg, file=sys.stderr)
        return 0
    page_path = pathlib.Path(a.page).resolve()
    url = page_path.as_uri()
    now = int(time.time())
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        browser = Browser(chromium, work / "profile")
        try:
            page = Page(browser)
            if a.bench:
                page.url_path = page_path
                bench(page, url, evledger, a.bench, now)
                return 0
            cases = make_cases(evledger, work)
            verdicts = set()
            for case in cases:
                problems = []
                try:
                    got = run_page(page, url, case, now)
                    if case.get("expect_error"):
                        if got["state"] != "error" or case["expect_error"] not in got["error"]:
                            raise RuntimeError(f"expected the error {case['expect_error']!r}, got {got}")
                        print(f"ok   {case['name']}: {got['error']}")
                        passed += 1
                        continue
                    cli = cli_report(evledger, case, now, work)
                    if without_tool(got["json"]) != without_tool(cli):
                        problems.append("the page's report differs from the CLI's:\n  page " +
                                        json.dumps(without_tool(got["json"]), sort_keys=True)[:2000] +
                                        "\n  cli  " + json.dumps(without_tool(cli), sort_keys=True)[:2000])
                    if got["shown"] != got["json"]["verdict"]:
                        problems.append(f"the page shows {got['shown']} for a {got['json']['verdict']} report")
                    if got["groups"] != len(got["json"]["entries"]):
                        problems.append(f"{got['groups']} entry groups shown for {len(got['json']['entries'])} entries")
                    if case.get("integrity_only") and "INTEGRITY ONLY" not in got["headline"]:
                        problems.append("an integrity-only report does not say so next to the verdict")
                    if not re.fullmatch(r"[0-9a-f]{64}", got["digest"]) or got["digest"] == "0" * 64:
                        problems.append(f"the page's digest is not shown: {got['digest']!r}")
                    tool = got["json"].get("tool", {})
                    if tool.get("name") != "evledger-verify.html" or tool.get("sha256") != got["digest"]:
                        problems.append(f"the report's tool does not name the page and its digest: {tool}")
                    outside = [u for u in page.requests() if u != url and not u.startswith("blob:")]
                    if outside:
                        problems.append(f"network requests: {outside}")
                    if page.csp_violations():
                        problems.append(f"CSP violations: {page.csp_violations()}")
                    verdicts.add(got["json"]["verdict"])
                    if case["name"] == "claim-level2.bundle.cbor":
                        problems += saved_html_report(browser, page, work, got)
                    if a.screenshots and case["name"] == "claim-level2.bundle.cbor":
                        page.screenshot(pathlib.Path(a.screenshots) / "page-verified.png")
                        # The HTML report the page saved, as a buyer files and prints it.
                        saved = work / "downloads" / "evledger-report.html"
                        if saved.exists():
                            page.open(saved.resolve().as_uri())
                            page.screenshot(pathlib.Path(a.screenshots) / "report.png")
                    if a.screenshots and case["name"] == "claim-level3.bundle.cbor":
                        page.screenshot(pathlib.Path(a.screenshots) / "page-policy-not-met.png")
                except Exception as e:  # a case that cannot run is a failed case
                    problems.append(f"{type(e).__name__}: {e}")
                if problems:
                    failed += 1
                    print(f"FAIL {case['name']}:\n  " + "\n  ".join(problems))
                else:
                    passed += 1
                    print(f"ok   {case['name']}: {got['json']['verdict']} ({len(got['json']['checks'])} checks)")
            # The cases must reach each verdict at least once, or they test little.
            for v in ("verified", "policy-not-met", "verification-failed", "invalid-bundle"):
                if v not in verdicts:
                    failed += 1
                    print(f"FAIL no case reached {v}")
        finally:
            browser.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def bench(page, url, evledger, files, now):
    """The page against the native CLI on one bundle; times printed, not asserted."""
    bundle, trust = (pathlib.Path(f).resolve() for f in files)
    case = {"bundle": bundle, "trust": trust, "named": named_files(trust)}
    args = [evledger, "verify", str(bundle), "--trust", str(trust), "--json", "--time", str(now)]
    rows = []
    for _ in range(5):
        t = time.perf_counter()
        r = subprocess.run(args, capture_output=True, text=True)
        cli_s = time.perf_counter() - t
        got = run_page(page, url, case, now)
        same = without_tool(got["json"]) == without_tool(json.loads(r.stdout))
        rows.append((cli_s, got["ms"] / 1000, got["total_ms"] / 1000, got["json"]["verdict"], same))
        print("page stages ended at (ms from the start, files read first): " +
              ", ".join(f"{s} {t:.0f}" for s, _, t in got["stages"]))
    wasm = re.search(r'id="evledger-wasm">([^<]*)<', pathlib.Path(page.url_path).read_text())
    print(f"page {pathlib.Path(page.url_path).stat().st_size} bytes; WebAssembly {len(base64.b64decode(wasm.group(1)))} bytes")
    for cli_s, page_s, total_s, verdict, same in rows:
        print(f"cli {cli_s:.3f} s; page verify {page_s:.3f} s, page with reading and drawing {total_s:.3f} s; "
              f"ratio {page_s / cli_s:.2f}x ({total_s / cli_s:.2f}x); verdict {verdict}; same report {same}")


if __name__ == "__main__":
    sys.exit(main())
