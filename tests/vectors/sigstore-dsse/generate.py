#!/usr/bin/env python3
"""Regenerates tests/vectors/sigstore-dsse/: a test Sigstore trusted root and bundles signed by it.

Run from the repository root:  python3 tests/vectors/sigstore-dsse/generate.py
Needs Python 3.9+ and `cryptography` (>= 41). Keys are derived from fixed labels, so they are the
same on every run; ECDSA signatures (certificates included) are randomised, so the trusted root's
certificates and every bundle differ byte for byte but verify the same way. See README.md for
what each case is.
"""

import base64
import datetime as dt
import hashlib
import json
import os
import shutil

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

OUT = os.path.dirname(os.path.abspath(__file__))
UTC = dt.timezone.utc

# The signing time of every bundle, and the windows around it.
T0 = dt.datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
EPOCH_START = dt.datetime(2025, 1, 1, tzinfo=UTC)
EPOCH_END = dt.datetime(2035, 1, 1, tzinfo=UTC)

REKOR1_URL = "https://rekor.evledger.test"
REKOR1_ORIGIN = "rekor.evledger.test - 4242424242"
REKOR2_URL = "https://log2026.rekor.evledger.test"
CT_URL = "https://ctfe.evledger.test"

ISSUER = "https://token.actions.githubusercontent.com"
IDENTITY = "https://github.com/aurelis/fg3-firmware/.github/workflows/release.yml@refs/tags/v4.2.0"
BUILDER = "https://github.com/actions/runner/github-hosted"
GH_BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
INTOTO = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"

ARTIFACT = b"FaceGate 3D firmware 4.2.0 for the FG3 reader (test image)\n"


# --- keys -----------------------------------------------------------------------------------

def p256(label):
    n = int.from_bytes(hashlib.sha256(b"evledger sigstore-dsse " + label.encode()).digest(), "big")
    return ec.derive_private_key(n % (2**256 - 2**224 - 1) + 1, ec.SECP256R1())


def ed(label):
    return ed25519.Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"evledger sigstore-dsse " + label.encode()).digest()
    )


def spki(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64(b):
    return base64.b64encode(b).decode()


def sha256(b):
    return hashlib.sha256(b).digest()


def ecdsa(key, msg):
    return key.sign(msg, ec.ECDSA(hashes.SHA256()))


# --- DER, only what the RFC 3161 token needs ------------------------------------------------

def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(nb)]) + nb
    return bytes([tag]) + head + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def der_int(n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return tlv(0x02, b)


def der_oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)


SHA256_ALG = seq(der_oid("2.16.840.1.101.3.4.2.1"), b"\x05\x00")
ECDSA_SHA256_ALG = seq(der_oid("1.2.840.10045.4.3.2"))


# --- certificates ---------------------------------------------------------------------------

def name(cn):
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evledger.test"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def ca_cert(key, subject, issuer_key, issuer_name, serial, path_len):
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(EPOCH_START)
        .not_valid_after(EPOCH_END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return b.sign(issuer_key, hashes.SHA256())


FULCIO_ROOT_KEY = p256("fulcio root")
FULCIO_INTER_KEY = p256("fulcio intermediate")
FULCIO_ROOT = ca_cert(FULCIO_ROOT_KEY, name("fulcio-root"), FULCIO_ROOT_KEY, name("fulcio-root"), 1, 1)
FULCIO_INTER = ca_cert(
    FULCIO_INTER_KEY, name("fulcio-intermediate"), FULCIO_ROOT_KEY, name("fulcio-root"), 2, 0
)
CT_KEY = p256("ct log")
REKOR1_KEY = p256("rekor v1 log")
REKOR2_KEY = ed("rekor v2 log")
TSA_ROOT_KEY = p256("tsa root")
TSA_KEY = p256("tsa leaf")
TSA_ROOT = ca_cert(TSA_ROOT_KEY, name("tsa-root"), TSA_ROOT_KEY, name("tsa-root"), 3, 0)
TSA_LEAF = (
    x509.CertificateBuilder()
    .subject_name(name("tsa"))
    .issuer_name(name("tsa-root"))
    .public_key(TSA_KEY.public_key())
    .serial_number(4)
    .not_valid_before(EPOCH_START)
    .not_valid_after(EPOCH_END)
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    .sign(TSA_ROOT_KEY, hashes.SHA256())
)
SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def sct_list(tbs, timestamp_ms, extensions):
    """A TLS SignedCertificateTimestampList with one v1 SCT by the CT log (RFC 6962 §3.2-3.3)."""
    issuer_key_hash = sha256(spki(FULCIO_INTER_KEY))
    signed = (
        b"\x00\x00"
        + timestamp_ms.to_bytes(8, "big")
        + b"\x00\x01"
        + issuer_key_hash
        + len(tbs).to_bytes(3, "big")
        + tbs
        + len(extensions).to_bytes(2, "big")
        + extensions
    )
    sig = ecdsa(CT_KEY, signed)
    sct = (
        b"\x00"
        + sha256(spki(CT_KEY))
        + timestamp_ms.to_bytes(8, "big")
        + len(extensions).to_bytes(2, "big")
        + extensions
        + b"\x04\x03"
        + len(sig).to_bytes(2, "big")
        + sig
    )
    inner = len(sct).to_bytes(2, "big") + sct
    return len(inner).to_bytes(2, "big") + inner


def fulcio_leaf(key, identity, serial, sct_extensions=b""):
    """A Fulcio-style leaf: empty subject, SAN URI, issuer extensions, embedded SCT last."""

    def builder():
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(FULCIO_INTER.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(T0 - dt.timedelta(minutes=1))
            .not_valid_after(T0 + dt.timedelta(minutes=9))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(FULCIO_INTER_KEY.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), critical=True
            )
            .add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), ISSUER.encode()),
                critical=False,
            )
            .add_extension(
                x509.UnrecognizedExtension(
                    ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), tlv(0x0C, ISSUER.encode())
                ),
                critical=False,
            )
        )

    pre = builder().sign(FULCIO_INTER_KEY, hashes.SHA256())
    ts_ms = int((T0 - dt.timedelta(seconds=30)).timestamp() * 1000)
    lst = sct_list(pre.tbs_certificate_bytes, ts_ms, sct_extensions)
    cert = (
        builder()
        .add_extension(x509.UnrecognizedExtension(SCT_OID, tlv(0x04, lst)), critical=False)
        .sign(FULCIO_INTER_KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def pem_cert(der):
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def pem_key(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- the trusted root -----------------------------------------------------------------------

def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_json(url, key, details):
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": b64(spki(key)), "keyDetails": details, "validFor": {"start": rfc3339(EPOCH_START)}},
        "logId": {"keyId": b64(sha256(spki(key)))},
    }


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def trusted_root():
    return {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            log_json(REKOR1_URL, REKOR1_KEY, "PKIX_ECDSA_P256_SHA_256"),
            log_json(REKOR2_URL, REKOR2_KEY, "PKIX_ED25519"),
        ],
        "certificateAuthorities": [
            {
                "subject": {"organization": "evledger.test", "commonName": "fulcio-intermediate"},
                "uri": "https://fulcio.evledger.test",
                "certChain": {"certificates": [{"rawBytes": b64(der(FULCIO_INTER))}, {"rawBytes": b64(der(FULCIO_ROOT))}]},
                "validFor": {"start": rfc3339(EPOCH_START)},
            }
        ],
        "ctlogs": [log_json(CT_URL, CT_KEY, "PKIX_ECDSA_P256_SHA_256")],
        "timestampAuthorities": [
            {
                "subject": {"organization": "evledger.test", "commonName": "tsa"},
                "uri": "https://tsa.evledger.test",
                "certChain": {"certificates": [{"rawBytes": b64(der(TSA_LEAF))}, {"rawBytes": b64(der(TSA_ROOT))}]},
                "validFor": {"start": rfc3339(EPOCH_START)},
            }
        ],
    }


# --- Merkle tree, checkpoints, SET, RFC 3161 ------------------------------------------------

def leaf_hash(b):
    return sha256(b"\x00" + b)


def node(l, r):
    return sha256(b"\x01" + l + r)


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """PATH(m, D[n]), RFC 9162 §2.1.3.1, over leaf hashes."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def tree_with(body, index, size):
    leaves = [leaf_hash(b"other entry %d" % i) for i in range(size)]
    leaves[index] = leaf_hash(body)
    return mth(leaves), path(index, leaves)


def checkpoint_v1(size, root):
    text = f"{REKOR1_ORIGIN}\n{size}\n{b64(root)}\n"
    key_id = sha256(spki(REKOR1_KEY))[:4]
    host = REKOR1_URL.split("://")[1]
    return text + "\n" + f"\u2014 {host} {b64(key_id + ecdsa(REKOR1_KEY, text.encode()))}\n"


def checkpoint_v2(size, root):
    host = REKOR2_URL.split("://")[1]
    text = f"{host}\n{size}\n{b64(root)}\n"
    raw = REKOR2_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = sha256(host.encode() + b"\n\x01" + raw)[:4]
    return text + "\n" + f"\u2014 {host} {b64(key_id + REKOR2_KEY.sign(text.encode()))}\n"


def timestamp_token(signature, when):
    """An RFC 3161 TimeStampToken (CMS SignedData over a TSTInfo) over SHA-256(signature)."""
    tst_info = seq(
        der_int(1),
        der_oid("1.3.6.1.4.1.57264.2"),
        seq(SHA256_ALG, tlv(0x04, sha256(signature))),
        der_int(int(when.timestamp())),
        tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode()),
    )
    tst_oid = der_oid("1.2.840.113549.1.9.16.1.4")
    attrs = [
        seq(der_oid("1.2.840.113549.1.9.3"), tlv(0x31, tst_oid)),
        seq(der_oid("1.2.840.113549.1.9.4"), tlv(0x31, tlv(0x04, sha256(tst_info)))),
    ]
    attrs.sort()
    signed_attrs = b"".join(attrs)
    sig = ecdsa(TSA_KEY, tlv(0x31, signed_attrs))
    issuer_and_serial = seq(TSA_LEAF.issuer.public_bytes(), der_int(TSA_LEAF.serial_number))
    signer_info = seq(
        der_int(1), issuer_and_serial, SHA256_ALG, tlv(0xA0, signed_attrs), ECDSA_SHA256_ALG, tlv(0x04, sig)
    )
    signed_data = seq(
        der_int(3),
        tlv(0x31, SHA256_ALG),
        seq(tst_oid, tlv(0xA0, tlv(0x04, tst_info))),
        tlv(0x31, signer_info),
    )
    return seq(der_oid("1.2.840.113549.1.7.2"), tlv(0xA0, signed_data))


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


INTEGRATED = int((T0 + dt.timedelta(seconds=10)).timestamp())


def rekor1_entry(kind, version, body, index=5, size=9):
    root, hashes_ = tree_with(body, index, size)
    log_id = sha256(spki(REKOR1_KEY))
    set_payload = canonical(
        {"body": b64(body), "integratedTime": INTEGRATED, "logID": log_id.hex(), "logIndex": index}
    )
    return {
        "logIndex": str(index),
        "logId": {"keyId": b64(log_id)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": str(INTEGRATED),
        "inclusionPromise": {"signedEntryTimestamp": b64(ecdsa(REKOR1_KEY, set_payload))},
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": b64(root),
            "treeSize": str(size),
            "hashes": [b64(h) for h in hashes_],
            "checkpoint": {"envelope": checkpoint_v1(size, root)},
        },
        "canonicalizedBody": b64(body),
    }


def rekor2_entry(kind, version, body, index=2, size=6):
    root, hashes_ = tree_with(body, index, size)
    return {
        "logIndex": str(index),
        "logId": {"keyId": b64(sha256(spki(REKOR2_KEY)))},
        "kindVersion": {"kind": kind, "version": version},
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": b64(root),
            "treeSize": str(size),
            "hashes": [b64(h) for h in hashes_],
            "checkpoint": {"envelope": checkpoint_v2(size, root)},
        },
        "canonicalizedBody": b64(body),
    }


# --- DSSE and statements --------------------------------------------------------------------

def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def provenance(subject_digest=None, predicate_type=SLSA_V1, predicate=None):
    digest = subject_digest or hashlib.sha256(ARTIFACT).hexdigest()
    if predicate is None:
        predicate = {
            "buildDefinition": {
                "buildType": GH_BUILD_TYPE,
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v4.2.0",
                        "repository": "https://github.com/aurelis/fg3-firmware",
                        "path": ".github/workflows/release.yml",
                    }
                },
                "internalParameters": {"github": {"event_name": "push", "repository_id": "1", "repository_owner_id": "2"}},
                "resolvedDependencies": [
                    {"uri": "git+https://github.com/aurelis/fg3-firmware@refs/tags/v4.2.0", "digest": {"gitCommit": "a" * 40}}
                ],
            },
            "runDetails": {
                "builder": {"id": BUILDER},
                "metadata": {"invocationId": "https://github.com/aurelis/fg3-firmware/actions/runs/1/attempts/1"},
            },
        }
    return canonical(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [
                {"name": "facegate-4.2.0-fg3.sbom.json", "digest": {"sha256": "b" * 64}},
                {"name": "facegate-4.2.0-fg3.img", "digest": {"sha256": digest}},
            ],
            "predicateType": predicate_type,
            "predicate": predicate,
        }
    )


def envelope(payload, sig, payload_type=INTOTO):
    return {"payload": b64(payload), "payloadType": payload_type, "signatures": [{"sig": b64(sig), "keyid": ""}]}


def bundle(material, entry, env=None, message=None, timestamps=()):
    vm = dict(material)
    vm["tlogEntries"] = [entry]
    if timestamps:
        vm["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": b64(t)} for t in timestamps]}
    b = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": vm}
    if env is not None:
        b["dsseEnvelope"] = env
    if message is not None:
        b["messageSignature"] = message
    return b


def dsse_v001_body(payload, sig, verifier_pem):
    env_hash = hashlib.sha256(canonical(envelope(payload, sig))).hexdigest()
    return canonical(
        {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": env_hash},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": b64(sig), "verifier": b64(verifier_pem)}],
            },
        }
    )


def intoto_v002_body(payload, sig, verifier_pem, payload_type=INTOTO):
    return canonical(
        {
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": {
                "content": {
                    "envelope": {
                        "payloadType": payload_type,
                        "signatures": [{"publicKey": b64(verifier_pem), "sig": b64(b64(sig).encode())}],
                    },
                    "hash": {"algorithm": "sha256", "value": hashlib.sha256(canonical(envelope(payload, sig))).hexdigest()},
                    "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                }
            },
        }
    )


def verifier_v2(leaf):
    return {"keyDetails": "PKIX_ECDSA_P256_SHA_256", "x509Certificate": {"rawBytes": b64(leaf)}}


def dsse_v002_body(payload, sig, leaf):
    return canonical(
        {
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {
                "dsseV002": {
                    "payloadHash": {"algorithm": "SHA2_256", "digest": b64(sha256(payload))},
                    "signatures": [{"content": b64(sig), "verifier": verifier_v2(leaf)}],
                }
            },
        }
    )


def hashedrekord_v002_body(digest, sig, leaf):
    return canonical(
        {
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {
                "hashedRekordV002": {
                    "data": {"algorithm": "SHA2_256", "digest": b64(digest)},
                    "signature": {"content": b64(sig), "verifier": verifier_v2(leaf)},
                }
            },
        }
    )


def hashedrekord_v001_body(digest, sig, leaf):
    return canonical(
        {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
                "signature": {"content": b64(sig), "publicKey": {"content": b64(pem_cert(leaf))}},
            },
        }
    )


# --- the cases ------------------------------------------------------------------------------

def cases():
    signer = p256("signer")
    leaf = fulcio_leaf(signer, IDENTITY, 100)
    cert = {"certificate": {"rawBytes": b64(leaf)}}
    out = {}

    def signed(payload, payload_type=INTOTO, key=signer):
        return ecdsa(key, pae(payload_type, payload))

    def rekor1_dsse(payload, sig, payload_type=INTOTO, material=cert, verifier=None):
        verifier = verifier or pem_cert(leaf)
        body = dsse_v001_body(payload, sig, verifier)
        return bundle(material, rekor1_entry("dsse", "0.0.1", body), envelope(payload, sig, payload_type))

    def rekor2_dsse(payload, sig, payload_type=INTOTO):
        body = dsse_v002_body(payload, sig, leaf)
        e = rekor2_entry("dsse", "0.0.2", body)
        return bundle(cert, e, envelope(payload, sig, payload_type), timestamps=[timestamp_token(sig, T0 + dt.timedelta(seconds=10))])

    stmt = provenance()
    sig = signed(stmt)

    # Happy paths.
    out["rekor1-dsse"] = rekor1_dsse(stmt, sig)
    body = intoto_v002_body(stmt, sig, pem_cert(leaf))
    out["rekor1-intoto"] = bundle(cert, rekor1_entry("intoto", "0.0.2", body), envelope(stmt, sig))
    out["rekor2-dsse"] = rekor2_dsse(stmt, sig)
    body = hashedrekord_v002_body(sha256(pae(INTOTO, stmt)), sig, leaf)
    out["rekor2-hashedrekord-dsse"] = bundle(
        cert, rekor2_entry("hashedrekord", "0.0.2", body), envelope(stmt, sig),
        timestamps=[timestamp_token(sig, T0 + dt.timedelta(seconds=10))],
    )
    # `gh attestation`-style: v0.3, leaf certificate, Rekor v1 dsse entry, SLSA v1 GitHub
    # Actions provenance, plus an (optional for Rekor v1) RFC 3161 timestamp.
    gh = bundle(cert, rekor1_entry("dsse", "0.0.1", dsse_v001_body(stmt, sig, pem_cert(leaf)), index=7, size=12),
                envelope(stmt, sig), timestamps=[timestamp_token(sig, T0 + dt.timedelta(seconds=5))])
    out["gh-attestation"] = gh
    # A managed key instead of a certificate.
    mk = p256("managed key")
    msig = signed(stmt, key=mk)
    out["managed-key-dsse"] = rekor1_dsse(
        stmt, msig, material={"publicKey": {"hint": b64(sha256(spki(mk)))}}, verifier=pem_key(mk)
    )
    # A statement whose predicate is not SLSA provenance: verifies, reported as unknown.
    other = provenance(predicate_type="https://evledger.test/custom-predicate/v1", predicate={"note": "not provenance"})
    out["unknown-predicate"] = rekor1_dsse(other, signed(other))

    # Failures.
    tampered = stmt.replace(b"refs/tags/v4.2.0", b"refs/tags/v4.2.1")
    good = rekor1_dsse(stmt, sig)
    good["dsseEnvelope"]["payload"] = b64(tampered)
    out["tampered-payload_fail"] = good
    wrong = provenance(subject_digest="c" * 64)
    out["wrong-subject-digest_fail"] = rekor1_dsse(wrong, signed(wrong))
    out["wrong-payload-type_fail"] = rekor1_dsse(stmt, signed(stmt, "application/json"), payload_type="application/json")
    # Signed over the bare payload, not over PAE(payloadType, payload).
    out["pae-mismatch_fail"] = rekor1_dsse(stmt, ecdsa(signer, stmt))
    # hashedrekord over DSSE whose logged digest is the payload's hash, not the PAE's.
    body = hashedrekord_v002_body(sha256(stmt), sig, leaf)
    out["rekor2-hashedrekord-pae-mismatch_fail"] = bundle(
        cert, rekor2_entry("hashedrekord", "0.0.2", body), envelope(stmt, sig),
        timestamps=[timestamp_token(sig, T0 + dt.timedelta(seconds=10))],
    )
    # Rekor v2 dsse entry recording another payload hash.
    body = dsse_v002_body(tampered, sig, leaf)
    out["rekor2-dsse-payload-hash-mismatch_fail"] = bundle(
        cert, rekor2_entry("dsse", "0.0.2", body), envelope(stmt, sig),
        timestamps=[timestamp_token(sig, T0 + dt.timedelta(seconds=10))],
    )

    # Message signatures whose embedded SCT carries a non-empty extensions field (a Static CT
    # log's leaf_index extension: type 0, length 5, a 40-bit index).
    sct_leaf = fulcio_leaf(signer, IDENTITY, 101, sct_extensions=b"\x00\x00\x05" + (1234).to_bytes(5, "big"))
    sct_cert = {"certificate": {"rawBytes": b64(sct_leaf)}}
    digest = sha256(ARTIFACT)
    msig = ecdsa(signer, ARTIFACT)
    message = {"messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)}, "signature": b64(msig)}
    out["sct-extensions-rekor1"] = bundle(
        sct_cert, rekor1_entry("hashedrekord", "0.0.1", hashedrekord_v001_body(digest, msig, sct_leaf)), message=message
    )
    out["sct-extensions-rekor2"] = bundle(
        sct_cert, rekor2_entry("hashedrekord", "0.0.2", hashedrekord_v002_body(digest, msig, sct_leaf)),
        message=message, timestamps=[timestamp_token(msig, T0 + dt.timedelta(seconds=10))],
    )
    s2 = signed(stmt)
    out["sct-extensions-rekor2-dsse"] = bundle(
        sct_cert, rekor2_entry("dsse", "0.0.2", dsse_v002_body(stmt, s2, sct_leaf)), envelope(stmt, s2),
        timestamps=[timestamp_token(s2, T0 + dt.timedelta(seconds=10))],
    )
    return out


def main():
    root = trusted_root()
    cases_dir = os.path.join(OUT, "cases")
    shutil.rmtree(cases_dir, ignore_errors=True)
    os.makedirs(cases_dir)
    with open(os.path.join(OUT, "trusted_root.json"), "w") as f:
        json.dump(root, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "artifact"), "wb") as f:
        f.write(ARTIFACT)
    for name, b in cases().items():
        d = os.path.join(cases_dir, name)
        os.makedirs(d)
        with open(os.path.join(d, "bundle.sigstore.json"), "w") as f:
            json.dump(b, f, indent=2)
            f.write("\n")
        if "publicKey" in b["verificationMaterial"]:
            with open(os.path.join(d, "key.pub"), "wb") as f:
                f.write(pem_key(p256("managed key")))
    # A trusted root whose Rekor v1 key has a validFor without its required start.
    bad = json.loads(json.dumps(root))
    bad["tlogs"][0]["publicKey"]["validFor"] = {"end": rfc3339(EPOCH_END)}
    d = os.path.join(cases_dir, "trust-root-tlog-missing-start_fail")
    os.makedirs(d)
    shutil.copy(os.path.join(cases_dir, "rekor1-dsse", "bundle.sigstore.json"), d)
    with open(os.path.join(d, "trusted_root.json"), "w") as f:
        json.dump(bad, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
