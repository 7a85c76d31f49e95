//! `strict_batch::verify_strict_many` must accept exactly what `VerifyingKey::verify_strict` accepts,
//! on honest, corrupted and adversarial signatures, on both its paths (per-key comb tables and
//! plain `verify_strict` for keys with few signatures), and so must a kept `KeyVerifier`.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use evledger::statement::batch::{COMB_THRESHOLD, Item, KeyVerifier, verify_strict_many};
use sha2::{Digest, Sha512};

fn scalar(seed: u64) -> Scalar {
    let mut wide = [0u8; 64];
    wide[..8].copy_from_slice(&seed.to_le_bytes());
    wide[8] = 0x5a;
    Scalar::from_bytes_mod_order_wide(&Sha512::digest(wide).into())
}

fn challenge(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(m);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Signs with a raw secret scalar, letting the test pick the nonce point R freely.
fn raw_sign(
    a: &Scalar,
    key: &VerifyingKey,
    r_point: &EdwardsPoint,
    r: &Scalar,
    m: &[u8],
) -> Signature {
    let r_bytes = r_point.compress().to_bytes();
    let k = challenge(&r_bytes, key.as_bytes(), m);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature::from_bytes(&sig)
}

/// Runs both the batch function and verify_strict, and requires identical answers.
fn agree(cases: &[(VerifyingKey, Vec<u8>, Signature)]) -> Vec<bool> {
    let items: Vec<Item<'_>> = cases
        .iter()
        .map(|(k, m, s)| Item {
            key: k,
            message: m,
            signature: s,
        })
        .collect();
    let got = verify_strict_many(&items);
    let mut kept: std::collections::HashMap<[u8; 32], KeyVerifier> = Default::default();
    for (i, ((k, m, s), g)) in cases.iter().zip(&got).enumerate() {
        let strict = k.verify_strict(m, s).is_ok();
        assert_eq!(*g, strict, "case {i} disagrees with verify_strict");
        let one = kept
            .entry(k.to_bytes())
            .or_insert_with(|| KeyVerifier::new(k));
        assert_eq!(
            one.verify_strict(m, s),
            strict,
            "case {i}: KeyVerifier disagrees with verify_strict"
        );
    }
    got
}

fn honest(n: usize, key: &SigningKey) -> Vec<(VerifyingKey, Vec<u8>, Signature)> {
    (0..n)
        .map(|i| {
            let m = format!("statement {i}").into_bytes();
            (key.verifying_key(), m.clone(), key.sign(&m))
        })
        .collect()
}

#[test]
fn honest_signatures_verify_on_both_paths() {
    let many = SigningKey::from_bytes(&[1; 32]);
    let few = SigningKey::from_bytes(&[2; 32]);
    let mut cases = honest(COMB_THRESHOLD + 10, &many);
    cases.extend(honest(3, &few));
    assert!(agree(&cases).iter().all(|ok| *ok));
}

#[test]
fn corrupted_signatures_fail_on_both_paths() {
    let key = SigningKey::from_bytes(&[3; 32]);
    let mut cases = honest(COMB_THRESHOLD + 40, &key);
    for (i, case) in cases.iter_mut().enumerate().take(40) {
        let mut sig = case.2.to_bytes();
        match i % 4 {
            0 => sig[i % 32] ^= 1 << (i % 8),            // R
            1 => sig[32 + i % 31] ^= 1 << (i % 8),       // s
            2 => case.1.push(b'!'),                      // message
            _ => sig[32..].copy_from_slice(&[0xff; 32]), // s not canonical
        }
        case.2 = Signature::from_bytes(&sig);
    }
    let got = agree(&cases);
    assert_eq!(got.iter().filter(|ok| !**ok).count(), 40);
}

#[test]
fn non_canonical_s_is_rejected() {
    // s + l encodes the same residue but is not canonical: verify_strict refuses it.
    let key = SigningKey::from_bytes(&[4; 32]);
    let mut cases = honest(COMB_THRESHOLD, &key);
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut sig = cases[0].2.to_bytes();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = sig[32 + i] as u16 + l[i] as u16 + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
    cases[0].2 = Signature::from_bytes(&sig);
    assert!(!agree(&cases)[0]);
}

#[test]
fn identity_nonce_satisfying_the_equation_is_rejected() {
    // R = identity with s = k*a makes [s]B - [k]A = R hold; verify_strict still refuses a small-order R.
    let a = scalar(7);
    let key = VerifyingKey::from(EdwardsPoint::mul_base(&a));
    let mut cases = Vec::new();
    for i in 0..COMB_THRESHOLD as u64 + 8 {
        let m = format!("m{i}").into_bytes();
        let sig = if i % 8 == 0 {
            raw_sign(&a, &key, &EdwardsPoint::default(), &Scalar::ZERO, &m)
        } else {
            let r = scalar(1000 + i);
            raw_sign(&a, &key, &EdwardsPoint::mul_base(&r), &r, &m)
        };
        cases.push((key, m, sig));
    }
    let got = agree(&cases);
    for (i, ok) in got.iter().enumerate() {
        assert_eq!(*ok, i % 8 != 0, "case {i}");
    }
}

#[test]
fn nonce_with_torsion_is_rejected_though_batch_verification_may_accept_it() {
    // R* = [r]B + T (T of order 8): [s]B - [k]A = [r]B != R*, so verify_strict rejects; a random
    // linear combination cancels T whenever the coefficient is a multiple of 8.
    let a = scalar(11);
    let key = VerifyingKey::from(EdwardsPoint::mul_base(&a));
    let t = EIGHT_TORSION[1];
    let mut cases = Vec::new();
    let mut batch_accepted = 0;
    for i in 0..COMB_THRESHOLD as u64 + 64 {
        let m = format!("torsion {i}").into_bytes();
        let r = scalar(5000 + i);
        let r_point = EdwardsPoint::mul_base(&r) + t;
        let r_bytes = r_point.compress().to_bytes();
        let k = challenge(&r_bytes, key.as_bytes(), &m);
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        let sig = Signature::from_bytes(&sig);
        if ed25519_dalek::verify_batch(&[&m], &[sig], &[key]).is_ok() {
            batch_accepted += 1;
        }
        cases.push((key, m, sig));
    }
    assert!(agree(&cases).iter().all(|ok| !*ok));
    assert!(
        batch_accepted > 0,
        "expected verify_batch to accept some torsion signatures"
    );
}

#[test]
fn small_order_keys_are_rejected() {
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let key = VerifyingKey::from(*t);
        let cases: Vec<_> = (0..COMB_THRESHOLD + 1)
            .map(|j| {
                let m = vec![i as u8, j as u8];
                // With a small-order A, R = [s]B - [k]A is easy to hit; use s = 0 and R = -[k]A.
                let r_point = -EdwardsPoint::from(key);
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r_point.compress().to_bytes());
                (key, m, Signature::from_bytes(&sig))
            })
            .collect();
        assert!(agree(&cases).iter().all(|ok| !*ok), "torsion key {i}");
    }
}

#[test]
fn random_garbage_agrees() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let mut cases = honest(COMB_THRESHOLD, &key);
    for i in 0..64u8 {
        let mut sig = [i; 64];
        sig[31] &= 0x7f;
        sig[63] &= 0x0f;
        cases.push((key.verifying_key(), vec![i], Signature::from_bytes(&sig)));
    }
    let base = ED25519_BASEPOINT_POINT.compress().to_bytes();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&base);
    cases.push((
        key.verifying_key(),
        b"b".to_vec(),
        Signature::from_bytes(&sig),
    ));
    agree(&cases);
}
