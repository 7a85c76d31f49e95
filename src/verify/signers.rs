//! Steps 6 and 7: statement signatures and signer roles, with key events judged by log position.
//!
//! The trust file pins keys to roles. Key events in the bundle extend that, in log order: a
//! verified `introduce` or `rotate` signed by a key in good standing gives the new key the
//! signer's roles from the next index on; a `rotate` ends the old key's standing after its own
//! index; a `revoke` (signed by the key itself or by a key sharing one of its roles) ends the
//! revoked key's standing from its effective index. An entry verifies only if its signer was in
//! good standing at the entry's own index, whatever the entry's `iat` says.

use std::collections::{BTreeSet, HashMap, HashSet};

use ed25519_dalek::VerifyingKey;

use super::{ParsedEntry, Run, Step};
use crate::evidence::{Evidence, KeyEvent, KeyEventType};
use crate::keys::KeyId;
use crate::statement;
use crate::trust::TrustFile;
use crate::x509::{Certificate, verify_chain};

/// A key's standing as established by the trust file and the key events seen so far.
#[derive(Clone, Debug)]
struct Standing {
    key: VerifyingKey,
    /// Names of the trust-file roles the key acts in.
    roles: BTreeSet<String>,
    /// First log index at which it may sign (0 for pinned keys).
    valid_from: u64,
    /// First log index at which it may no longer sign, and the entry that said so.
    ends: Option<(u64, u64, &'static str)>,
}

impl Standing {
    /// Why the key may not sign at `index`, if it may not.
    fn refuses(&self, index: u64) -> Option<String> {
        if index < self.valid_from {
            return Some(format!(
                "the signer key was only introduced for index {} on",
                self.valid_from
            ));
        }
        match self.ends {
            Some((from, by, what)) if index >= from => Some(format!(
                "the signer key was {what} from index {from} (key event at entry {by})"
            )),
            _ => None,
        }
    }

    fn end(&mut self, from: u64, by: u64, what: &'static str) {
        if self.ends.is_none_or(|(f, _, _)| from < f) {
            self.ends = Some((from, by, what));
        }
    }
}

/// Revocations by revoked key: (first invalid index, index of the revoking key event).
type Revocations = HashMap<KeyId, (u64, u64)>;

/// One key event's checks (step, passed, message) and, if it took effect, its signer's roles.
type EventOutcome = (u64, Vec<(Step, bool, String)>, Option<String>);

/// Replays of the key events before giving up on revocations that void each other.
const MAX_REPLAYS: usize = 8;

/// Replays key events in log order over the pinned keys, assuming the revocations in `assumed`
/// from the start; returns the resulting standings, each event's outcome, and the revocations
/// that the replay found valid.
fn replay(
    pinned: &HashMap<KeyId, Standing>,
    events: &[(&ParsedEntry, &KeyEvent)],
    included: &HashSet<u64>,
    assumed: &Revocations,
) -> (HashMap<KeyId, Standing>, Vec<EventOutcome>, Revocations) {
    let mut book = pinned.clone();
    for (kid, (from, by)) in assumed {
        if let Some(s) = book.get_mut(kid) {
            s.end(*from, *by, "revoked");
        }
    }
    let mut found: Revocations = HashMap::new();
    let mut outcomes = Vec::with_capacity(events.len());
    for (e, ev) in events {
        let mut checks = Vec::new();
        let role = replay_one(&mut book, e, ev, included, assumed, &mut found, &mut checks);
        outcomes.push((e.index, checks, role));
    }
    (book, outcomes, found)
}

/// Applies one key event; records its checks; returns the signer's roles if it took effect.
fn replay_one(
    book: &mut HashMap<KeyId, Standing>,
    e: &ParsedEntry,
    ev: &KeyEvent,
    included: &HashSet<u64>,
    assumed: &Revocations,
    found: &mut Revocations,
    checks: &mut Vec<(Step, bool, String)>,
) -> Option<String> {
    let kid = e.statement.header().kid;
    let Some(signer) = book.get(&kid).cloned() else {
        let msg = format!("key event signed by kid {kid}, which is neither pinned nor introduced");
        checks.push((Step::Signature, false, msg));
        return None;
    };
    // A key may always sign its own revocation, even one that takes effect at or before it.
    let own_revocation = ev.event == KeyEventType::Revoke
        && ev.subject_kid() == Some(kid)
        && signer.ends.is_some_and(|(_, by, _)| by == e.index);
    if let Some(why) = signer.refuses(e.index)
        && !own_revocation
    {
        checks.push((Step::Signer, false, why));
        return None;
    }
    if let Err(err) = e.statement.clone().verify(&signer.key) {
        checks.push((Step::Signature, false, err.to_string()));
        return None;
    }
    checks.push((Step::Signature, true, format!("signed by kid {kid}")));
    if !included.contains(&e.index) {
        let msg = "a key event not proved to be in the log changes no key's standing".to_owned();
        checks.push((Step::Signer, false, msg));
        return None;
    }
    let (Some(subject), Some(subject_key)) = (ev.subject_kid(), ev.key.verifying_key()) else {
        checks.push((
            Step::Signer,
            false,
            "the key event's key is malformed".to_owned(),
        ));
        return None;
    };
    let role = signer.roles.iter().cloned().collect::<Vec<_>>().join(", ");
    match ev.event {
        KeyEventType::Introduce | KeyEventType::Rotate => {
            let entry = book.entry(subject).or_insert_with(|| {
                let mut s = Standing {
                    key: subject_key,
                    roles: BTreeSet::new(),
                    valid_from: e.index + 1,
                    ends: None,
                };
                if let Some((from, by)) = assumed.get(&subject) {
                    s.end(*from, *by, "revoked");
                }
                s
            });
            entry.roles.extend(signer.roles.iter().cloned());
            if ev.event == KeyEventType::Rotate
                && let Some(old) = book.get_mut(&kid)
            {
                old.end(e.index + 1, e.index, "rotated away");
            }
            let msg = format!("{} gives key {subject} the roles {role}", ev.event);
            checks.push((Step::Signer, true, msg));
        }
        KeyEventType::Revoke => {
            let allowed = subject == kid
                || book
                    .get(&subject)
                    .is_some_and(|t| t.roles.iter().any(|r| signer.roles.contains(r)));
            if !allowed {
                let msg = format!(
                    "kid {kid} may not revoke key {subject}: it is neither that key nor in one of its roles"
                );
                checks.push((Step::Signer, false, msg));
                return None;
            }
            let from = ev.effective_index.unwrap_or(e.index);
            if let Some(t) = book.get_mut(&subject) {
                t.end(from, e.index, "revoked");
            }
            let slot = found.entry(subject).or_insert((from, e.index));
            if from < slot.0 {
                *slot = (from, e.index);
            }
            checks.push((
                Step::Signer,
                true,
                format!("revokes key {subject} from index {from}"),
            ));
        }
    }
    Some(role)
}

/// Checks every signature and signer role; returns the role each verified entry's signer acts in.
pub(super) fn check_signatures(
    run: &mut Run<'_>,
    entries: &[ParsedEntry],
    included: &HashSet<u64>,
) -> HashMap<u64, String> {
    let mut book: HashMap<KeyId, Standing> = HashMap::new();
    for role in &run.trust.roles {
        for key in &role.keys {
            book.entry(KeyId::of(key))
                .or_insert_with(|| Standing {
                    key: *key,
                    roles: BTreeSet::new(),
                    valid_from: 0,
                    ends: None,
                })
                .roles
                .insert(role.name.clone());
        }
    }
    let mut roles = HashMap::new();

    // Key events first, in log order: each may change the standing of later signers.
    let mut events: Vec<(&ParsedEntry, &KeyEvent)> = entries
        .iter()
        .filter_map(|e| match &e.evidence {
            Evidence::KeyEvent(k) => Some((e, k)),
            _ => None,
        })
        .collect();
    events.sort_by_key(|(e, _)| e.index);
    let done: HashSet<u64> = events.iter().map(|(e, _)| e.index).collect();
    // A revocation may take effect before its own index, voiding key events its key signed in
    // between; so replay until the revocations found are the ones assumed at the start.
    let mut assumed: Revocations = HashMap::new();
    let mut every: Revocations = HashMap::new();
    let mut replays = 0;
    let (final_book, outcomes) = loop {
        let (b, outcomes, found) = replay(&book, &events, included, &assumed);
        replays += 1;
        if found == assumed {
            break (b, outcomes);
        }
        for (k, v) in &found {
            let slot = every.entry(*k).or_insert(*v);
            if v.0 < slot.0 {
                *slot = *v;
            }
        }
        if replays == MAX_REPLAYS {
            // Revocations that keep voiding each other: trust none of the key events, and
            // apply every revocation seen, so that the failure is closed, not open.
            let mut closed = book.clone();
            for (kid, (from, by)) in &every {
                if let Some(s) = closed.get_mut(kid) {
                    s.end(*from, *by, "revoked");
                }
            }
            let outcomes = events
                .iter()
                .map(|(e, _)| {
                    let msg = "key events revoke each other in a cycle; none is trusted".to_owned();
                    (e.index, vec![(Step::Signer, false, msg)], None)
                })
                .collect();
            break (closed, outcomes);
        }
        assumed = found;
    };
    book = final_book;
    for (index, checks, role) in outcomes {
        for (step, ok, msg) in checks {
            run.check(step, Some(index), None, ok, msg);
        }
        if let Some(role) = role {
            roles.insert(index, role);
        }
    }

    // Every other entry: standing at its index, then the signature (many at once), then the role.
    let mut batch = Vec::new();
    let mut pending = Vec::new();
    let mut certified: HashMap<u64, (Standing, String)> = HashMap::new();
    for e in entries.iter().filter(|e| !done.contains(&e.index)) {
        let kid = e.statement.header().kid;
        if !book.contains_key(&kid) && !e.statement.header().x5chain.is_empty() {
            match certificate_standing(run.trust, e) {
                Ok((standing, how)) => {
                    batch.push((&e.statement, standing.key));
                    pending.push(e);
                    certified.insert(e.index, (standing, how));
                }
                Err(why) => run.fail(Step::Signer, Some(e.index), why),
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
                Some(why) => run.fail(Step::Signer, Some(e.index), why),
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
        let (standing, how) = match certified.get(&e.index) {
            Some((s, how)) => (s, format!(" ({how})")),
            None => (&book[&h.kid], String::new()),
        };
        let role = run
            .trust
            .roles
            .iter()
            .find(|r| standing.roles.contains(&r.name) && r.kinds.iter().any(|k| k == kind))
            .map(|r| r.name.clone());
        match role {
            Some(name) => {
                run.pass(
                    Step::Signer,
                    Some(e.index),
                    format!("role {name} may sign {kind}{how}"),
                );
                roles.insert(e.index, name);
            }
            None => run.fail(
                Step::Signer,
                Some(e.index),
                format!("no role in the trust file lets kid {} sign {kind}", h.kid),
            ),
        }
    }
    roles
}

/// A signer with a certificate chain (COSE x5chain) instead of a pinned key: the leaf must carry
/// the statement's key, and the chain must lead to an X.509 root of a role that may sign the
/// entry's kind, valid at the statement's `iat`.
fn certificate_standing(trust: &TrustFile, e: &ParsedEntry) -> Result<(Standing, String), String> {
    let h = e.statement.header();
    let chain = h
        .x5chain
        .iter()
        .enumerate()
        .map(|(i, der)| Certificate::from_der(der).map_err(|err| format!("x5chain[{i}]: {err}")))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = chain
        .first()
        .ok_or("x5chain is empty")?
        .ed25519_key()
        .map_err(|err| format!("x5chain[0]: {err}"))?;
    if KeyId::of(&leaf) != h.kid {
        return Err(format!(
            "the certificate's key ({}) is not the statement's kid {}",
            KeyId::of(&leaf),
            h.kid
        ));
    }
    let at = i64::try_from(h.issued_at).map_err(|_| "iat is out of range".to_owned())?;
    let mut roles = BTreeSet::new();
    let mut how = String::new();
    let mut last_err = None;
    for r in trust
        .roles
        .iter()
        .filter(|r| !r.x509_roots.is_empty() && r.kinds.contains(&h.kind))
    {
        match verify_chain(&chain, &r.x509_roots, at) {
            Ok(root) => {
                roles.insert(r.name.clone());
                how = format!(
                    "certificate {} chains to {} at iat {}",
                    chain[0].subject(),
                    root.subject(),
                    crate::time::format_rfc3339(at)
                );
            }
            Err(err) => last_err = Some(err.to_string()),
        }
    }
    if roles.is_empty() {
        return Err(match last_err {
            Some(err) => format!("certificate chain not trusted: {err}"),
            None => format!(
                "signer kid {} is not pinned, and no role with X.509 roots may sign {}",
                h.kid, h.kind
            ),
        });
    }
    Ok((
        Standing {
            key: leaf,
            roles,
            valid_from: 0,
            ends: None,
        },
        how,
    ))
}
