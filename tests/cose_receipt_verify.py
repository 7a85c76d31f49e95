#!/usr/bin/env python3
"""An independent verifier of evledger's RFC 9942 COSE receipts, written from the RFCs.

Usage: cose_receipt_verify.py PUBKEY_HEX RECEIPT STATEMENT [RECEIPT STATEMENT]...

PUBKEY_HEX is the log's raw 32-byte Ed25519 public key in hex. For each pair it prints one line,
`ok TREE_SIZE LEAF_INDEX ROOT_HEX` or `fail REASON`, and exits 1 if any pair failed.

What it checks, and where each rule comes from:
- RFC 9942 §5.2.1: a COSE_Sign1 (RFC 9052 §4.2, tag 18) whose protected header holds alg (1)
  and vds (395) = 1 (RFC9162_SHA256, §5.1), whose unprotected header holds vdp (396), a map whose
  label -1 holds inclusion proofs, each a byte string wrapping the CBOR array
  [tree-size, leaf-index, inclusion-path] (§5.2, Figure 3), and whose payload is detached (nil).
- evledger's documented deviation (specs/service.md, "Receipts"): the candidate entry is the
  statement's SHA-256, not the statement bytes.
- RFC 9162 §2.1.1: leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right).
- RFC 9162 §2.1.3.2: the root computed from the leaf hash, the index, the size and the path.
- RFC 9052 §4.4: the signature covers Sig_structure ["Signature1", protected, h'', payload], with
  the computed root as the payload; EdDSA (RFC 9053 §2.2) is Ed25519 here.
- RFC 9679 §3: the kid (4) is the COSE key thumbprint of the OKP key {1: 1, -1: 6, -2: x}.
"""

import hashlib
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Fail(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def thumbprint(x):
    # RFC 9679 §3: the deterministic encoding of the required OKP parameters, keys in order
    # 1 (kty) = 1 (OKP), -1 (crv) = 6 (Ed25519), -2 (x) = the 32-byte public key.
    encoded = bytes([0xA3, 0x01, 0x01, 0x20, 0x06, 0x21, 0x58, 0x20]) + x
    return sha256(encoded)


def root_from_path(leaf, index, size, path):
    # RFC 9162 §2.1.3.2, step by step.
    if index >= size:
        raise Fail("leaf index %d is not below tree size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Fail("inclusion path is too long")
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Fail("inclusion path is too short")
    return r


def verify(pub, receipt, statement):
    msg = cbor2.loads(receipt)
    if not isinstance(msg, cbor2.CBORTag) or msg.tag != 18:
        raise Fail("not a tagged COSE_Sign1")
    if not isinstance(msg.value, (list, tuple)) or len(msg.value) != 4:
        raise Fail("COSE_Sign1 is not an array of 4")
    protected, unprotected, payload, signature = msg.value
    if payload is not None:
        raise Fail("payload is not detached")
    header = cbor2.loads(protected)
    if header.get(1) != -8:
        raise Fail("alg is not EdDSA (-8)")
    if header.get(395) != 1:
        raise Fail("vds is not RFC9162_SHA256 (1)")
    if header.get(4) != thumbprint(pub):
        raise Fail("kid is not the log key's RFC 9679 thumbprint")
    proofs = unprotected[396][-1]
    if len(proofs) != 1:
        raise Fail("expected one inclusion proof")
    size, index, path = cbor2.loads(proofs[0])
    if any(len(p) != 32 for p in path):
        raise Fail("a path hash is not 32 bytes")
    entry = sha256(statement)
    root = root_from_path(sha256(b"\x00" + entry), index, size, path)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", root])
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(signature, to_be_signed)
    except InvalidSignature:
        raise Fail("signature does not verify over the computed root")
    return size, index, root


def main(argv):
    if len(argv) < 4 or len(argv) % 2 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    pub = bytes.fromhex(argv[1])
    failed = False
    for receipt_path, statement_path in zip(argv[2::2], argv[3::2]):
        with open(receipt_path, "rb") as f:
            receipt = f.read()
        with open(statement_path, "rb") as f:
            statement = f.read()
        try:
            size, index, root = verify(pub, receipt, statement)
            print("ok %d %d %s" % (size, index, root.hex()))
        except Exception as e:  # any parse error is a failure of this pair, not of the run
            failed = True
            print("fail %s" % (e,))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
