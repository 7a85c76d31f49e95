//! `incident-report`: whether an incident's reports of one stage went out by their deadline,
//! judged by the clock the profile names (`specs/policy.md`, "incident-report").

use super::{CountedFrom, InScope, IncidentReport, Records, grouped, in_scope, stage_words};
use crate::evidence::{Incident, Notification, NotificationStage};
use crate::time::format_rfc3339;
use crate::verify::Clock;
use crate::verify::policy::profile::DeadlineClock;
use crate::verify::policy::{Check, PolicyView, Rule, Severity, check, clocked, elapsed};

/// Evaluates an `incident-report` rule.
pub(in crate::verify::policy) fn report(
    rule: &Rule,
    r: &IncidentReport,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for g in grouped(view) {
        let (le, inc) = g.latest();
        let field = Some("notifications".to_owned());
        let head = format!("incident {}", inc.incident_id);
        let note = match in_scope(&r.scope, inc) {
            InScope::No => continue,
            InScope::Unknown(why) => {
                out.push(check(rule, le.index, None, false, format!("{head}: {why}")));
                continue;
            }
            InScope::Yes(note) => note.unwrap_or(""),
        };
        let what = r.what();
        let from = match anchor(r, &g, inc) {
            Anchor::At(t, words) => (t, words),
            Anchor::NotDue(why) => {
                out.push(check(
                    rule,
                    le.index,
                    field,
                    true,
                    format!("{head}: {what} not due yet: {why}{note}"),
                ));
                continue;
            }
            Anchor::Missing(why) => {
                out.push(check(
                    rule,
                    le.index,
                    field,
                    false,
                    format!("{head}: {what} cannot be judged: {why}{note}"),
                ));
                continue;
            }
        };
        let deadline = r.deadline(from.0);
        let due = format!(
            "due within {} of {} ({})",
            r.span(),
            from.1,
            format_rfc3339(deadline)
        );
        out.push(judge(
            rule,
            r,
            &g,
            Judging {
                head: &head,
                what: &what,
                due: &due,
                from: from.0,
                deadline,
                note,
            },
        ));
    }
}

/// Where a deadline counts from.
enum Anchor {
    /// A time, and its name in words.
    At(i64, String),
    /// Nothing has started the deadline yet, and the record shows why.
    NotDue(String),
    /// The record should show the start and does not.
    Missing(String),
}

fn anchor(r: &IncidentReport, g: &Records<'_, '_>, inc: &Incident) -> Anchor {
    match r.counted_from {
        CountedFrom::AwareAt => Anchor::At(inc.aware_at.0, "aware-at".into()),
        CountedFrom::RemediationAvailable => match inc.remediation.as_ref().map(|r| r.available_at) {
            Some(Some(at)) => Anchor::At(
                at.0,
                "the corrective measure becoming available (remediation.available_at)".into(),
            ),
            Some(None) => Anchor::Missing(
                "the record names a corrective measure but not when it became available: record remediation.available_at".into(),
            ),
            None if inc.closed_at.is_some() => Anchor::Missing(
                "the incident is closed but records no corrective or mitigating measure: record remediation with its available_at".into(),
            ),
            None => Anchor::NotDue(format!(
                "no corrective or mitigating measure is recorded as available yet; the {} is due {} after one is (remediation.available_at)",
                stage_words(r.stage),
                r.span()
            )),
        },
        CountedFrom::NotificationSent => {
            let first = g
                .verified()
                .flat_map(|(_, i)| i.notifications.iter())
                .filter(|n| r.matches(n, NotificationStage::Notification))
                .map(|n| n.sent_at.0)
                .min();
            match first {
                Some(t) => Anchor::At(t, "the notification".into()),
                None => Anchor::Missing(format!(
                    "its deadline runs from the notification, and no notification{} is recorded",
                    r.to()
                )),
            }
        }
    }
}

/// What one judgement needs besides the rule and the records.
struct Judging<'s> {
    head: &'s str,
    what: &'s str,
    due: &'s str,
    from: i64,
    deadline: i64,
    note: &'s str,
}

fn judge(rule: &Rule, r: &IncidentReport, g: &Records<'_, '_>, j: Judging<'_>) -> Check {
    let (le, inc) = g.latest();
    let field = Some("notifications".to_owned());
    let Judging {
        head,
        what,
        due,
        from,
        deadline,
        note,
    } = j;
    // The first verified record that shows a matching report, and the reports it shows.
    let first = g.verified().find_map(|(e, i)| {
        let sent: Vec<&Notification> = i
            .notifications
            .iter()
            .filter(|n| r.matches(n, r.stage))
            .collect();
        (!sent.is_empty()).then_some((e, sent))
    });
    let witnessed_clock = matches!(
        r.clock,
        DeadlineClock::WitnessedIfPresent | DeadlineClock::Witnessed
    );
    let Some((fe, sent)) = first else {
        if let Some(reason) = inc
            .no_notification_reason
            .as_deref()
            .filter(|_| r.accept_reason)
        {
            return check(
                rule,
                le.index,
                field,
                true,
                format!("{head}: no {what}; recorded reason: {reason}{note}"),
            );
        }
        // Not due yet when the latest record was made before the deadline.
        let as_of = match le.witnessed_at {
            Some(w) if witnessed_clock => {
                Some((i64::try_from(w).unwrap_or(i64::MAX), Clock::Witnessed))
            }
            _ if r.clock == DeadlineClock::Witnessed => None,
            _ => Some((
                i64::try_from(le.iat).unwrap_or(i64::MAX),
                Clock::SelfAsserted,
            )),
        };
        if let Some((t, clock)) = as_of
            && t < deadline
        {
            return clocked(
                rule,
                le.index,
                field,
                true,
                clock,
                format!(
                    "{head}: no {what} recorded yet, and none was due when the latest record (entry {}) was made at {} ({} time): {due}{note}",
                    le.index,
                    format_rfc3339(t),
                    clock.name()
                ),
            );
        }
        return check(
            rule,
            le.index,
            field,
            false,
            format!(
                "{head}: no {what} is recorded, {due}: record it in notifications with stage = \"{}\"{} and its sent_at{}{note}",
                r.stage,
                r.recipients
                    .first()
                    .map(|x| format!(" and recipient = \"{x}\""))
                    .unwrap_or_default(),
                if r.accept_reason {
                    ", or the reason none was sent (no_notification_reason)"
                } else {
                    ""
                }
            ),
        );
    };
    let in_time = |n: &&Notification| n.sent_at.0 <= deadline;
    let reasons = sent.iter().find_map(|n| n.delay_reasons.as_deref());
    // Under the witnessed clocks, the record showing the report had to be in the log, as trusted
    // witnesses attest, by the deadline; and what it says must be in time too.
    let (ok, clock, timing) = match fe.witnessed_at {
        Some(w) if witnessed_clock => {
            let w = i64::try_from(w).unwrap_or(i64::MAX);
            let witnessed_ok = w <= deadline;
            let sent_ok = sent.iter().any(in_time);
            (
                witnessed_ok && sent_ok,
                Clock::Witnessed,
                format!(
                    "recorded in the log by {} (witnessed time, entry {}), {} after {}{}",
                    format_rfc3339(w),
                    fe.index,
                    elapsed(from, w),
                    short(r.counted_from),
                    if !witnessed_ok {
                        ", too late whatever sent_at says"
                    } else if !sent_ok {
                        ", but every sent_at is after the deadline"
                    } else {
                        ""
                    }
                ),
            )
        }
        None if r.clock == DeadlineClock::Witnessed => {
            return clocked(
                rule,
                le.index,
                field,
                false,
                Clock::Witnessed,
                format!(
                    "{head}: the {what} is recorded (entry {}) but has no witnessed time, and the clock \"witnessed\" accepts no self-asserted sent_at: the bundle's checkpoint needs cosignatures from a quorum of trusted witnesses{note}",
                    fe.index
                ),
            );
        }
        _ => {
            // `sent` is not empty: `first` found a record with a matching report.
            let n = sent.iter().copied().find(|n| in_time(n)).unwrap_or(sent[0]);
            let fallback = if r.clock == DeadlineClock::WitnessedIfPresent {
                " (self-asserted sent_at: no witnessed time, so the exporter's own clock decided)"
            } else {
                " (self-asserted sent_at)"
            };
            (
                sent.iter().any(in_time),
                Clock::SelfAsserted,
                format!(
                    "sent to {} {} after {}{fallback}",
                    n.authority,
                    elapsed(from, n.sent_at.0),
                    short(r.counted_from)
                ),
            )
        }
    };
    if ok {
        return clocked(
            rule,
            le.index,
            field,
            true,
            clock,
            format!("{head}: {what}: {timing}, {due}{note}"),
        );
    }
    match reasons {
        Some(why) => {
            let pass = r.on_late_with_reasons == Severity::Note;
            clocked(
                rule,
                le.index,
                field,
                pass,
                clock,
                format!(
                    "{}{head}: {what} late with reasons: {timing}, {due}; reasons given for the delay: {why}{note}",
                    if pass { "note: " } else { "" }
                ),
            )
        }
        None => clocked(
            rule,
            le.index,
            field,
            false,
            clock,
            format!(
                "{head}: {what} late: {timing}, {due}, and it gives no reasons for the delay (delay_reasons){note}"
            ),
        ),
    }
}

fn short(c: CountedFrom) -> &'static str {
    match c {
        CountedFrom::AwareAt => "aware-at",
        CountedFrom::RemediationAvailable => "the measure became available",
        CountedFrom::NotificationSent => "the notification",
    }
}
