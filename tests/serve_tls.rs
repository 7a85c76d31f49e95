//! HTTPS over real loopback (`specs/service.md`, "TLS"): `evledger serve --tls-cert --tls-key`
//! with a test CA made here by rcgen, and the clients over `https://` with `--ca`, with the
//! system's roots (which do not hold the test CA), and plain HTTP sent to the TLS port.
#![cfg(all(feature = "serve", feature = "client", feature = "tls"))]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use common::{Env, LEDGER, chmod, root, sha256_hex};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use evledger::receipt::{ReceiptEntry, verify_receipt};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PKCS_ED25519, PublicKeyData, SerialNumber, SignatureAlgorithm,
};

/// Only a guard against a hung server; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// An ed25519-dalek key rcgen signs with, so rcgen needs no crypto backend.
struct DalekKey {
    key: SigningKey,
    public: [u8; 32],
}

impl DalekKey {
    fn new(seed: u8) -> DalekKey {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let public = key.verifying_key().to_bytes();
        DalekKey { key, public }
    }

    /// The parameters' serial number and key identifier, which rcgen makes only with a crypto
    /// backend: the key's first byte, and the RFC 7093 §2 method 1 identifier.
    fn identify(&self, p: &mut CertificateParams) {
        use sha2::Digest as _;
        p.serial_number = Some(SerialNumber::from(u64::from(self.public[0]) + 1));
        p.key_identifier_method = KeyIdMethod::PreSpecified(
            sha2::Sha256::digest(self.subject_public_key_info())[..20].to_vec(),
        );
    }

    /// The key as a PKCS#8 PEM file, as `--tls-key` takes it.
    fn pem(&self) -> String {
        self.key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }
}

impl PublicKeyData for DalekKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

impl rcgen::SigningKey for DalekKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A CA named `cn`, self-signed with `key`: its parameters (to issue with) and its PEM.
fn ca(cn: &str, key: &DalekKey) -> (CertificateParams, String) {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    key.identify(&mut p);
    let pem = p.self_signed(key).unwrap().pem();
    (p, pem)
}

/// Writes the test PKI into `env`: `ca.pem` (the service's CA), `cert.pem` (the service's
/// certificate for localhost and 127.0.0.1, issued by it), `key.pem` (its key), `other-key.pem`
/// (a key of no certificate) and `other-ca.pem` (an unrelated CA).
fn pki(env: &Env) {
    let (ca_key, server_key) = (DalekKey::new(1), DalekKey::new(2));
    let (ca_params, ca_pem) = ca("evledger test CA", &ca_key);
    let mut p = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    server_key.identify(&mut p);
    let cert = p
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    env.write("ca.pem", &ca_pem);
    env.write("cert.pem", &cert.pem());
    env.write("key.pem", &server_key.pem());
    env.write("other-key.pem", &DalekKey::new(3).pem());
    env.write("other-ca.pem", &ca("another CA", &DalekKey::new(4)).1);
}

/// A ledger with the release key as a firmware-build signer, `log.vkey`, and `fw.cose`.
fn ledger(env: &Env) -> Vec<u8> {
    let key = env.path("log.key");
    std::fs::copy(root().join("keys.example/log.key"), &key).unwrap();
    chmod(&key, 0o600);
    let vkey = env
        .run(&[
            "init",
            "--origin",
            "aurelis.example/evidence-log",
            "--log-key",
            "log.key",
            "--ledger",
            LEDGER,
        ])
        .ok()
        .trim_end()
        .to_owned();
    env.write("log.vkey", &format!("{vkey}\n"));
    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        env.path("release.pub"),
    )
    .unwrap();
    env.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        "release.pub",
        "--ledger",
        LEDGER,
    ])
    .ok();
    env.run(&[
        "sign",
        "firmware-build",
        common::INPUT,
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.0",
        "--iat",
        "1800000000",
        "--out",
        "fw.cose",
    ])
    .ok();
    std::fs::read(env.path("fw.cose")).unwrap()
}

/// A running `evledger serve` over TLS, killed when dropped.
struct Server {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    url: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `evledger serve` with `args` after `--ledger L --listen 127.0.0.1:0`; waits for its
    /// first line.
    fn start(env: &Env, args: &[&str]) -> Server {
        let mut child = env
            .cmd(&["serve", "--ledger", LEDGER, "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line of serve: {line:?}"))
            .to_owned();
        Server {
            child,
            url,
            _stdout: stdout,
        }
    }
}

#[test]
fn clients_reach_the_service_over_https_with_the_ca_and_only_with_it() {
    let env = Env::new();
    pki(&env);
    let statement = ledger(&env);
    env.write(
        "r.toml",
        &format!(
            "[[readers]]\nname = \"buyer\"\ntoken_sha256 = \"{}\"\nkinds = [\"*\"]\n",
            sha256_hex(b"buyer-token")
        ),
    );
    let server = Server::start(
        &env,
        &[
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--public-kind",
            "firmware-build",
            "--config",
            "r.toml",
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let submit = |extra: &[&str]| {
        let mut c = env.cmd(&[
            "submit",
            "fw.cose",
            "--to",
            &server.url,
            "--log-key",
            "log.vkey",
            "--receipt",
            "receipts",
        ]);
        // The system's roots, made known: a store holding another CA only, never the test CA.
        c.args(extra)
            .env("SSL_CERT_FILE", env.path("other-ca.pem"))
            .env_remove("SSL_CERT_DIR");
        common::Out::from(c.output().unwrap())
    };

    // Without the CA: the certificate is refused, and nothing is sent.
    let out = submit(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "POST {}/entries: the service's TLS certificate was refused (UnknownIssuer); if a private CA issued it, give that CA's certificate with --ca FILE",
            server.url
        )),
        "{}",
        out.stderr
    );
    assert!(env.log().is_empty());

    // Plain HTTP to the TLS port: no HTTP answer, the connection is closed.
    let mut s = TcpStream::connect(server.url.trim_start_matches("https://")).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // With the CA: registered, and the receipt verifies.
    let out = submit(&["--ca", "ca.pem"]);
    let hash = sha256_hex(&statement);
    assert_eq!(
        out.ok(),
        format!(
            "fw.cose: registered entry {hash} at index 0 (receipt verified, receipt receipts/{hash}.receipt.cose)\n"
        )
    );
    let receipt = std::fs::read(env.path(&format!("receipts/{hash}.receipt.cose"))).unwrap();
    let ledger = evledger::ledger::Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    let v = verify_receipt(
        &receipt,
        ReceiptEntry::Statement(&statement),
        &ledger.log_keys().unwrap()[0],
    )
    .unwrap();
    assert_eq!((v.index(), v.tree_size()), (0, 1));

    // The monitor and `bundle --from` over https too.
    let out = env.run(&[
        "monitor",
        &server.url,
        "--state",
        "mon",
        "--log-key",
        "log.vkey",
        "--ca",
        "ca.pem",
    ]);
    assert!(out.ok().contains(&format!("entry 0 {hash}")), "{out:?}");
    let out = env.run(&[
        "bundle",
        "--from",
        &server.url,
        "--entry",
        "0",
        "--out",
        "remote.bundle",
        "--token",
        "buyer-token",
        "--ca",
        "ca.pem",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    env.run(&[
        "bundle",
        "--all",
        "--out",
        "local.bundle",
        "--ledger",
        LEDGER,
    ])
    .ok();
    assert_eq!(
        std::fs::read(env.path("remote.bundle")).unwrap(),
        std::fs::read(env.path("local.bundle")).unwrap()
    );

    // A CA file that is not one.
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
        "--ca",
        "log.vkey",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: --ca log.vkey: holds no certificate"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_certificate_and_key_files_stop_the_service_with_the_file_named() {
    let env = Env::new();
    pki(&env);
    ledger(&env);
    let serve = |args: &[&str]| {
        let mut a = vec!["serve", "--ledger", LEDGER, "--listen", "127.0.0.1:0"];
        a.extend_from_slice(args);
        env.run(&a)
    };
    let out = serve(&["--tls-cert", "cert.pem", "--tls-key", "missing.pem"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("error: missing.pem: No such file"),
        "{}",
        out.stderr
    );
    let out = serve(&["--tls-cert", "key.pem", "--tls-key", "key.pem"]);
    assert!(
        out.stderr
            .starts_with("error: key.pem: holds no certificate"),
        "{}",
        out.stderr
    );
    let out = serve(&["--tls-cert", "cert.pem", "--tls-key", "cert.pem"]);
    assert!(
        out.stderr
            .starts_with("error: cert.pem: holds no private key"),
        "{}",
        out.stderr
    );
    let out = serve(&["--tls-cert", "cert.pem", "--tls-key", "other-key.pem"]);
    assert_eq!(
        out.stderr.lines().next().unwrap(),
        "error: the private key in other-key.pem is not the key of the certificate in cert.pem (the first certificate of the file must be the service's own)",
    );
    // One without the other, from the flags (clap) or the file (the configuration).
    let out = serve(&["--tls-cert", "cert.pem"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--tls-key <FILE>"), "{}", out.stderr);
    env.write("s.toml", "tls_key = \"key.pem\"\n");
    let out = serve(&["--config", "s.toml"]);
    assert!(
        out.stderr
            .starts_with("error: s.toml: tls_cert: is missing"),
        "{}",
        out.stderr
    );
    // The configuration file's keys serve HTTPS as the flags do.
    env.write("t.toml", "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
    let server = Server::start(&env, &["--config", "t.toml"]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
        "--ca",
        "ca.pem",
    ]);
    assert!(
        out.ok().starts_with("fw.cose: registered entry "),
        "{out:?}"
    );
}

/// A running `evledger witness serve`, killed when dropped.
struct WitnessServer {
    child: Child,
    /// Kept open, so the process never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Drop for WitnessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_log_asks_a_witness_over_https_trusting_the_roots_it_is_given() {
    let env = Env::new();
    pki(&env);
    ledger(&env);
    env.run(&["register", "fw.cose", "--ledger", LEDGER]).ok();
    let log_vkey = std::fs::read_to_string(env.path("log.vkey")).unwrap();
    let wvkey = env
        .run(&[
            "witness",
            "init",
            "--name",
            "witness.example/tls",
            "--log-key",
            log_vkey.trim_end(),
            "--out",
            "w",
        ])
        .ok()
        .trim_end()
        .to_owned();
    let mut child = env
        .cmd(&[
            "witness",
            "serve",
            "--state",
            "w",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line of witness serve: {line:?}"))
        .to_owned();
    let _witness = WitnessServer {
        child,
        _stdout: stdout,
    };
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    env.run(&["witness", "add", &wvkey, "--url", &url, "--ledger", LEDGER])
        .ok();
    env.run(&["witness", "quorum", "1", "--ledger", LEDGER])
        .ok();

    let checkpoint = |roots: &str| {
        let mut c = env.cmd(&["checkpoint", "--witnesses", "--ledger", LEDGER]);
        c.env("SSL_CERT_FILE", env.path(roots))
            .env_remove("SSL_CERT_DIR");
        common::Out::from(c.output().unwrap())
    };
    // Roots that do not hold the witness's CA: refused, saying how to trust a private CA.
    let out = checkpoint("other-ca.pem");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "witness.example/tls: failed: 127.0.0.1:"
        ) && out
            .stderr
            .contains("the service's TLS certificate was refused (UnknownIssuer); if a private CA issued it, give that CA's certificate with SSL_CERT_FILE"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is not published"), "{}", out.stderr);
    let bundle = env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER]);
    assert!(
        bundle.stderr.contains("no published checkpoint covers"),
        "{bundle:?}"
    );

    // The witness's CA among the roots: cosigned over HTTPS, and published.
    let out = checkpoint("ca.pem");
    assert_eq!(out.code, 0, "{out:?}");
    let bundle = env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER]);
    assert_eq!(bundle.code, 0, "{bundle:?}");
}

#[test]
fn witness_serve_refuses_tls_files_it_cannot_use_naming_them() {
    let env = Env::new();
    pki(&env);
    ledger(&env);
    let log_vkey = std::fs::read_to_string(env.path("log.vkey")).unwrap();
    env.run(&[
        "witness",
        "init",
        "--name",
        "witness.example/tls",
        "--log-key",
        log_vkey.trim_end(),
        "--out",
        "w",
    ])
    .ok();
    let out = env.run(&[
        "witness",
        "serve",
        "--state",
        "w",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "cert.pem",
        "--tls-key",
        "other-key.pem",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("other-key.pem") && out.stderr.contains("is not the key of"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}
