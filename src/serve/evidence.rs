//! The evidence itself, as opposed to the hashes the tiles publish: statements by log index
//! (`GET /statements/<index>`) and buyers' bundles (`GET /bundle?...`), `specs/service.md`,
//! "Statements by index" and "Bundles for buyers".
//!
//! These are the answers that readers' authorisation is to guard: every handler here is an
//! entry point of its own, so that one check in front of them covers them all.

use hyper::header::{CACHE_CONTROL, CONTENT_DISPOSITION, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};

use super::problem::Problem;
use super::tiles::published_size;
use super::{Body, COSE_CONTENT_TYPE, State, read, respond};
use crate::export::{self, BundleOptions, ExportError, Selection};
use crate::ledger::{Ledger, LedgerError};
use crate::store::{StoreError, StoreRead as _};

/// The media type of a bundle: the CBOR `evledger bundle` writes (`specs/bundle.md`).
pub const BUNDLE_CONTENT_TYPE: &str = "application/cbor";

/// `GET /statements/<index>`: the signed statement at a log index of the published tree, the
/// entry whose hash the entry bundles carry.
pub(super) async fn statement(
    state: &State,
    index: &str,
    headers: &HeaderMap,
) -> Result<Response<Body>, Problem> {
    let index = super::tiles::parse_decimal(index).ok_or_else(|| {
        Problem::new(
            400,
            "Bad Request",
            format!(
                "statement index {index:?} is not a log index: expected a decimal without leading zeros"
            ),
        )
    })?;
    let (kind, bytes) = match read(state, move |l| statement_at(l, index)).await {
        Ok(found) => found,
        Err(p) => return Ok(super::tiles::not_there_yet(&p)),
    };
    // Whether an index is in the published tree is public (the tiles say so); what is there is
    // for readers of its kind only.
    let access = &state.config.access;
    access.check(access.caller(headers), Some(&kind))?;
    Ok(respond(StatusCode::OK, COSE_CONTENT_TYPE, bytes))
}

fn statement_at(ledger: &Ledger, index: u64) -> Result<(String, Vec<u8>), Problem> {
    super::tiles::in_snapshot(ledger, |store| {
        let size = published_size(store)?;
        if index >= size {
            return Err(Problem::new(
                404,
                "Not Found",
                format!(
                    "no statement {index} in the published tree (size {size}): indexes run from 0 to {}",
                    size.saturating_sub(1)
                ),
            ));
        }
        store
            .entry(index)
            .map(|e| (e.kind, e.statement))
            .map_err(|e| {
                Problem::new(
                    500,
                    "Internal Server Error",
                    format!("reading the ledger: {e}"),
                )
            })
    })
}

/// An earlier checkpoint to prove consistency from (`evledger bundle --since`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// The log's own stored checkpoint of this tree size.
    Size(u64),
    /// A signed checkpoint note, as the buyer holds it.
    Note(String),
}

/// What `GET /bundle` was asked for: the options of `evledger bundle` that a query can carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleQuery {
    /// `all`: every entry of the log (`--all`).
    pub all: bool,
    /// `entry=ENTRY`, in order (`--entry`).
    pub entries: Vec<String>,
    /// `claim=ENTRY`, in order (`--claim`).
    pub claims: Vec<String>,
    /// `export-decision=ENTRY`, in order (`--export-decision`): an export auditor's bundle.
    pub export_decisions: Vec<String>,
    /// `deployment=ENTRY`, in order (`--deployment`): a deployment's audit bundle.
    pub deployments: Vec<String>,
    /// `since=SIZE` or `since=NOTE` (`--since`).
    pub since: Option<Since>,
}

fn bad_query(detail: String) -> Problem {
    Problem::new(400, "Bad Request", detail)
}

/// The forms `GET /bundle` takes, for error details.
const FORMS: &str = "GET /bundle takes claim=ENTRY, entry=ENTRY, export-decision=ENTRY, deployment=ENTRY (each repeatable; ENTRY is an entry hash or a log index), all, and since=SIZE or since=NOTE";

/// Parses the query of `GET /bundle`.
///
/// # Errors
/// A 400 [`Problem`] naming the parameter that is wrong.
pub fn parse_bundle_query(query: Option<&str>) -> Result<BundleQuery, Problem> {
    let mut q = BundleQuery::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name).ok_or_else(|| {
            bad_query(format!(
                "query parameter {raw_name:?} is not percent-encoded UTF-8"
            ))
        })?;
        let value = percent_decode(raw_value).ok_or_else(|| {
            bad_query(format!(
                "{name}: the value {raw_value:?} is not percent-encoded UTF-8"
            ))
        })?;
        match name.as_str() {
            "claim" | "entry" | "export-decision" | "deployment" => {
                let list = match name.as_str() {
                    "claim" => &mut q.claims,
                    "entry" => &mut q.entries,
                    "export-decision" => &mut q.export_decisions,
                    _ => &mut q.deployments,
                };
                let hash = value.len() == 64 && crate::hex::decode_array::<32>(&value).is_some();
                if !hash && super::tiles::parse_decimal(&value).is_none() {
                    return Err(bad_query(format!(
                        "{name}={value:?} names no entry: give its entry hash (64 lowercase hex digits) or its log index"
                    )));
                }
                list.push(value);
            }
            "all" => {
                if !(value.is_empty() || value == "true") {
                    return Err(bad_query(format!(
                        "all={value:?}: `all` takes no value (or `true`); leave it out to bundle a selection"
                    )));
                }
                q.all = true;
            }
            "since" => {
                if q.since.is_some() {
                    return Err(bad_query(
                        "since is given twice: a bundle proves consistency from one earlier checkpoint".into(),
                    ));
                }
                q.since = Some(if let Some(size) = super::tiles::parse_decimal(&value) {
                    Since::Size(size)
                } else if value.contains('\n') {
                    Since::Note(value)
                } else {
                    return Err(bad_query(format!(
                        "since={value:?} is neither a tree size (a decimal) nor a signed checkpoint note (percent-encoded, with its newlines)"
                    )));
                });
            }
            other => {
                return Err(bad_query(format!(
                    "unknown query parameter {other:?}: {FORMS}"
                )));
            }
        }
    }
    if !q.all
        && q.claims.is_empty()
        && q.entries.is_empty()
        && q.export_decisions.is_empty()
        && q.deployments.is_empty()
    {
        return Err(bad_query(format!("nothing selected: {FORMS}")));
    }
    Ok(q)
}

/// Decodes `%XX` escapes and `+` (a space, as in HTML forms); `None` for a malformed escape or
/// bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `GET /bundle?...`: the bytes `evledger bundle` writes for the same selection and checkpoint.
///
/// A bundle carries entries of any kind (the cited evidence, key events, incidents), so only a
/// reader granted every kind may fetch one; anyone else gets the one refusal of `access`.
pub(super) async fn bundle(
    state: &State,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response<Body>, Problem> {
    let access = &state.config.access;
    let caller = access.caller(headers);
    if !access.may_read_all(caller) {
        return Err(super::access::refusal(caller));
    }
    let q = parse_bundle_query(query)?;
    let dir = state.dir.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        // Opened for writing, as `evledger bundle` opens it: when no stored checkpoint covers the
        // selection with the log's adverse index, one is signed, exactly as the CLI would.
        let mut ledger = Ledger::open(&dir).map_err(|e| ledger_problem(&e))?;
        build(&mut ledger, &q)
    })
    .await
    .map_err(|e| {
        Problem::new(
            500,
            "Internal Server Error",
            format!("building the bundle: {e}"),
        )
    })??;
    let mut r = respond(StatusCode::OK, BUNDLE_CONTENT_TYPE, bytes);
    let h = r.headers_mut();
    h.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"bundle.cbor\""),
    );
    // It is proved against the latest checkpoint, and it is for its reader alone.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// Builds the bundle a query asks for, through the export `evledger bundle` uses.
///
/// # Errors
/// A [`Problem`] naming the parameter at fault, or the ledger's failure.
pub fn build(ledger: &mut Ledger, q: &BundleQuery) -> Result<Vec<u8>, Problem> {
    let mut selection = Selection {
        all: q.all,
        entries: Vec::new(),
    };
    for (param, names) in [
        ("entry", &q.entries),
        ("claim", &q.claims),
        ("export-decision", &q.export_decisions),
        ("deployment", &q.deployments),
    ] {
        for name in names {
            let e = ledger.resolve(name).map_err(|e| match e {
                LedgerError::NoSuchEntry(_) => Problem::new(
                    404,
                    "Not Found",
                    format!("{param}={name}: no such entry in this log"),
                ),
                other => ledger_problem(&other),
            })?;
            if param == "claim" && e.kind != "claim" {
                return Err(bad_query(format!(
                    "claim={name}: entry {} is a {}, not a claim; use entry= for other kinds",
                    e.index, e.kind
                )));
            }
            // The audit bundles gather what `evledger bundle --export-decision` and
            // `--deployment` gather, through the same functions.
            let seeds = match param {
                "export-decision" => crate::ledger::audit_bundle::export_decision_seeds(ledger, &e),
                "deployment" => crate::ledger::audit_bundle::deployment_seeds(&e),
                _ => Ok(vec![e]),
            };
            match seeds {
                Ok(seeds) => selection.entries.extend(seeds),
                Err(ExportError::Ledger(e)) => return Err(ledger_problem(&e)),
                Err(why) => return Err(bad_query(format!("{param}={name}: {why}"))),
            }
        }
    }
    let since = match &q.since {
        None => None,
        Some(Since::Note(note)) => Some(note.clone()),
        Some(Since::Size(size)) => match ledger.store().checkpoint_at(*size) {
            Ok(Some(cp)) => Some(cp.note),
            Ok(None) => {
                return Err(Problem::new(
                    404,
                    "Not Found",
                    format!(
                        "since={size}: the log holds no checkpoint of tree size {size}; give one it signed, or the checkpoint note itself"
                    ),
                ));
            }
            Err(e) => return Err(ledger_problem(&e.into())),
        },
    };
    let options = BundleOptions {
        attachments: Vec::new(),
        since,
    };
    match export::build(ledger, &selection, &options) {
        Ok(b) => Ok(b.to_cbor()),
        Err(ExportError::Since(why)) => Err(bad_query(format!("since: {why}"))),
        Err(ExportError::Empty) => Err(bad_query(
            "nothing to bundle: the selection holds only the log's own adverse-index entries"
                .into(),
        )),
        Err(ExportError::Ledger(e)) => Err(ledger_problem(&e)),
        Err(e @ ExportError::Entry { .. }) => Err(Problem::new(
            500,
            "Internal Server Error",
            format!("the ledger cannot be exported: {e}; the operator should run `evledger audit`"),
        )),
    }
}

fn ledger_problem(e: &LedgerError) -> Problem {
    match e {
        LedgerError::Store(StoreError::ReadOnly(_)) => Problem::new(
            503,
            "Service Unavailable",
            format!(
                "{e}: no stored checkpoint covers the selection, and this server cannot sign one"
            ),
        ),
        _ => Problem::new(
            500,
            "Internal Server Error",
            format!("reading the ledger: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(q: &str) -> String {
        let p = parse_bundle_query(Some(q)).unwrap_err();
        assert_eq!(p.status, 400, "{q}");
        p.detail
    }

    #[test]
    fn the_forms_of_evledger_bundle_parse() {
        let h = "ab".repeat(32);
        let q = parse_bundle_query(Some(&format!(
            "claim={h}&claim=7&entry=0&since=12&export-decision=3&deployment={h}"
        )))
        .unwrap();
        assert_eq!(
            q,
            BundleQuery {
                all: false,
                entries: vec!["0".into()],
                claims: vec![h.clone(), "7".into()],
                export_decisions: vec!["3".into()],
                deployments: vec![h.clone()],
                since: Some(Since::Size(12)),
            }
        );
        assert!(parse_bundle_query(Some("all")).unwrap().all);
        assert!(parse_bundle_query(Some("all=true&")).unwrap().all);
        let q = parse_bundle_query(Some("all&since=log%0A3%0Ar+oot%2B%0A")).unwrap();
        assert_eq!(q.since, Some(Since::Note("log\n3\nr oot+\n".into())));
    }

    #[test]
    fn bad_queries_name_their_parameter() {
        assert!(detail("").starts_with("nothing selected"));
        assert!(parse_bundle_query(None).is_err());
        assert!(detail("since=3").starts_with("nothing selected"));
        assert!(detail("claim=xyz").starts_with("claim=\"xyz\" names no entry"));
        assert!(detail("entry=").starts_with("entry=\"\" names no entry"));
        assert!(detail("entry=007").starts_with("entry=\"007\""));
        assert!(detail("all=yes").starts_with("all=\"yes\""));
        assert!(detail("all&since=1&since=2").starts_with("since is given twice"));
        assert!(detail("all&since=abc").starts_with("since=\"abc\" is neither"));
        assert!(detail("all&attach=x").starts_with("unknown query parameter \"attach\""));
        assert!(detail("all&since=%zz").starts_with("since: the value \"%zz\""));
        assert!(detail("all&since=%C3").contains("not percent-encoded UTF-8"));
        assert!(detail("al%l").contains("not percent-encoded UTF-8"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2b").as_deref(), Some("a b c+"));
        assert_eq!(percent_decode("%E2%80%94").as_deref(), Some("\u{2014}"));
        for bad in ["%", "%2", "%g0", "%ff", "%+1"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}
