//! Who may read what (`specs/service.md`, "Who may read"): the one check every read handler of
//! confidential content calls, with the one answer a refused request gets.
//!
//! Checkpoints, tiles, `/healthz` and the discovery resources are public and never call this.
//! Statements and documents are served only to a reader whose bearer token grants the entry's
//! evidence kind, or when the operator made the kind public.
//!
//! **Nothing learned from a refusal.** A request that may not read an entry gets the answer it
//! would get if the entry did not exist: `401` when it carried no valid token, `404` when it
//! carried a valid token not granting the kind. Both are decided by the caller alone and the
//! entry's readability, never by its existence, so an unauthorised client cannot tell an absent
//! entry from a protected one, nor learn an entry's kind.

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use sha2::{Digest as _, Sha256};

use super::config::{Access, Reader};
use super::problem::Problem;

/// Who sent a request.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// No `Authorization` header, or a token no reader holds.
    Anonymous,
    /// A reader whose token the request carried.
    Reader(&'a Reader),
}

impl Access {
    /// The caller of a request with these headers. A token is compared, as its SHA-256, with
    /// every reader's in constant time.
    pub fn caller(&self, headers: &HeaderMap) -> Caller<'_> {
        let Some(token) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
        else {
            return Caller::Anonymous;
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        // Every reader is compared, with no early exit, so the time taken says nothing of which
        // reader (if any) matched.
        for r in &self.readers {
            if ct_eq(&digest, &r.token_sha256) {
                found = Some(r);
            }
        }
        found.map_or(Caller::Anonymous, Caller::Reader)
    }

    /// Whether `caller` may read content of evidence `kind`.
    pub fn may_read(&self, caller: Caller<'_>, kind: &str) -> bool {
        if self.public_kinds.contains(kind) {
            return true;
        }
        match caller {
            Caller::Anonymous => false,
            Caller::Reader(r) => r.kinds.as_ref().is_none_or(|k| k.contains(kind)),
        }
    }

    /// Whether `caller` may read content of every kind (documents named without their entry).
    pub fn may_read_all(&self, caller: Caller<'_>) -> bool {
        matches!(caller, Caller::Reader(r) if r.kinds.is_none())
    }

    /// Checks that `caller` may read the content of an entry of `kind`, where `kind` is `None`
    /// when no such entry exists.
    ///
    /// # Errors
    /// [`refusal`] for `caller`, the same whether the entry is absent or not readable.
    pub fn check(&self, caller: Caller<'_>, kind: Option<&str>) -> Result<(), Problem> {
        match kind {
            Some(k) if self.may_read(caller, k) => Ok(()),
            _ => Err(refusal(caller)),
        }
    }
}

/// The one answer to a read that is refused or finds nothing: `401` with a `WWW-Authenticate`
/// challenge (RFC 6750 §3) for a request without a valid token, `404` for a reader. Its detail
/// names neither the entry's existence nor its kind.
pub fn refusal(caller: Caller<'_>) -> Problem {
    match caller {
        Caller::Anonymous => Problem::new(
            401,
            "Unauthorized",
            "nothing readable here without a reader token: send Authorization: Bearer TOKEN (the operator configures readers in the service's configuration file)",
        ),
        Caller::Reader(_) => Problem::new(
            404,
            "Not Found",
            "nothing this reader may read is at this path",
        ),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (RFC 6750 §2.1; the scheme is matched
/// case-insensitively, RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Equality of two digests in time independent of where they differ.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Read through black_box so the compiler does not turn the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn access() -> Access {
        let reader = |name: &str, token: &str, kinds: Option<&[&str]>| Reader {
            name: name.into(),
            token_sha256: Sha256::digest(token.as_bytes()).into(),
            kinds: kinds.map(|k| k.iter().map(|s| s.to_string()).collect()),
        };
        Access {
            public_kinds: BTreeSet::from(["claim".to_owned()]),
            public_receipts: true,
            readers: vec![
                reader("lab", "lab-token", Some(&["lab-result"])),
                reader("auditor", "auditor-token", None),
            ],
        }
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn a_token_grants_its_kinds_and_public_kinds_need_none() {
        let a = access();
        let lab = a.caller(&headers("Bearer lab-token"));
        assert!(matches!(lab, Caller::Reader(r) if r.name == "lab"));
        assert!(a.may_read(lab, "lab-result"));
        assert!(!a.may_read(lab, "incident"));
        assert!(a.may_read(Caller::Anonymous, "claim"));
        assert!(!a.may_read(Caller::Anonymous, "lab-result"));
        let auditor = a.caller(&headers("bearer  auditor-token"));
        assert!(a.may_read(auditor, "incident") && a.may_read_all(auditor));
        assert!(!a.may_read_all(lab));
    }

    #[test]
    fn a_wrong_or_malformed_token_is_anonymous() {
        let a = access();
        for h in ["Bearer lab-tokeN", "Basic lab-token", "Bearer", "lab-token"] {
            assert!(matches!(a.caller(&headers(h)), Caller::Anonymous), "{h}");
        }
        assert!(matches!(a.caller(&HeaderMap::new()), Caller::Anonymous));
    }

    #[test]
    fn a_refusal_is_the_same_for_absent_and_protected_entries() {
        let a = access();
        let anon = Caller::Anonymous;
        assert_eq!(a.check(anon, None), a.check(anon, Some("incident")));
        assert_eq!(a.check(anon, None).unwrap_err().status, 401);
        let lab = a.caller(&headers("Bearer lab-token"));
        assert_eq!(a.check(lab, None), a.check(lab, Some("incident")));
        assert_eq!(a.check(lab, None).unwrap_err().status, 404);
        assert!(a.check(lab, Some("lab-result")).is_ok());
    }
}
