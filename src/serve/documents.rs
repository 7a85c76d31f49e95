//! `POST /documents` and `GET /documents/SHA256` (`specs/service.md`, "Documents"): documents a
//! statement cites by digest, uploaded before the statement is registered.
//!
//! An upload is kept, content-addressed by its SHA-256, in `uploads/` of the ledger directory
//! until a registered statement cites it; the registration then stores it in the ledger with the
//! entry (the store's append-only `documents` table, as `evledger register --document` does) and
//! its upload is removed. Only documents the ledger holds are served, and only to readers of an
//! entry citing them (`access`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, LOCATION};
use hyper::{HeaderMap, Request, Response, StatusCode};

use super::access::refusal;
use super::problem::Problem;
use super::{Body, State};
use crate::cbor::{self, Value};
use crate::evidence::Evidence;
use crate::hex;
use crate::merkle::Hash;
use crate::statement::SignedStatement;
use crate::store::StoreRead as _;

/// The upload area's name in the ledger directory.
pub const UPLOADS_DIR: &str = "uploads";

/// The uploaded documents waiting for a statement to cite them.
#[derive(Debug)]
pub struct Uploads {
    dir: PathBuf,
    max_pending: usize,
}

/// What an upload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The document was new: it is now kept.
    New,
    /// The same bytes were already uploaded or held by the ledger.
    Already,
}

impl Uploads {
    /// The upload area of the ledger in `ledger_dir`, created (mode 0700) if missing.
    ///
    /// # Errors
    /// The I/O error creating it.
    pub fn open(ledger_dir: &Path, max_pending: usize) -> std::io::Result<Uploads> {
        let dir = ledger_dir.join(UPLOADS_DIR);
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        match b.create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        Ok(Uploads { dir, max_pending })
    }

    fn path(&self, h: &Hash) -> PathBuf {
        self.dir.join(hex::encode(h))
    }

    /// Keeps `bytes` under their SHA-256, durably (written to a temporary file, synced, renamed,
    /// and the directory synced) before returning. `held` says whether the ledger already holds
    /// them, in which case nothing is written.
    ///
    /// # Errors
    /// `507` when `max_pending` uploads are already waiting, `500` on an I/O failure.
    pub fn put(&self, bytes: &[u8], held: bool) -> Result<(Hash, Stored), Problem> {
        let h: Hash = Sha256::digest(bytes).into();
        let path = self.path(&h);
        if held || path.exists() {
            return Ok((h, Stored::Already));
        }
        let io = |e: std::io::Error| {
            Problem::new(
                500,
                "Internal Server Error",
                format!("keeping the upload {}: {e}", hex::encode(&h)),
            )
        };
        let pending = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .count();
        if pending >= self.max_pending {
            return Err(Problem::new(
                507,
                "Insufficient Storage",
                format!(
                    "{pending} uploaded documents already wait for a statement citing them (the limit is {}); register those statements first",
                    self.max_pending
                ),
            ));
        }
        let tmp = self
            .dir
            .join(format!("{}.{}.tmp", hex::encode(&h), std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok((h, Stored::New))
    }

    /// The uploaded documents among `digests`, in their order; the others are left out.
    pub fn cited(&self, digests: &[[u8; 32]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for d in digests {
            if seen.contains(d) {
                continue;
            }
            seen.push(*d);
            // A file that is not what its name says (a damaged disk) is not offered: the ledger
            // would store it under its true digest, which nothing cites.
            if let Ok(b) = std::fs::read(self.path(d))
                && <[u8; 32]>::from(Sha256::digest(&b)) == *d
            {
                out.push(b);
            }
        }
        out
    }

    /// Removes the uploads of `digests`, which the ledger now holds. A failure leaves a copy the
    /// ledger also holds, which costs only disk.
    pub fn forget(&self, digests: &[Hash]) {
        for d in digests {
            let _ = std::fs::remove_file(self.path(d));
        }
    }
}

/// The digests of the documents a statement's evidence cites, or none for bytes that are not a
/// statement with a valid payload (the writer refuses those, with the reason).
pub fn cited_digests(statement: &[u8]) -> Vec<[u8; 32]> {
    SignedStatement::parse(statement)
        .ok()
        .and_then(|st| Evidence::from_payload(&st.header().kind, st.payload()).ok())
        .map(|e| e.document_digests().into_iter().map(|(_, d)| d).collect())
        .unwrap_or_default()
}

/// The SHA-256 an RFC 9530 `Content-Digest` header declares, if it declares one.
///
/// # Errors
/// `400` for a `sha-256` member that is not a byte sequence of 32 bytes.
pub fn declared_sha256(header: &str) -> Result<Option<Hash>, Problem> {
    use base64::Engine as _;
    // Members are `alg=:base64:` separated by commas (RFC 9530 §2, RFC 8941 dictionary);
    // algorithms other than sha-256 are ignored, as RFC 9530 §2 allows.
    for member in header.split(',') {
        let Some((alg, value)) = member.trim().split_once('=') else {
            continue;
        };
        if !alg.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let bad = || {
            Problem::new(
                400,
                "Bad Request",
                format!(
                    "Content-Digest: sha-256={value} is not a 32-byte digest in RFC 8941 byte-sequence form, e.g. sha-256=:BASE64:"
                ),
            )
        };
        let inner = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .ok_or_else(bad)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .map_err(|_| bad())?;
        return <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| bad());
    }
    Ok(None)
}

/// `POST /documents`: keeps the body as a document a statement will cite, and answers `201
/// Created` (`200 OK` when the ledger or the upload area already has it) with its `Location`
/// and a CBOR body `{"sha256": bstr, "size": uint, "location": tstr}`. An RFC 9530
/// `Content-Digest: sha-256=:…:` header, when sent, must match the body.
///
/// # Errors
/// `413` over the document limit, `400` for a digest mismatch or a bad `Content-Digest`,
/// `507` when too many uploads wait, `500`.
pub(super) async fn upload(
    state: &State,
    req: Request<Incoming>,
) -> Result<Response<Body>, Problem> {
    let declared = match req
        .headers()
        .get("content-digest")
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
    {
        Some(v) => declared_sha256(v)?,
        None => None,
    };
    let limit = state.config.max_document;
    let body = super::read_body(req, limit, "a document").await?;
    let h: Hash = Sha256::digest(&body).into();
    if let Some(d) = declared
        && d != h
    {
        return Err(Problem::new(
            400,
            "Digest Mismatch",
            format!(
                "Content-Digest declares sha-256 {} but the body's SHA-256 is {}: the upload was changed or truncated in transit; nothing was kept",
                hex::encode(&d),
                hex::encode(&h)
            ),
        ));
    }
    let held = super::read(state, move |l| {
        l.store().document(&h).map(|d| d.is_some()).map_err(|e| {
            Problem::new(
                500,
                "Internal Server Error",
                format!("reading the ledger: {e}"),
            )
        })
    })
    .await?;
    let uploads = std::sync::Arc::clone(&state.uploads);
    let size = body.len();
    let (h, stored) = tokio::task::spawn_blocking(move || uploads.put(&body, held))
        .await
        .map_err(|e| Problem::new(500, "Internal Server Error", format!("upload: {e}")))??;
    let location = format!("/documents/{}", hex::encode(&h));
    let answer = Value::Map(vec![
        (Value::text("sha256"), Value::Bytes(h.to_vec())),
        (Value::text("size"), Value::Unsigned(size as u64)),
        (Value::text("location"), Value::text(location.clone())),
    ]);
    let status = match stored {
        Stored::New => StatusCode::CREATED,
        Stored::Already => StatusCode::OK,
    };
    let mut r = super::respond(
        status,
        super::scrapi::CBOR_CONTENT_TYPE,
        cbor::encode(&answer),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(LOCATION, v);
    }
    Ok(r)
}

/// `GET /documents/SHA256[?entry=ENTRY-HASH]`: a document the ledger holds, to a reader of every
/// kind, or to a reader of the kind of the entry named by `entry` when that entry cites the
/// document by digest. Uploads no entry holds yet are not served.
///
/// # Errors
/// `400` for a path or query that is not hex digests; otherwise the one refusal of `access`
/// whenever the document is absent or the caller may not read it; `500`.
pub(super) async fn fetch(
    state: &State,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response<Body>, Problem> {
    let h = super::parse_hash(id, "document id", "the SHA-256 of the document")?;
    let entry = match query {
        None => None,
        Some(q) => {
            let v = q
                .split('&')
                .find_map(|kv| kv.strip_prefix("entry="))
                .ok_or_else(|| {
                    Problem::new(
                        400,
                        "Bad Request",
                        format!("query {q:?} is not entry=ENTRY-HASH"),
                    )
                })?;
            Some(super::parse_hash(
                v,
                "entry",
                "the SHA-256 of the statement",
            )?)
        }
    };
    let (doc, citing_kind) = super::read(state, move |l| {
        let internal = |e: &dyn std::fmt::Display| {
            Problem::new(
                500,
                "Internal Server Error",
                format!("reading the ledger: {e}"),
            )
        };
        let doc = l.store().document(&h).map_err(|e| internal(&e))?;
        let kind = match entry {
            None => None,
            Some(e) => l
                .store()
                .find(&e)
                .map_err(|e| internal(&e))?
                .filter(|e| cited_digests(&e.statement).contains(&h))
                .map(|e| e.kind),
        };
        Ok((doc, kind))
    })
    .await?;
    let access = &state.config.access;
    let caller = access.caller(headers);
    let allowed = match &citing_kind {
        Some(k) => access.may_read(caller, k),
        None => entry.is_none() && access.may_read_all(caller),
    };
    match doc {
        Some(bytes) if allowed => Ok(super::respond(
            StatusCode::OK,
            "application/octet-stream",
            bytes,
        )),
        _ => Err(refusal(caller)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_kept_once_under_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let u = Uploads::open(dir.path(), 2).unwrap();
        let (h, s) = u.put(b"report", false).unwrap();
        assert_eq!(s, Stored::New);
        assert_eq!(h, <[u8; 32]>::from(Sha256::digest(b"report")));
        assert_eq!(u.put(b"report", false).unwrap().1, Stored::Already);
        assert_eq!(u.cited(&[h, h, [0; 32]]), vec![b"report".to_vec()]);
        u.put(b"second", false).unwrap();
        assert_eq!(u.put(b"third", false).unwrap_err().status, 507);
        u.forget(&[h]);
        assert!(u.cited(&[h]).is_empty());
        assert_eq!(u.put(b"third", false).unwrap().1, Stored::New);
    }

    #[test]
    fn content_digest_is_read_and_checked() {
        use base64::Engine as _;
        let d = Sha256::digest(b"x");
        let b64 = base64::engine::general_purpose::STANDARD.encode(d);
        let h = format!("sha-512=:AAAA:, sha-256=:{b64}:");
        assert_eq!(declared_sha256(&h).unwrap(), Some(d.into()));
        assert_eq!(declared_sha256("sha-512=:AAAA:").unwrap(), None);
        assert_eq!(declared_sha256("sha-256=:AAAA:").unwrap_err().status, 400);
        assert_eq!(declared_sha256("sha-256=abc").unwrap_err().status, 400);
    }
}
