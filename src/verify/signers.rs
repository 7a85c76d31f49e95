//! Steps 6 and 7: statement signatures and signer roles, with key events judged by log position.
//!
//! The trust file pins keys to roles. Key events in the bundle extend that, as
//! [`key_standing::judge`] decides (the crate's one reading of key events); this step turns its
//! outcomes into checks, then judges every other entry against the book the key events leave. An
//! entry verifies only if its signer was in good standing at the entry's own index, whatever the
//! entry's `iat` says.

use std::collections::{BTreeSet, HashMap, HashSet};

use ed25519_dalek::VerifyingKey;

use super::{Clock, ParsedEntry, Run, Step};
use crate::evidence::Evidence;
use crate::evidence::key_standing::{self, EventOutcome, KeyBook, LoggedKeyEvent, Standing};
use crate::keys::KeyId;
use crate::statement;
use crate::trust::TrustFile;
use crate::x509::{Certificate, verify_chain};

/// The checks a key event's outcome is reported as, in order: (step, passed, message).
fn event_checks(signer: KeyId, outcome: &EventOutcome) -> Vec<(Step, bool, String)> {
    let signed = (Step::Signature, true, format!("signed by kid {signer}"));
    let signer_check = |ok, msg: String| vec![signed.clone(), (Step::Signer, ok, msg)];
    match outcome {
        EventOutcome::UnknownSigner => vec![(
            Step::Signature,
            false,
            format!("key event signed by kid {signer}, which is neither pinned nor introduced"),
        )],
        EventOutcome::Refused(why) => vec![(Step::Signer, false, why.to_string())],
        EventOutcome::BadSignature(why) => vec![(Step::Signature, false, why.clone())],
        EventOutcome::NotInLog => signer_check(
            false,
            "a key event not proved to be in the log changes no key's standing".to_owned(),
        ),
        EventOutcome::MalformedKey => {
            signer_check(false, "the key event's key is malformed".to_owned())
        }
        EventOutcome::MayNotRevoke { subject } => signer_check(
            false,
            format!(
                "kid {signer} may not revoke key {subject}: it is neither that key nor in one of its roles"
            ),
        ),
        EventOutcome::Granted {
            event,
            subject,
            roles,
        } => signer_check(
            true,
            format!("{event} gives key {subject} the roles {}", roles.join(", ")),
        ),
        EventOutcome::Revoked { subject, from, .. } => {
            signer_check(true, format!("revokes key {subject} from index {from}"))
        }
        EventOutcome::Cycle => vec![(
            Step::Signer,
            false,
            "key events revoke each other in a cycle; none is trusted".to_owned(),
        )],
    }
}

/// Checks every signature and signer role; returns the role each verified entry's signer acts
/// in, and for each signer trusted through a certificate the clock its chain was validated by.
///
/// `witnessed_at` gives an entry's witnessed time, if it has one: a certificate must be valid
/// then, when the entry is known to have been in the log, and not only at the `iat` its signer
/// wrote.
pub(super) fn check_signatures(
    run: &mut Run<'_>,
    entries: &[ParsedEntry],
    included: &HashSet<u64>,
    witnessed_at: &dyn Fn(u64) -> Option<u64>,
) -> (HashMap<u64, String>, HashMap<u64, Clock>) {
    let mut pinned = KeyBook::default();
    for role in &run.trust.roles {
        for key in &role.keys {
            pinned.pin(*key, &role.name);
        }
    }
    let mut roles = HashMap::new();
    let mut clocks = HashMap::new();

    // Key events first, in log order: each may change the standing of later signers.
    let mut statements: HashMap<u64, &statement::SignedStatement> = HashMap::new();
    let events: Vec<LoggedKeyEvent<'_>> = entries
        .iter()
        .filter_map(|e| match &e.evidence {
            Evidence::KeyEvent(k) => {
                statements.insert(e.index, &e.statement);
                Some(LoggedKeyEvent {
                    index: e.index,
                    signer: e.statement.header().kid,
                    event: k,
                })
            }
            _ => None,
        })
        .collect();
    let judgement = key_standing::judge(
        &pinned,
        &events,
        |index| included.contains(&index),
        |e, key| match statements.get(&e.index) {
            Some(st) => (*st)
                .clone()
                .verify(key)
                .map(|_| ())
                .map_err(|err| err.to_string()),
            // Every event was built from an entry above, so its statement is there.
            None => Err("key event without its statement".to_owned()),
        },
    );
    for j in &judgement.events {
        for (step, ok, msg) in event_checks(j.signer, &j.outcome) {
            run.check(step, Some(j.index), None, ok, msg);
        }
        if let Some(r) = j.outcome.took_effect() {
            roles.insert(j.index, r.join(", "));
        }
    }
    let done: HashSet<u64> = events.iter().map(|e| e.index).collect();
    let book = judgement.book;

    // Every other entry: standing at its index, then the signature (many at once), then the role.
    let mut batch = Vec::new();
    let mut pending = Vec::new();
    let mut certified: HashMap<u64, (Standing, String, Clock)> = HashMap::new();
    for e in entries.iter().filter(|e| !done.contains(&e.index)) {
        let kid = e.statement.header().kid;
        if !book.contains(&kid) && !e.statement.header().x5chain.is_empty() {
            match certificate_standing(run.trust, e, witnessed_at(e.index)) {
                Ok((standing, how, clock)) => {
                    batch.push((&e.statement, standing.key));
                    pending.push(e);
                    certified.insert(e.index, (standing, how, clock));
                }
                Err((why, Some(clock))) => {
                    run.check_clocked(Step::Signer, Some(e.index), false, clock, why)
                }
                Err((why, None)) => run.fail(Step::Signer, Some(e.index), why),
            }
            continue;
        }
        match book.get(&kid) {
            None => run.fail(
                Step::Signature,
                Some(e.index),
                format!(
                    "signer kid {kid} is not pinned by the trust file nor introduced by a key event"
                ),
            ),
            Some(s) => match s.refuses(e.index) {
                Some(why) => run.fail(Step::Signer, Some(e.index), why.to_string()),
                None => {
                    batch.push((&e.statement, s.key));
                    pending.push(e);
                }
            },
        }
    }
    let refs: Vec<(&statement::SignedStatement, &VerifyingKey)> =
        batch.iter().map(|(s, k)| (*s, k)).collect();
    let results = statement::check_many(&refs);
    for (e, result) in pending.into_iter().zip(results) {
        let h = e.statement.header();
        if let Err(err) = result {
            run.fail(Step::Signature, Some(e.index), err.to_string());
            continue;
        }
        run.pass(
            Step::Signature,
            Some(e.index),
            format!("signed by kid {}", h.kid),
        );
        let kind = h.kind.as_str();
        let (standing, how, clock) = match certified.get(&e.index) {
            Some((s, how, clock)) => (s, format!(" ({how})"), Some(*clock)),
            None => match book.get(&h.kid) {
                Some(s) => (s, String::new(), None),
                // Only entries whose kid is in the book or certified were queued above.
                None => continue,
            },
        };
        let role = run
            .trust
            .roles
            .iter()
            .find(|r| standing.acts_in(&r.name, e.index) && r.kinds.iter().any(|k| k == kind))
            .map(|r| r.name.clone());
        // A role that would allow the kind but was granted only after this entry.
        let later = run
            .trust
            .roles
            .iter()
            .filter(|r| r.kinds.iter().any(|k| k == kind))
            .find_map(|r| standing.roles.get(&r.name).map(|from| (&r.name, *from)));
        match role {
            Some(name) => {
                let msg = format!("role {name} may sign {kind}{how}");
                match clock {
                    Some(clock) => {
                        run.check_clocked(Step::Signer, Some(e.index), true, clock, msg);
                        clocks.insert(e.index, clock);
                    }
                    None => run.pass(Step::Signer, Some(e.index), msg),
                }
                roles.insert(e.index, name);
            }
            None => run.fail(
                Step::Signer,
                Some(e.index),
                match later {
                    Some((name, from)) => format!(
                        "kid {} acts in role {name}, which may sign {kind}, only from index {from} (granted by a key event after this entry)",
                        h.kid
                    ),
                    None => format!("no role in the trust file lets kid {} sign {kind}", h.kid),
                },
            ),
        }
    }
    (roles, clocks)
}

/// A signer with a certificate chain (COSE x5chain) instead of a pinned key: the leaf must carry
/// the statement's key, and the chain must lead to an X.509 root of a role that may sign the
/// entry's kind, valid at the statement's `iat` and, when the entry has a witnessed time, at that
/// time too (`specs/verification.md`, "Certificates and clocks").
///
/// Returns the standing, how the chain was validated (for the report) and the clock it was
/// validated by; an error carries the clock when the chain was tried at a time.
fn certificate_standing(
    trust: &TrustFile,
    e: &ParsedEntry,
    witnessed: Option<u64>,
) -> Result<(Standing, String, Clock), (String, Option<Clock>)> {
    let h = e.statement.header();
    let chain = h
        .x5chain
        .iter()
        .enumerate()
        .map(|(i, der)| Certificate::from_der(der).map_err(|err| format!("x5chain[{i}]: {err}")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|why| (why, None))?;
    let leaf = chain
        .first()
        .ok_or(("x5chain is empty".to_owned(), None))?
        .ed25519_key()
        .map_err(|err| (format!("x5chain[0]: {err}"), None))?;
    if KeyId::of(&leaf) != h.kid {
        return Err((
            format!(
                "the certificate's key ({}) is not the statement's kid {}",
                KeyId::of(&leaf),
                h.kid
            ),
            None,
        ));
    }
    let iat = i64::try_from(h.issued_at).map_err(|_| ("iat is out of range".to_owned(), None))?;
    // A cosignature timestamp is at most 2^63 - 1 (`specs/checkpoint.md`), so it fits; should
    // one not, the entry is treated as having none rather than wrapping.
    let witnessed = witnessed.and_then(|w| i64::try_from(w).ok());
    let clock = if witnessed.is_some() {
        Clock::Witnessed
    } else {
        Clock::SelfAsserted
    };
    let mut roles = BTreeSet::new();
    let mut how = String::new();
    let mut last_err = None;
    for r in trust
        .roles
        .iter()
        .filter(|r| !r.x509_roots.is_empty() && r.kinds.contains(&h.kind))
    {
        // With a witnessed time the chain must be valid then, when the entry is known to have
        // been in the log: a back-dated iat cannot revive an expired certificate. It must also
        // be valid at the iat its signer wrote, as without witnesses.
        let checked = match witnessed {
            Some(w) => verify_chain(&chain, &r.x509_roots, w)
                .map_err(|err| {
                    format!(
                        "at the witnessed time {}, by which the entry was in the log (clock: witnessed): {err}",
                        crate::time::format_rfc3339(w)
                    )
                })
                .and_then(|_| {
                    verify_chain(&chain, &r.x509_roots, iat).map_err(|err| {
                        format!(
                            "at its iat {} (self-asserted): {err}",
                            crate::time::format_rfc3339(iat)
                        )
                    })
                }),
            None => verify_chain(&chain, &r.x509_roots, iat).map_err(|err| {
                format!(
                    "at its iat {} (clock: self-asserted, no witnessed time): {err}",
                    crate::time::format_rfc3339(iat)
                )
            }),
        };
        match checked {
            Ok(root) => {
                roles.insert(r.name.clone());
                how = match witnessed {
                    Some(w) => format!(
                        "certificate {} chains to {} at the witnessed time {}, by which the entry was in the log, and at iat {}; clock: witnessed",
                        chain[0].subject(),
                        root.subject(),
                        crate::time::format_rfc3339(w),
                        crate::time::format_rfc3339(iat)
                    ),
                    None => format!(
                        "certificate {} chains to {} at iat {}; clock: self-asserted iat, no witnessed time",
                        chain[0].subject(),
                        root.subject(),
                        crate::time::format_rfc3339(iat)
                    ),
                };
            }
            Err(err) => last_err = Some(err),
        }
    }
    if roles.is_empty() {
        return Err(match last_err {
            Some(err) => (format!("certificate chain not trusted {err}"), Some(clock)),
            None => (
                format!(
                    "signer kid {} is not pinned, and no role with X.509 roots may sign {}",
                    h.kid, h.kind
                ),
                None,
            ),
        });
    }
    Ok((Standing::pinned(leaf, roles), how, clock))
}
