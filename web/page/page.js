// evledger's offline verifier page. This one script runs twice: in the page, where it reads the
// chosen files and draws the report, and as a Web Worker (from a blob: URL of its own text), where
// the WebAssembly verifier runs, so that the page can draw progress while a large bundle is
// verified. The wasm-bindgen glue (`wasm_bindgen`) precedes it in the same script element.
/* global wasm_bindgen */
(function () {
  "use strict";

  // ---- In the worker: verify, report progress, return the JSON report. ----
  if (typeof document === "undefined") {
    let lastJson = null;
    self.onmessage = async function (ev) {
      const m = ev.data;
      try {
        // The printable report to file, as `evledger verify --html` writes it, made on demand.
        if (m.kind === "html") {
          self.postMessage({ kind: "html", html: wasm_bindgen.reportHtml(lastJson) });
          return;
        }
        wasm_bindgen.initSync({ module: m.wasm });
        const files = new wasm_bindgen.Files();
        for (const [name, bytes] of m.named) files.add(name, bytes);
        const held = new wasm_bindgen.Held();
        for (const [name, bytes] of m.held) held.add(name, bytes);
        let last = 0;
        const progress = function (stage, done, total) {
          const t = performance.now();
          if (t - last > 50 || done === total) {
            last = t;
            self.postMessage({ kind: "progress", stage: stage, done: done, total: total });
          }
        };
        const started = performance.now();
        // The bundle's SHA-256 for the report, by the browser's own (hardware) SHA-256 where it
        // has one; else the module computes it.
        let digest;
        if (self.crypto && crypto.subtle) {
          digest = new Uint8Array(await crypto.subtle.digest("SHA-256", m.bundle));
        }
        const json = wasm_bindgen.verifyPage(
          m.bundle, m.trustName, m.trustText, files, held, BigInt(m.now), m.integrityOnly, progress,
          m.pageDigest, digest);
        const ms = performance.now() - started;
        lastJson = json;
        self.postMessage({ kind: "report", json: json, ms: ms });
      } catch (e) {
        self.postMessage({ kind: "error", message: String((e && e.message) || e) });
      }
    };
    return;
  }

  // ---- In the page. ----
  const $ = (id) => document.getElementById(id);
  const pageDigest = document.querySelector('meta[name="evledger-page-sha256"]').content;
  const scriptText = $("evledger-script").textContent;
  let wasmBytes = null;
  // The worker of the last verification, kept for its HTML report until the next one.
  let worker = null;
  // What the page shows and saves, and what tests read: the verifier's JSON report as it came.
  window.evledger = { state: "idle", report: null, reportJson: null, ms: null, totalMs: null, pageDigest: pageDigest };

  // Untrusted text (issuers, subjects, messages quoting them) is set as text, never as markup;
  // controls and bidi controls are written as \u{hex}, as the command line prints them
  // (evledger::terminal::escape), so that no character can reorder what the reader sees.
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const esc = (s) => String(s).replace(unsafe, (c) => "\\u{" + c.charCodeAt(0).toString(16) + "}");
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = esc(text);
    return e;
  }

  const headlines = {
    "verified": "VERIFIED",
    "invalid-bundle": "INVALID BUNDLE",
    "verification-failed": "VERIFICATION FAILED",
    "policy-not-met": "POLICY NOT MET",
  };
  const rfc3339 = (t) => new Date(t * 1000).toISOString().replace(".000Z", "Z");

  function parseTime(s) {
    s = s.trim();
    if (s === "") return Math.floor(Date.now() / 1000);
    if (/^-?\d+$/.test(s)) return Number(s);
    const t = Date.parse(s);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !isNaN(t)) {
      return Math.floor(t / 1000);
    }
    throw new Error("Verification time: " + JSON.stringify(s) + " is neither RFC 3339 (2026-12-05T12:00:00Z) nor Unix seconds");
  }

  function wasm() {
    if (!wasmBytes) {
      const b64 = $("evledger-wasm").textContent.trim();
      const bin = atob(b64);
      wasmBytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) wasmBytes[i] = bin.charCodeAt(i);
    }
    return wasmBytes;
  }

  async function read(file) {
    return [file.name, new Uint8Array(await file.arrayBuffer())];
  }

  function fail(message) {
    window.evledger.state = "error";
    $("error").textContent = esc(message);
    $("status").textContent = "";
    $("progress-box").hidden = true;
    $("verify").disabled = false;
  }

  async function start(ev) {
    ev.preventDefault();
    $("error").textContent = "";
    $("report").hidden = true;
    const bundle = $("bundle").files[0];
    const trust = $("trust").files[0];
    if (!bundle) return fail("Choose the bundle (.bundle.cbor) the vendor sent.");
    if (!trust) return fail("Choose your trust file (.toml).");
    let now;
    try {
      now = parseTime($("time").value);
    } catch (e) {
      return fail(e.message);
    }
    window.evledger.state = "running";
    // When each stage of the verifier ended, in ms from the start (benchmarks read it).
    window.evledger.stages = [];
    $("verify").disabled = true;
    $("status").textContent = "Reading the files…";
    const started = performance.now();
    const [, bundleBytes] = await read(bundle);
    const trustText = await trust.text();
    const named = await Promise.all(Array.from($("named").files, read));
    const held = await Promise.all(Array.from($("held").files, read));
    $("progress-box").hidden = false;
    $("progress").removeAttribute("value");
    $("status").textContent = "Verifying…";
    const url = URL.createObjectURL(new Blob([scriptText], { type: "text/javascript" }));
    if (worker) worker.terminate();
    worker = new Worker(url);
    URL.revokeObjectURL(url);
    worker.onmessage = function (e) {
      const m = e.data;
      if (m.kind === "progress") {
        if (m.done === m.total) window.evledger.stages.push([m.stage, m.done, performance.now() - started]);
        $("progress").max = Math.max(m.total, 1);
        $("progress").value = m.done;
        $("status").textContent = "Verifying: " + m.stage + " " + m.done + " / " + m.total;
        return;
      }
      if (m.kind === "html") return download(m.html, "text/html", "evledger-report.html");
      if (m.kind === "error") return fail(m.message);
      window.evledger.ms = m.ms;
      window.evledger.totalMs = performance.now() - started;
      show(m.json, now);
    };
    worker.onerror = function (e) {
      fail("The verifier stopped: " + (e.message || "unknown error"));
    };
    worker.postMessage({
      wasm: wasm(), bundle: bundleBytes, trustName: trust.name, trustText: trustText,
      kind: "verify", named: named, held: held, now: now, integrityOnly: $("integrity-only").checked,
      pageDigest: pageDigest,
    });
  }

  function checkItem(c) {
    const li = el("li", c.outcome === "pass" ? "pass" : "fail");
    li.appendChild(el("span", "mark", c.outcome === "pass" ? "ok" : "FAIL"));
    li.appendChild(el("span", "step", c.step));
    if (c.field) li.appendChild(el("span", "field", c.field + ": "));
    li.appendChild(el("span", "message", c.message));
    if (c.citation) li.appendChild(el("span", "cite", "rule source: " + c.citation));
    // The page has no Sigstore verifier (it needs OpenSSL): a build citing Sigstore evidence
    // fails here, and says where it can be checked.
    if (c.step === "sigstore" && c.outcome === "fail" && /^not checked/.test(c.message)) {
      li.appendChild(el("span", "note", "not checked in the browser; run the CLI (evledger verify, built with the sigstore feature)"));
    }
    return li;
  }

  function judgedLine(j) {
    const subject = j.type ? j.field + " (" + j.type + ")" : j.field;
    const by = (j.judged_by || []).map((b) => b.rule + " (" + b.profile + ")").join(", ");
    const text = j.outcome === "not-judged" ? subject + ": not judged"
      : subject + ": judged by " + by + (j.outcome === "held" ? ", held" : ", FAILED");
    return el("p", "judged", text);
  }

  function show(json, now) {
    const r = JSON.parse(json);
    window.evledger.reportJson = json;
    window.evledger.report = r;
    window.evledger.verifiedAt = now;
    const failed = r.checks.filter((c) => c.outcome === "fail");
    const v = $("verdict");
    v.dataset.verdict = r.verdict;
    v.dataset.integrityOnly = r.integrity_only ? "true" : "false";
    $("headline").textContent = headlines[r.verdict] || esc(r.verdict);
    if (r.integrity_only) $("headline").appendChild(el("span", "integrity", "INTEGRITY ONLY"));
    $("counts").textContent = r.entries.length + " entries, " + r.checks.length + " checks, " + failed.length + " failed";
    $("integrity-note").hidden = !r.integrity_only;
    $("integrity-note").textContent = "integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule";
    $("log").textContent = r.origin ? esc("log " + r.origin + " at tree size " + r.tree_size) : "";
    const c = r.completeness || {};
    $("completeness").textContent = "completeness: " + esc(c.status === "shown"
      ? "no adverse entry was withheld up to tree size " + c.tree_size + " (" + c.adverse_entries + " adverse entr" + (c.adverse_entries === 1 ? "y" : "ies") + " carried)"
      : "NOT SHOWN: " + (c.reason || ""));
    const profiles = (r.profiles || []).map((p) => p.id + " " + p.version + " " + p.sha256).join("; ");
    $("digests").textContent = esc("bundle SHA-256 " + (r.bundle_sha256 || "?") + "; trust file SHA-256 " +
      (r.trust_file_sha256 || "?") + (profiles ? "; profiles: " + profiles : ""));
    $("verified-at").textContent = rfc3339(now);
    $("page-digest").textContent = pageDigest;

    const failedBox = $("failed");
    failedBox.replaceChildren();
    if (failed.length) {
      const g = el("section", "group");
      g.appendChild(el("h3", null, "Failed checks (" + failed.length + ")"));
      const ul = el("ul", "checks");
      for (const f of failed) {
        const li = checkItem(f);
        if (f.entry !== null && f.entry !== undefined) li.insertBefore(el("span", "field", "entry " + f.entry + " "), li.children[1]);
        ul.appendChild(li);
      }
      g.appendChild(ul);
      failedBox.appendChild(g);
    }

    // Every check, grouped by entry in report order; checks about the bundle as a whole first.
    const byEntry = new Map();
    const general = [];
    for (const ch of r.checks) {
      if (ch.entry === null || ch.entry === undefined) general.push(ch);
      else {
        if (!byEntry.has(ch.entry)) byEntry.set(ch.entry, []);
        byEntry.get(ch.entry).push(ch);
      }
    }
    const groups = $("groups");
    groups.replaceChildren();
    const frag = document.createDocumentFragment();
    if (general.length) {
      const g = el("section", "group");
      g.appendChild(el("h3", null, "The bundle"));
      const ul = el("ul", "checks");
      for (const ch of general) ul.appendChild(checkItem(ch));
      g.appendChild(ul);
      frag.appendChild(g);
    }
    for (const e of r.entries) {
      const g = el("section", "group entry");
      g.dataset.entry = e.index;
      g.appendChild(el("h3", null, "entry " + e.index + " " + e.entry_hash.slice(0, 16) + " " + e.kind + " by " + e.issuer + " (" + e.subject + ")"));
      g.appendChild(el("p", "summary", e.summary));
      const checks = byEntry.get(e.index) || [];
      if (e.witnessed_at !== null && e.witnessed_at !== undefined) {
        g.appendChild(el("p", "meta", "in the log by " + rfc3339(e.witnessed_at) + " (witnessed)"));
      } else if (checks.some((ch) => ch.step === "inclusion" && ch.outcome === "fail")) {
        g.appendChild(el("p", "meta", "no witnessed time: not proved to be in the log"));
      }
      const ul = el("ul", "checks");
      for (const ch of checks) ul.appendChild(checkItem(ch));
      g.appendChild(ul);
      for (const j of (r.judged || []).filter((j) => j.entry === e.index)) g.appendChild(judgedLine(j));
      frag.appendChild(g);
    }
    groups.appendChild(frag);
    $("report").hidden = false;
    $("progress-box").hidden = true;
    $("status").textContent = "Verified in " + (window.evledger.totalMs / 1000).toFixed(2) + " s.";
    $("verify").disabled = false;
    window.evledger.state = "done";
  }

  // Downloads `text` as a file made here (a blob: URL): nothing is sent anywhere.
  function download(text, type, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  $("inputs").addEventListener("submit", start);
  $("save").addEventListener("click", () => download(window.evledger.reportJson, "application/json", "evledger-report.json"));
  $("save-html").addEventListener("click", () => worker && worker.postMessage({ kind: "html" }));
})();
