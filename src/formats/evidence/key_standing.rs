//! Key standing: what a log's key events say about a signer key at a log index.
//!
//! This is the one reading of key events ([`KeyEvent`]) in the crate, over events given as
//! (log index, signer kid, event); where they come from (a bundle, a store) is the caller's
//! business. It answers three questions:
//!
//! - [`judge`]: the verifier's question. Starting from the keys a buyer pins, which key events
//!   are trusted, and which key may sign at which index? Events are replayed in log order to a
//!   fixed point, failing closed (`specs/verification.md`, "Key events").
//! - [`recorded_end`]: the ledger's question at record time. Has any key event in the log ended
//!   this key, whoever signed it (`specs/evidence.md`, "At record time")?
//! - [`Lineage`]: where keys come from. Which keys were introduced or rotated to, and from which
//!   keys that no event introduced do they descend (`specs/trust.md`, `trust init`)?
//!
//! What one event does when trusted is written once, in [`LoggedKeyEvent::ends`] and
//! [`judge`]: an `introduce` or `rotate` gives its subject the signer's roles from the next index
//! on, also when the subject is already known (pinned in other roles, or introduced earlier): a
//! role is never granted for entries at or before the event; a `rotate` ends its signer from the next index; a `revoke` ends its subject from its
//! `effective_index` (default: its own index). Standing is judged by log position only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ed25519_dalek::VerifyingKey;

use super::{KeyEvent, KeyEventType};
use crate::keys::KeyId;

/// A key event as it sits in a log: where, signed by which key, saying what.
#[derive(Clone, Copy, Debug)]
pub struct LoggedKeyEvent<'a> {
    /// Its log index.
    pub index: u64,
    /// The kid of the key that signed it (its statement's `kid`).
    pub signer: KeyId,
    /// What it says.
    pub event: &'a KeyEvent,
}

/// How a key's standing ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndKind {
    /// A `revoke` about the key.
    Revoked,
    /// A `rotate` signed by the key.
    RotatedAway,
}

impl fmt::Display for EndKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndKind::Revoked => "revoked",
            EndKind::RotatedAway => "rotated away",
        })
    }
}

/// The end of a key's standing: from which index it may no longer sign, and which event said so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// The first log index at which the key may no longer sign.
    pub from: u64,
    /// The index of the key event that ended it.
    pub by: u64,
    /// Revoked or rotated away.
    pub kind: EndKind,
}

impl End {
    /// Whether this end replaces `current`: the earliest end wins, and of two at the same index
    /// the one set first stays.
    fn is_earlier_than(&self, current: Option<&End>) -> bool {
        current.is_none_or(|c| self.from < c.from)
    }
}

impl LoggedKeyEvent<'_> {
    /// The key the event is about (its `key.kid`), if well-formed.
    pub fn subject(&self) -> Option<KeyId> {
        self.event.subject_kid()
    }

    /// The kids whose standing this event can change or depends on: its subject, then its
    /// signer (once if they are the same key). These are a key event's index terms in the store.
    pub fn key_ids(&self) -> Vec<KeyId> {
        let mut out: Vec<KeyId> = self.subject().into_iter().collect();
        if !out.contains(&self.signer) {
            out.push(self.signer);
        }
        out
    }

    /// The end this event puts to `kid`'s standing when it takes effect: a `rotate` ends its
    /// signer from the next index; a `revoke` ends its subject from `effective_index` (default:
    /// the event's own index); anything else ends nothing.
    pub fn ends(&self, kid: KeyId) -> Option<End> {
        match self.event.event {
            KeyEventType::Rotate if self.signer == kid => Some(End {
                from: self.index.saturating_add(1),
                by: self.index,
                kind: EndKind::RotatedAway,
            }),
            KeyEventType::Revoke if self.subject() == Some(kid) => Some(End {
                from: self.revoked_from(),
                by: self.index,
                kind: EndKind::Revoked,
            }),
            _ => None,
        }
    }

    /// A revocation's first invalid index.
    fn revoked_from(&self) -> u64 {
        self.event.effective_index.unwrap_or(self.index)
    }
}

/// The earliest end that any of `events` puts to `kid`, whoever signed them and whether or not
/// a verifier would trust them.
///
/// This is the record-time rule: a ledger refuses to sign with `kid` at index `n` when the end
/// is at or before `n`, since a buyer who trusts that event's signer would refuse the entry.
pub fn recorded_end(events: &[LoggedKeyEvent<'_>], kid: KeyId) -> Option<End> {
    let mut sorted: Vec<&LoggedKeyEvent<'_>> = events.iter().collect();
    sorted.sort_by_key(|e| e.index);
    let mut earliest: Option<End> = None;
    for end in sorted.iter().filter_map(|e| e.ends(kid)) {
        if end.is_earlier_than(earliest.as_ref()) {
            earliest = Some(end);
        }
    }
    earliest
}

/// Where keys come from: each key that a key event introduces or rotates to, with the keys that
/// signed those events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    introducers: BTreeMap<KeyId, BTreeSet<KeyId>>,
}

impl Lineage {
    /// Reads the `introduce` and `rotate` events (trusted or not: this is the log's account).
    pub fn of(events: &[LoggedKeyEvent<'_>]) -> Lineage {
        let mut introducers: BTreeMap<KeyId, BTreeSet<KeyId>> = BTreeMap::new();
        for e in events {
            if e.event.event != KeyEventType::Revoke
                && let Some(subject) = e.subject()
            {
                introducers.entry(subject).or_default().insert(e.signer);
            }
        }
        Lineage { introducers }
    }

    /// Whether a key event introduces or rotates to `kid`.
    pub fn is_introduced(&self, kid: &KeyId) -> bool {
        self.introducers.contains_key(kid)
    }

    /// The keys `kid` descends from, following introducers back to keys that no event
    /// introduced: `{kid}` itself when it was not introduced; empty when every line of descent
    /// loops back (keys that only introduce each other).
    pub fn roots(&self, kid: KeyId) -> BTreeSet<KeyId> {
        let mut roots = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut work = vec![kid];
        while let Some(k) = work.pop() {
            if !seen.insert(k) {
                continue;
            }
            match self.introducers.get(&k) {
                Some(by) => work.extend(by.iter().copied()),
                None => {
                    roots.insert(k);
                }
            }
        }
        roots
    }
}

/// A key's standing: its public key, the roles it acts in (each from a log index on), and the
/// indexes at which it may sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The public key.
    pub key: VerifyingKey,
    /// The roles the key acts in, each with the first log index at which it acts in it (0 for a
    /// pinned role, the next index after the granting key event otherwise).
    pub roles: BTreeMap<String, u64>,
    /// First log index at which it may sign (0 for pinned keys).
    pub valid_from: u64,
    /// When its standing ended, if it did.
    pub end: Option<End>,
}

/// Why a key may not sign at an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The index is before the key's introduction took effect.
    NotYetIntroduced {
        /// The first index at which it may sign.
        valid_from: u64,
    },
    /// The index is at or after the end of its standing.
    Ended(End),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotYetIntroduced { valid_from } => write!(
                f,
                "the signer key was only introduced for index {valid_from} on"
            ),
            Refusal::Ended(e) => write!(
                f,
                "the signer key was {} from index {} (key event at entry {})",
                e.kind, e.from, e.by
            ),
        }
    }
}

impl Standing {
    /// A key trusted from index 0 in `roles`, with no end.
    pub fn pinned(key: VerifyingKey, roles: BTreeSet<String>) -> Standing {
        Standing {
            key,
            roles: roles.into_iter().map(|r| (r, 0)).collect(),
            valid_from: 0,
            end: None,
        }
    }

    /// Whether the key acts in `role` for an entry at `index` (its standing aside: see
    /// [`Standing::refuses`]).
    pub fn acts_in(&self, role: &str, index: u64) -> bool {
        self.roles.get(role).is_some_and(|from| *from <= index)
    }

    /// The names of the roles the key acts in at `index`, in ascending order.
    pub fn roles_at(&self, index: u64) -> BTreeSet<String> {
        self.roles
            .iter()
            .filter(|(_, from)| **from <= index)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Gives the key `role` from index `from` on, unless it already acts in it earlier.
    fn grant(&mut self, role: &str, from: u64) {
        let slot = self.roles.entry(role.to_owned()).or_insert(from);
        *slot = (*slot).min(from);
    }

    /// Why the key may not sign at `index`, if it may not.
    pub fn refuses(&self, index: u64) -> Option<Refusal> {
        if index < self.valid_from {
            return Some(Refusal::NotYetIntroduced {
                valid_from: self.valid_from,
            });
        }
        self.end.filter(|e| index >= e.from).map(Refusal::Ended)
    }

    /// Ends the standing at `end` unless it already ends as early.
    fn end_at(&mut self, end: End) {
        if end.is_earlier_than(self.end.as_ref()) {
            self.end = Some(end);
        }
    }
}

/// The keys a verifier knows, each with its standing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBook {
    keys: BTreeMap<KeyId, Standing>,
}

impl KeyBook {
    /// Pins `key` in `role` from index 0: a key pinned in several roles acts in all of them.
    pub fn pin(&mut self, key: VerifyingKey, role: &str) {
        self.keys
            .entry(KeyId::of(&key))
            .or_insert_with(|| Standing::pinned(key, BTreeSet::new()))
            .grant(role, 0);
    }

    /// The standing of `kid`, if the book knows it.
    pub fn get(&self, kid: &KeyId) -> Option<&Standing> {
        self.keys.get(kid)
    }

    /// Whether the book knows `kid`.
    pub fn contains(&self, kid: &KeyId) -> bool {
        self.keys.contains_key(kid)
    }

    /// Ends `kid`'s standing at `end`, if the book knows it.
    fn end(&mut self, kid: &KeyId, end: End) {
        if let Some(s) = self.keys.get_mut(kid) {
            s.end_at(end);
        }
    }
}

/// What judging one key event decided, in the order the checks are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// Its signer is neither pinned nor introduced.
    UnknownSigner,
    /// Its signer may not sign at its index.
    Refused(Refusal),
    /// Its signature does not verify under the signer's key (the reason).
    BadSignature(String),
    /// Its signature verified, but it is not proved to be in the log.
    NotInLog,
    /// Its signature verified, but its key does not decode.
    MalformedKey,
    /// Its signature verified, but its signer may not revoke the subject.
    MayNotRevoke {
        /// The key it tried to revoke.
        subject: KeyId,
    },
    /// An `introduce` or `rotate` that took effect.
    Granted {
        /// Introduce or rotate.
        event: KeyEventType,
        /// The key that gained the roles.
        subject: KeyId,
        /// The signer's roles, which the subject gained, in ascending order.
        roles: Vec<String>,
    },
    /// A `revoke` that took effect.
    Revoked {
        /// The revoked key.
        subject: KeyId,
        /// Its first invalid index.
        from: u64,
        /// The signer's roles, in ascending order.
        roles: Vec<String>,
    },
    /// The key events revoke each other in a cycle, so none is trusted.
    Cycle,
}

impl EventOutcome {
    /// Whether the event's signature was checked and verified.
    pub fn signature_verified(&self) -> bool {
        !matches!(
            self,
            EventOutcome::UnknownSigner
                | EventOutcome::Refused(_)
                | EventOutcome::BadSignature(_)
                | EventOutcome::Cycle
        )
    }

    /// The signer's roles, when the event took effect.
    pub fn took_effect(&self) -> Option<&[String]> {
        match self {
            EventOutcome::Granted { roles, .. } | EventOutcome::Revoked { roles, .. } => {
                Some(roles)
            }
            _ => None,
        }
    }
}

/// One key event and what [`judge`] decided about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JudgedEvent {
    /// Its log index.
    pub index: u64,
    /// The kid that signed it.
    pub signer: KeyId,
    /// The decision.
    pub outcome: EventOutcome,
}

/// The book key events leave, and the decision on each event, in ascending index order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The standings every other entry is judged against.
    pub book: KeyBook,
    /// Each key event's outcome.
    pub events: Vec<JudgedEvent>,
}

/// Revocations by revoked key: (first invalid index, index of the revoking key event).
type Revocations = BTreeMap<KeyId, (u64, u64)>;

/// Replays of the key events before giving up on revocations that void each other.
pub const MAX_REPLAYS: usize = 8;

/// Judges key events against the keys a buyer pins (`specs/verification.md`, "Key events").
///
/// `in_log` says whether the event at an index is proved to be in the log; `authentic` checks
/// an event's signature under the key the book holds for its signer (it is called only for
/// events whose signer is in good standing, possibly once per replay). Events are replayed in
/// ascending index order until the revocations found are the ones assumed at the start, at most
/// [`MAX_REPLAYS`] times; a history that does not settle fails closed (every event
/// [`EventOutcome::Cycle`], every revocation seen applied to the pinned keys).
pub fn judge(
    pinned: &KeyBook,
    events: &[LoggedKeyEvent<'_>],
    in_log: impl Fn(u64) -> bool,
    mut authentic: impl FnMut(&LoggedKeyEvent<'_>, &VerifyingKey) -> Result<(), String>,
) -> Judgement {
    let mut sorted: Vec<LoggedKeyEvent<'_>> = events.to_vec();
    sorted.sort_by_key(|e| e.index);
    // A revocation may take effect before its own index, voiding key events its key signed in
    // between; so replay until the revocations found are the ones assumed at the start.
    let mut assumed = Revocations::new();
    let mut every = Revocations::new();
    for replays in 1..=MAX_REPLAYS {
        let (book, judged, found) = replay(pinned, &sorted, &in_log, &mut authentic, &assumed);
        if found == assumed {
            return Judgement {
                book,
                events: judged,
            };
        }
        for (kid, v) in &found {
            let slot = every.entry(*kid).or_insert(*v);
            if v.0 < slot.0 {
                *slot = *v;
            }
        }
        if replays == MAX_REPLAYS {
            break;
        }
        assumed = found;
    }
    // Revocations that keep voiding each other: trust none of the key events, and apply every
    // revocation seen, so that the failure is closed, not open.
    let mut book = pinned.clone();
    for (kid, (from, by)) in &every {
        book.end(kid, revoked(*from, *by));
    }
    let events = sorted
        .iter()
        .map(|e| JudgedEvent {
            index: e.index,
            signer: e.signer,
            outcome: EventOutcome::Cycle,
        })
        .collect();
    Judgement { book, events }
}

fn revoked(from: u64, by: u64) -> End {
    End {
        from,
        by,
        kind: EndKind::Revoked,
    }
}

/// One replay over a copy of the pinned book, with the revocations in `assumed` applied from the
/// start; returns the book, each event's outcome, and the revocations that took effect.
fn replay(
    pinned: &KeyBook,
    events: &[LoggedKeyEvent<'_>],
    in_log: &impl Fn(u64) -> bool,
    authentic: &mut impl FnMut(&LoggedKeyEvent<'_>, &VerifyingKey) -> Result<(), String>,
    assumed: &Revocations,
) -> (KeyBook, Vec<JudgedEvent>, Revocations) {
    let mut book = pinned.clone();
    for (kid, (from, by)) in assumed {
        book.end(kid, revoked(*from, *by));
    }
    let mut found = Revocations::new();
    let mut judged = Vec::with_capacity(events.len());
    for e in events {
        let outcome = replay_one(&mut book, e, in_log, authentic, assumed, &mut found);
        judged.push(JudgedEvent {
            index: e.index,
            signer: e.signer,
            outcome,
        });
    }
    (book, judged, found)
}

/// Applies one key event to the book, if it takes effect.
fn replay_one(
    book: &mut KeyBook,
    e: &LoggedKeyEvent<'_>,
    in_log: &impl Fn(u64) -> bool,
    authentic: &mut impl FnMut(&LoggedKeyEvent<'_>, &VerifyingKey) -> Result<(), String>,
    assumed: &Revocations,
    found: &mut Revocations,
) -> EventOutcome {
    let Some(signer) = book.get(&e.signer).cloned() else {
        return EventOutcome::UnknownSigner;
    };
    // A key may always sign its own revocation, even one that takes effect at or before it.
    let own_revocation = e.event.event == KeyEventType::Revoke
        && e.subject() == Some(e.signer)
        && signer.end.is_some_and(|end| end.by == e.index);
    if let Some(why) = signer.refuses(e.index)
        && !own_revocation
    {
        return EventOutcome::Refused(why);
    }
    if let Err(why) = authentic(e, &signer.key) {
        return EventOutcome::BadSignature(why);
    }
    if !in_log(e.index) {
        return EventOutcome::NotInLog;
    }
    let (Some(subject), Some(subject_key)) = (e.subject(), e.event.key.verifying_key()) else {
        return EventOutcome::MalformedKey;
    };
    // The signer's roles at the event's index, before this event changes anything.
    let held = signer.roles_at(e.index);
    let roles: Vec<String> = held.iter().cloned().collect();
    match e.event.event {
        KeyEventType::Introduce | KeyEventType::Rotate => {
            let from = e.index.saturating_add(1);
            let standing = book.keys.entry(subject).or_insert_with(|| {
                let mut s = Standing {
                    key: subject_key,
                    roles: BTreeMap::new(),
                    valid_from: from,
                    end: None,
                };
                if let Some((from, by)) = assumed.get(&subject) {
                    s.end_at(revoked(*from, *by));
                }
                s
            });
            // From the next index on, whether or not the key was known before: an already
            // known key must not gain the roles for what it signed before.
            for role in &held {
                standing.grant(role, from);
            }
            if let Some(end) = e.ends(e.signer) {
                book.end(&e.signer, end);
            }
            EventOutcome::Granted {
                event: e.event.event,
                subject,
                roles,
            }
        }
        KeyEventType::Revoke => {
            let allowed = subject == e.signer
                || book
                    .get(&subject)
                    .is_some_and(|t| t.roles_at(e.index).iter().any(|r| held.contains(r)));
            if !allowed {
                return EventOutcome::MayNotRevoke { subject };
            }
            let from = e.revoked_from();
            book.end(&subject, revoked(from, e.index));
            let slot = found.entry(subject).or_insert((from, e.index));
            if from < slot.0 {
                *slot = (from, e.index);
            }
            EventOutcome::Revoked {
                subject,
                from,
                roles,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EventKey;
    use base64::Engine as _;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    fn kid(seed: u8) -> KeyId {
        KeyId::of(&key(seed))
    }

    fn event(kind: KeyEventType, subject: u8, effective_index: Option<u64>) -> KeyEvent {
        KeyEvent {
            event: kind,
            key: EventKey {
                kid: kid(subject).to_string(),
                public_key: base64::engine::general_purpose::STANDARD
                    .encode(key(subject).to_bytes()),
            },
            effective_index,
            reason: (kind == KeyEventType::Revoke).then(|| "test".to_owned()),
        }
    }

    fn at(index: u64, signer: u8, event: &KeyEvent) -> LoggedKeyEvent<'_> {
        LoggedKeyEvent {
            index,
            signer: kid(signer),
            event,
        }
    }

    fn pinned(seeds: &[(u8, &str)]) -> KeyBook {
        let mut b = KeyBook::default();
        for (s, role) in seeds {
            b.pin(key(*s), role);
        }
        b
    }

    fn judge_all(book: &KeyBook, events: &[LoggedKeyEvent<'_>]) -> Judgement {
        judge(book, events, |_| true, |_, _| Ok(()))
    }

    #[test]
    fn recorded_end_takes_the_earliest_end_whoever_signed_it() {
        let (rot, rev, late) = (
            event(KeyEventType::Rotate, 2, None),
            event(KeyEventType::Revoke, 1, Some(1)),
            event(KeyEventType::Revoke, 1, Some(9)),
        );
        assert_eq!(recorded_end(&[], kid(1)), None);
        let events = [at(5, 1, &rot), at(7, 3, &rev), at(8, 3, &late)];
        assert_eq!(
            recorded_end(&events, kid(1)),
            Some(End {
                from: 1,
                by: 7,
                kind: EndKind::Revoked
            })
        );
        assert_eq!(
            recorded_end(&events[..1], kid(1)),
            Some(End {
                from: 6,
                by: 5,
                kind: EndKind::RotatedAway
            })
        );
        // The rotated-to key is not ended by the rotation.
        assert_eq!(recorded_end(&events, kid(2)), None);
    }

    #[test]
    fn lineage_follows_introducers_to_their_roots() {
        let (a_to_b, b_to_c, c_to_b) = (
            event(KeyEventType::Rotate, 2, None),
            event(KeyEventType::Introduce, 3, None),
            event(KeyEventType::Introduce, 2, None),
        );
        let revoke = event(KeyEventType::Revoke, 4, None);
        let l = Lineage::of(&[
            at(1, 1, &a_to_b),
            at(2, 2, &b_to_c),
            at(3, 3, &c_to_b),
            at(4, 1, &revoke),
        ]);
        assert!(l.is_introduced(&kid(2)) && l.is_introduced(&kid(3)));
        assert!(!l.is_introduced(&kid(1)) && !l.is_introduced(&kid(4)));
        assert_eq!(l.roots(kid(3)), BTreeSet::from([kid(1)]));
        assert_eq!(l.roots(kid(1)), BTreeSet::from([kid(1)]));
        // Keys that only introduce each other have no root.
        let (x, y) = (
            event(KeyEventType::Introduce, 6, None),
            event(KeyEventType::Introduce, 5, None),
        );
        let l = Lineage::of(&[at(1, 5, &x), at(2, 6, &y)]);
        assert!(l.roots(kid(5)).is_empty());
    }

    #[test]
    fn introduce_rotate_and_revoke_by_log_position() {
        let book = pinned(&[(1, "rel")]);
        let (intro, rot, rev) = (
            event(KeyEventType::Introduce, 2, None),
            event(KeyEventType::Rotate, 3, None),
            event(KeyEventType::Revoke, 2, Some(4)),
        );
        let j = judge_all(&book, &[at(1, 1, &intro), at(3, 1, &rot), at(6, 3, &rev)]);
        let two = j.book.get(&kid(2)).expect("introduced");
        assert_eq!(two.valid_from, 2);
        assert_eq!(
            two.refuses(1),
            Some(Refusal::NotYetIntroduced { valid_from: 2 })
        );
        assert_eq!(two.refuses(3), None);
        assert_eq!(
            two.refuses(4).map(|r| r.to_string()).as_deref(),
            Some("the signer key was revoked from index 4 (key event at entry 6)")
        );
        assert_eq!(
            j.book
                .get(&kid(1))
                .and_then(|s| s.refuses(4))
                .map(|r| r.to_string())
                .as_deref(),
            Some("the signer key was rotated away from index 4 (key event at entry 3)")
        );
        assert!(
            j.events
                .iter()
                .all(|e| e.outcome.took_effect() == Some(&["rel".to_owned()][..]))
        );
    }

    #[test]
    fn introducing_a_known_key_adds_roles_from_the_next_index_only() {
        let book = pinned(&[(1, "rel"), (2, "legal")]);
        let (intro, again) = (
            event(KeyEventType::Introduce, 2, None),
            event(KeyEventType::Introduce, 2, None),
        );
        let j = judge_all(&book, &[at(4, 1, &intro), at(6, 1, &again)]);
        let two = j.book.get(&kid(2)).expect("pinned");
        assert_eq!(two.valid_from, 0, "a pinned key still signs from 0");
        assert!(two.acts_in("legal", 0));
        assert!(!two.acts_in("rel", 4), "not at or before the event");
        assert!(two.acts_in("rel", 5));
        assert_eq!(
            two.roles.get("rel"),
            Some(&5),
            "a second grant keeps the first start"
        );
        assert_eq!(two.roles_at(3), BTreeSet::from(["legal".to_owned()]));
        // A key introduced by one role and later by another gains the second only later.
        let book = pinned(&[(1, "rel"), (3, "lab")]);
        let (by_rel, by_lab) = (
            event(KeyEventType::Introduce, 2, None),
            event(KeyEventType::Introduce, 2, None),
        );
        let j = judge_all(&book, &[at(1, 1, &by_rel), at(7, 3, &by_lab)]);
        let two = j.book.get(&kid(2)).expect("introduced");
        assert!(two.acts_in("rel", 2) && !two.acts_in("lab", 7) && two.acts_in("lab", 8));
    }

    #[test]
    fn only_a_key_itself_or_one_sharing_its_role_may_revoke_it() {
        let book = pinned(&[(1, "rel"), (2, "lab"), (3, "rel")]);
        let (rev1, rev3) = (
            event(KeyEventType::Revoke, 1, None),
            event(KeyEventType::Revoke, 3, None),
        );
        let j = judge_all(&book, &[at(1, 2, &rev1), at(2, 1, &rev3)]);
        assert_eq!(
            j.events[0].outcome,
            EventOutcome::MayNotRevoke { subject: kid(1) }
        );
        assert!(j.events[1].outcome.took_effect().is_some());
        assert_eq!(j.book.get(&kid(1)).unwrap().end, None);
        assert!(j.book.get(&kid(3)).unwrap().refuses(2).is_some());
    }

    #[test]
    fn a_backdated_revocation_voids_what_the_key_introduced_meanwhile() {
        let book = pinned(&[(1, "rel")]);
        let (intro, rev) = (
            event(KeyEventType::Introduce, 2, None),
            event(KeyEventType::Revoke, 1, Some(2)),
        );
        let j = judge_all(&book, &[at(3, 1, &intro), at(5, 1, &rev)]);
        assert!(matches!(j.events[0].outcome, EventOutcome::Refused(_)));
        assert!(
            j.events[1].outcome.took_effect().is_some(),
            "own revocation"
        );
        assert!(!j.book.contains(&kid(2)));
    }

    #[test]
    fn revocations_that_void_each_other_fail_closed() {
        // 1 introduces 2; 2 revokes 1 from before the introduction.
        let book = pinned(&[(1, "rel")]);
        let (intro, rev) = (
            event(KeyEventType::Introduce, 2, None),
            event(KeyEventType::Revoke, 1, Some(0)),
        );
        let j = judge_all(&book, &[at(1, 1, &intro), at(2, 2, &rev)]);
        assert!(j.events.iter().all(|e| e.outcome == EventOutcome::Cycle));
        assert!(!j.book.contains(&kid(2)));
        assert!(j.book.get(&kid(1)).unwrap().refuses(0).is_some());
    }

    #[test]
    fn untrusted_events_change_nothing() {
        let book = pinned(&[(1, "rel")]);
        let intro = event(KeyEventType::Introduce, 2, None);
        let stranger = judge_all(&book, &[at(1, 9, &intro)]);
        assert_eq!(stranger.events[0].outcome, EventOutcome::UnknownSigner);
        let forged = judge(
            &book,
            &[at(1, 1, &intro)],
            |_| true,
            |_, _| Err("bad".into()),
        );
        assert_eq!(
            forged.events[0].outcome,
            EventOutcome::BadSignature("bad".into())
        );
        let outside = judge(&book, &[at(1, 1, &intro)], |_| false, |_, _| Ok(()));
        assert_eq!(outside.events[0].outcome, EventOutcome::NotInLog);
        for j in [stranger, forged, outside] {
            assert!(!j.book.contains(&kid(2)));
        }
    }
}
