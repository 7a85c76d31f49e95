//! Policy profiles and their evaluation over the verified entries of a bundle.
//!
//! Rules only count evidence that verified: an entry is usable as backing only if its inclusion,
//! signature and signer-role checks all passed. Each rule yields one check per subject it
//! applies to, naming the rule id and citation, and on failure what the claim says next to what
//! the evidence shows.

mod accuracy;
mod certification;
mod demographic;
mod deployment;
mod export;
mod incidents;
mod judged;
mod pad;
mod privacy;
mod profile;
mod slsa;
mod wording;

pub use deployment::{BiometricRetention, CnFaceFiling, GdprDeployment, working_days_after};
pub use export::{
    ClassificationCurrent, CrimeControl, EndUseCheckRequired, LicenceCovers, NOT_LEGAL_ADVICE,
    RecordRetention, ScreeningBeforeShipment, SurveillanceScope, UnfavourableBlocks,
};
pub use judged::{Judged, Judging, judge};
pub use slsa::{Attested, AttestedProvenance, glob_match, normalize_repository};

pub use incidents::{CountedFrom, IncidentDocumented, IncidentReport, IncidentScope, region_group};
pub use profile::{
    BuildMatch, DeadlineClock, DifferentialRate, ModelMatch, PROFILE_FORMAT, Profile, Rule,
    SchemeOperator, Severity,
};

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::evidence::{
    AssertionType, Claim, Comparator, ComponentRole, Evidence, FirmwareBuild, Incident, LabResult,
    SpeciesCategory, VerdictResult,
};
use crate::verify::{Check, Clock, Completeness, Outcome, Step};

/// One entry as the policy sees it.
pub struct PolicyEntry<'a> {
    /// Leaf index.
    pub index: u64,
    /// Entry hash.
    pub entry_hash: [u8; 32],
    /// Signing time (CWT iat).
    pub iat: u64,
    /// The trust-file role its signer was accepted under, if its checks passed.
    pub role: Option<String>,
    /// Earliest time trusted witnesses attest it was in the log, if any.
    pub witnessed_at: Option<u64>,
    /// For a signer trusted through a certificate: the clock its chain was validated by.
    pub certificate_clock: Option<Clock>,
    /// The evidence.
    pub evidence: &'a Evidence,
}

/// The bundle's entries and attachments, for rule evaluation.
pub struct PolicyView<'a> {
    entries: Vec<PolicyEntry<'a>>,
    by_hash: HashMap<[u8; 32], usize>,
    attachments: &'a BTreeMap<String, Vec<u8>>,
    completeness: Completeness,
    attestations: BTreeMap<u64, Attested>,
}

impl<'a> PolicyView<'a> {
    /// Builds the view.
    pub fn new(entries: Vec<PolicyEntry<'a>>, attachments: &'a BTreeMap<String, Vec<u8>>) -> Self {
        let by_hash = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.entry_hash, i))
            .collect();
        PolicyView {
            entries,
            by_hash,
            attachments,
            completeness: Completeness::NotShown {
                reason: "not checked".into(),
            },
            attestations: BTreeMap::new(),
        }
    }

    /// Sets what each firmware build's verified attestation says (step 8b), by entry index,
    /// for `slsa-provenance`.
    pub fn with_attestations(mut self, attestations: BTreeMap<u64, Attested>) -> Self {
        self.attestations = attestations;
        self
    }

    /// Sets what the completeness step found, for rules that require it.
    pub fn with_completeness(mut self, completeness: Completeness) -> Self {
        self.completeness = completeness;
        self
    }

    /// A verified entry by hash (one whose checks passed).
    fn verified(&self, hash: &[u8; 32]) -> Option<&PolicyEntry<'a>> {
        self.by_hash
            .get(hash)
            .map(|&i| &self.entries[i])
            .filter(|e| e.role.is_some())
    }

    fn claims(&self) -> impl Iterator<Item = (&PolicyEntry<'a>, &'a Claim)> {
        self.entries.iter().filter_map(|e| match e.evidence {
            Evidence::Claim(c) => Some((e, c)),
            _ => None,
        })
    }

    fn incidents(&self) -> impl Iterator<Item = (&PolicyEntry<'a>, &'a Incident)> {
        self.entries.iter().filter_map(|e| match e.evidence {
            Evidence::Incident(i) => Some((e, i)),
            _ => None,
        })
    }

    fn build(&self, hash: &[u8; 32]) -> Option<&'a FirmwareBuild> {
        match self.verified(hash)?.evidence {
            Evidence::FirmwareBuild(b) => Some(b),
            _ => None,
        }
    }
}

fn check(rule: &Rule, entry: u64, field: Option<String>, ok: bool, message: String) -> Check {
    Check {
        step: Step::Policy,
        entry: Some(entry),
        field,
        outcome: if ok { Outcome::Pass } else { Outcome::Fail },
        message: format!("{}: {message}", rule.id()),
        clock: None,
        citation: Some(rule.citation().to_owned()),
    }
}

/// A check that judged a time by `clock`.
fn clocked(
    rule: &Rule,
    entry: u64,
    field: Option<String>,
    ok: bool,
    clock: Clock,
    message: String,
) -> Check {
    Check {
        clock: Some(clock),
        ..check(rule, entry, field, ok, message)
    }
}

/// Evaluates every rule of `profile` over the view.
pub fn evaluate(profile: &Profile, view: &PolicyView<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    for rule in &profile.rules {
        match rule {
            Rule::PadClaimBacked { .. } => pad_claims(rule, view, &mut out),
            Rule::ClaimWordingMatches {
                require_attachments,
                ..
            } => wording::matches(rule, *require_attachments, view, &mut out),
            Rule::IncidentNotification { .. } => notifications(rule, view, &mut out),
            Rule::NoClaimOnAffectedBuild { .. } => affected_builds(rule, view, &mut out),
            Rule::PadLevelAttribution { .. } => pad::level_attribution(rule, view, &mut out),
            Rule::BundleComplete { .. } => out.push(Check {
                step: Step::Policy,
                entry: None,
                field: None,
                outcome: if view.completeness.shown_to().is_some() {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                message: format!(
                    "{}: the bundle must show that no adverse entry was withheld: {}",
                    rule.id(),
                    view.completeness.describe()
                ),
                citation: Some(rule.citation().to_owned()),
                clock: None,
            }),
            Rule::CertificateTime { clock, .. } => certificate_times(rule, *clock, view, &mut out),
            Rule::AccuracyClaimBacked { .. } => accuracy::claims_backed(rule, view, &mut out),
            Rule::DemographicDifferentialMax { .. } => {
                demographic::differentials(rule, view, &mut out)
            }
            Rule::ComplianceClaimBacked { .. } => {
                certification::claims_backed(rule, view, &mut out)
            }
            Rule::PrivacyDesignBacked { .. } => privacy::privacy_design(rule, view, &mut out),
            Rule::SlsaProvenance { .. } => slsa::slsa_provenance(rule, view, &mut out),
            Rule::IncidentReport(r) => incidents::report(rule, r, view, &mut out),
            Rule::IncidentDocumented(r) => incidents::documented(rule, r, view, &mut out),
            Rule::ClassificationCurrent(r) => {
                export::classification_current(rule, r, view, &mut out)
            }
            Rule::HrddBeforeDecision(r) => export::hrdd_before_decision(rule, r, view, &mut out),
            Rule::Art5NotificationRecorded(r) => export::art5_recorded(rule, r, view, &mut out),
            Rule::EarScreeningBeforeShipment(r) => {
                export::screening_before_shipment(rule, r, view, &mut out)
            }
            Rule::LicenceCovers(r) => export::licence_covers(rule, r, view, &mut out),
            Rule::EarCrimeControl(r) => export::crime_control(rule, r, view, &mut out),
            Rule::RecordRetention(r) => export::record_retention(rule, r, view, &mut out),
            Rule::EndUseCheckRequired(r) => export::end_use_check_required(rule, r, view, &mut out),
            Rule::UnfavourableCheckBlocks(r) => {
                export::unfavourable_blocks(rule, r, view, &mut out)
            }
            Rule::BiometricRetention(r) => deployment::biometric_retention(rule, r, view, &mut out),
            Rule::GdprDeployment(r) => deployment::gdpr_deployment(rule, r, view, &mut out),
            Rule::CnFaceFiling(r) => deployment::cn_face_filing(rule, r, view, &mut out),
        }
    }
    out
}

/// Lab results a claim cites directly or through a countersignature it cites, with their entries.
fn cited_lab_results<'v, 'a>(
    view: &'v PolicyView<'a>,
    claim: &Claim,
) -> Vec<(&'v PolicyEntry<'a>, &'a LabResult)> {
    let mut out: Vec<(&PolicyEntry<'a>, &'a LabResult)> = Vec::new();
    for r in &claim.evidence {
        let Some(e) = view.verified(&r.0) else {
            continue;
        };
        let lab = match e.evidence {
            Evidence::LabResult(l) => Some((e, l)),
            Evidence::Countersignature(c) => {
                view.verified(&c.target.0).and_then(|t| match t.evidence {
                    Evidence::LabResult(l) => Some((t, l)),
                    _ => None,
                })
            }
            _ => None,
        };
        if let Some((e, l)) = lab
            && !out.iter().any(|(x, _)| x.index == e.index)
        {
            out.push((e, l));
        }
    }
    out
}

fn pad_models(b: &FirmwareBuild) -> Vec<[u8; 32]> {
    let mut m: Vec<[u8; 32]> = b
        .biometric_components
        .iter()
        .filter(|c| c.role == ComponentRole::Pad)
        .map(|c| c.model_sha256.0)
        .collect();
    m.sort();
    m
}

fn compare(lhs: u64, cmp: Comparator, rhs: u64) -> bool {
    match cmp {
        Comparator::Le => lhs <= rhs,
        Comparator::Lt => lhs < rhs,
        Comparator::Ge => lhs >= rhs,
        Comparator::Gt => lhs > rhs,
        Comparator::Eq => lhs == rhs,
    }
}

fn pad_claims(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::PadClaimBacked {
        schemes,
        min_level,
        required_species,
        min_attempts_per_species,
        max_apcer_ppm,
        max_bpcer_ppm,
        require_verdict_pass,
        countersigner_role,
        build_match,
        model_match,
        scheme_operators,
        max_report_age_days,
        ..
    } = rule
    else {
        return;
    };
    // (role, lab result) of every countersignature by a trusted signer, gathered once rather
    // than searched for per assertion and lab result.
    let countersignatures: HashSet<(&str, [u8; 32])> = view
        .entries
        .iter()
        .filter_map(|e| match (e.role.as_deref(), e.evidence) {
            (Some(role), Evidence::Countersignature(c)) => Some((role, c.target.0)),
            _ => None,
        })
        .collect();
    for (ce, claim) in view.claims() {
        for (ai, a) in claim.assertions.iter().enumerate() {
            if a.kind != AssertionType::Pad {
                continue;
            }
            let field = Some(format!("assertions[{ai}]"));
            let scheme = a.scheme.clone().unwrap_or_default();
            let level = a.level.unwrap_or(0);
            let says = format!("claim {:?} asserts {scheme} level {level}", claim.claim_id);
            let mut general = Vec::new();
            if !schemes.is_empty() && !schemes.contains(&scheme) {
                general.push(format!(
                    "scheme {scheme} is not one this profile accepts ({})",
                    schemes.join(", ")
                ));
            }
            if let Some(min) = min_level
                && level < *min
            {
                general.push(format!(
                    "level {level} is below the profile's minimum {min}"
                ));
            }
            // The lab's tested build must be one the claim applies to (DESIGN §5); a claim that
            // names models only gives nothing to compare it with, and must not pass by default.
            if claim.applies_to.builds.is_empty() {
                general.push(
                    "applies_to names no firmware build, so no lab result can be shown to cover what it claims"
                        .into(),
                );
            }
            let candidates = cited_lab_results(view, claim);
            if candidates.is_empty() {
                general.push(
                    "it cites no verified lab result (directly or through a countersignature)"
                        .into(),
                );
            }
            let mut best: Option<(u64, Vec<String>)> = None;
            for (le, lab) in &candidates {
                let mut p = Vec::new();
                if lab.scheme.name != scheme {
                    p.push(format!(
                        "lab result {} is under scheme {}, not {scheme}",
                        le.index, lab.scheme.name
                    ));
                }
                if lab.scheme.level < level {
                    p.push(format!(
                        "lab result {} (report {}) shows {} level {}, below the claimed level {level}",
                        le.index, lab.report.id, lab.scheme.name, lab.scheme.level
                    ));
                }
                if *require_verdict_pass && lab.verdict.result != VerdictResult::Pass {
                    p.push(format!("lab result {} has verdict fail", le.index));
                }
                let mut needed: Vec<SpeciesCategory> = required_species.clone();
                for s in &a.species_required {
                    if !needed.contains(s) {
                        needed.push(*s);
                    }
                }
                for cat in &needed {
                    let tested: Vec<_> =
                        lab.species.iter().filter(|s| s.category == *cat).collect();
                    if tested.is_empty() {
                        p.push(format!("lab result {} tested no {cat} species", le.index));
                    }
                    for s in tested {
                        if s.attempts < *min_attempts_per_species {
                            p.push(format!(
                                "species {} ({cat}): {} attempts, profile needs {min_attempts_per_species}",
                                s.id, s.attempts
                            ));
                        }
                        if s.apcer_ppm > *max_apcer_ppm {
                            p.push(format!(
                                "species {} ({cat}): APCER {} ppm exceeds the profile's {max_apcer_ppm} ppm",
                                s.id, s.apcer_ppm
                            ));
                        }
                    }
                }
                if lab.bona_fide.bpcer_ppm > *max_bpcer_ppm {
                    p.push(format!(
                        "BPCER {} ppm exceeds the profile's {max_bpcer_ppm} ppm",
                        lab.bona_fide.bpcer_ppm
                    ));
                }
                if let (Some(metric), Some(cmp), Some(value)) = (&a.metric, a.comparator, a.value) {
                    let actual = match metric.as_str() {
                        "apcer_ppm" => lab.species.iter().map(|s| s.apcer_ppm as u64).max(),
                        "bpcer_ppm" => Some(lab.bona_fide.bpcer_ppm as u64),
                        _ => None,
                    };
                    match actual {
                        None => p.push(format!("metric {metric} cannot be read from a lab result")),
                        Some(v) if !compare(v, cmp, value) => p.push(format!(
                            "claim says {metric} {} {value}; lab result {} shows {v}",
                            cmp.symbol(),
                            le.index
                        )),
                        Some(_) => {}
                    }
                }
                p.extend(pad::operator_problem(scheme_operators, view, le, lab));
                p.extend(pad::model_problems(*model_match, view, claim, le, lab));
                p.extend(pad::age_problem(
                    *max_report_age_days,
                    ce.witnessed_at,
                    le,
                    lab,
                ));
                if let Some(role) = countersigner_role {
                    let countersigned = countersignatures.contains(&(role.as_str(), le.entry_hash));
                    if !countersigned {
                        p.push(format!(
                            "lab result {} is not countersigned by a key in role {role}",
                            le.index
                        ));
                    }
                }
                let tested = view.build(&lab.target.build.0);
                for (bi, b) in claim.applies_to.builds.iter().enumerate() {
                    if b.0 == lab.target.build.0 {
                        continue;
                    }
                    let same_model = *build_match == BuildMatch::SamePadModel
                        && match (tested, view.build(&b.0)) {
                            (Some(t), Some(c)) => {
                                !pad_models(t).is_empty() && pad_models(t) == pad_models(c)
                            }
                            _ => false,
                        };
                    if !same_model {
                        p.push(format!(
                            "applies_to.builds[{bi}] is neither the tested build{}",
                            if *build_match == BuildMatch::SamePadModel {
                                " nor a build with the tested PAD model"
                            } else {
                                ""
                            }
                        ));
                    }
                }
                if best.as_ref().is_none_or(|(_, bp)| p.len() < bp.len()) {
                    best = Some((le.index, p));
                }
            }
            let problems: Vec<String> = general
                .into_iter()
                .chain(best.as_ref().map(|(_, p)| p.clone()).unwrap_or_default())
                .collect();
            let message = if problems.is_empty() {
                let (idx, _) = best.as_ref().map(|(i, p)| (*i, p.len())).unwrap_or((0, 0));
                format!("{says}; backed by lab result {idx}")
            } else {
                format!("{says}; but {}", problems.join("; "))
            };
            out.push(pad::pad_check(
                rule,
                ce.index,
                field,
                problems.is_empty(),
                message,
                max_report_age_days.map(|_| Clock::Witnessed),
            ));
        }
    }
}

fn notifications(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::IncidentNotification {
        regime,
        regions,
        deadline_hours,
        accept_reason,
        clock,
        ..
    } = rule
    else {
        return;
    };
    for (ie, inc) in view.incidents() {
        let in_scope = incidents::regions_match(regions, &inc.affected.regions)
            && (inc.affected.subjects.unwrap_or(0) > 0 || !inc.affected.data_categories.is_empty());
        if !in_scope {
            continue;
        }
        let deadline = inc.aware_at.0.saturating_add(
            i64::try_from(*deadline_hours)
                .unwrap_or(i64::MAX)
                .saturating_mul(3600),
        );
        let sent: Vec<_> = inc
            .notifications
            .iter()
            .filter(|n| &n.regime == regime)
            .collect();
        let witnessed_clock = matches!(
            clock,
            DeadlineClock::WitnessedIfPresent | DeadlineClock::Witnessed
        );
        // The strict clock accepts no self-asserted time: without a witnessed time the
        // notification cannot be shown in time (an accepted reason needs no time).
        if *clock == DeadlineClock::Witnessed && ie.witnessed_at.is_none() && !sent.is_empty() {
            out.push(clocked(
                rule,
                ie.index,
                Some("notifications".into()),
                false,
                Clock::Witnessed,
                format!(
                    "incident {}: {regime} notification has no witnessed time, and the clock \"witnessed\" accepts no self-asserted sent_at: the bundle's checkpoint needs cosignatures from a quorum of trusted witnesses",
                    inc.incident_id
                ),
            ));
            continue;
        }
        // With witnessed time, the notification record itself must have been in the log, as
        // trusted witnesses attest, by the deadline: a back-dated sent_at cannot pass.
        if witnessed_clock
            && let Some(w) = ie.witnessed_at
            && !sent.is_empty()
        {
            // Both must hold: the record was witnessed in time, and what it says is in time.
            let witnessed_in_time = w as i64 <= deadline;
            let sent_in_time = sent.iter().any(|n| n.sent_at.0 <= deadline);
            let ok = witnessed_in_time && sent_in_time;
            let msg = format!(
                "{regime} notification recorded in the log by {} (witnessed time), {} after aware-at{} (deadline {deadline_hours} h)",
                crate::time::format_rfc3339(w as i64),
                elapsed(inc.aware_at.0, w as i64),
                if !witnessed_in_time {
                    ", too late whatever sent_at says"
                } else if !sent_in_time {
                    ", but every sent_at is after the deadline"
                } else {
                    ""
                }
            );
            out.push(clocked(
                rule,
                ie.index,
                Some("notifications".into()),
                ok,
                Clock::Witnessed,
                format!("incident {}: {msg}", inc.incident_id),
            ));
            continue;
        }
        // The fallback of "witnessed-if-present" is said plainly: the exporter's own clock
        // decided, whatever clock the profile hoped for.
        let clock_note = if *clock == DeadlineClock::WitnessedIfPresent {
            " (self-asserted sent_at: no witnessed time, so the exporter's own clock decided)"
        } else {
            " (self-asserted sent_at)"
        };
        let on_time = sent.iter().find(|n| n.sent_at.0 <= deadline);
        let (ok, msg) = match (on_time, sent.first()) {
            (Some(n), _) => (
                true,
                format!(
                    "{regime} notification to {} sent {} after aware-at (deadline {deadline_hours} h){clock_note}",
                    n.authority,
                    elapsed(inc.aware_at.0, n.sent_at.0)
                ),
            ),
            (None, Some(n)) => (
                false,
                format!(
                    "{regime} notification to {} sent {} after aware-at, later than {deadline_hours} h",
                    n.authority,
                    elapsed(inc.aware_at.0, n.sent_at.0)
                ),
            ),
            (None, None) => match &inc.no_notification_reason {
                Some(reason) if *accept_reason => (
                    true,
                    format!("no {regime} notification; recorded reason: {reason}"),
                ),
                _ => (
                    false,
                    format!("no {regime} notification and no accepted reason recorded"),
                ),
            },
        };
        let message = format!("incident {}: {msg}", inc.incident_id);
        let field = Some("notifications".into());
        // Without a notification no time was judged.
        out.push(if sent.is_empty() {
            check(rule, ie.index, field, ok, message)
        } else {
            clocked(rule, ie.index, field, ok, Clock::SelfAsserted, message)
        });
    }
}

/// The time from `from` to `to` as hours and minutes, e.g. `42h35m`, or `-0h30m` when `to` is
/// earlier. Computed in i128: evidence times may be anywhere in the i64 range.
fn elapsed(from: i64, to: i64) -> String {
    let secs = i128::from(to) - i128::from(from);
    let sign = if secs < 0 { "-" } else { "" };
    let secs = secs.abs();
    format!("{sign}{}h{:02}m", secs / 3600, secs % 3600 / 60)
}

fn affected_builds(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    // The records of each incident by trusted signers, in log order, and the incidents that ever
    // list each build, gathered once: each claimed build is then a few lookups, not a pass over
    // every incident.
    type Record<'v, 'a> = (&'v PolicyEntry<'a>, &'a Incident);
    let mut records: HashMap<&str, Vec<Record<'_, '_>>> = HashMap::new();
    let mut listing: HashMap<[u8; 32], Vec<&str>> = HashMap::new();
    for (ie, inc) in view.incidents().filter(|(ie, _)| ie.role.is_some()) {
        records
            .entry(inc.incident_id.as_str())
            .or_default()
            .push((ie, inc));
        for b in &inc.affected.builds {
            let ids = listing.entry(b.0).or_default();
            if !ids.contains(&inc.incident_id.as_str()) {
                ids.push(inc.incident_id.as_str());
            }
        }
    }
    for list in records.values_mut() {
        list.sort_by_key(|(e, _)| e.index);
    }
    for (ce, claim) in view.claims() {
        // Checked: a time past i64 (up to u64::MAX) is later than any aware-at, never negative.
        let made = i64::try_from(ce.iat).unwrap_or(i64::MAX);
        let mut problems = Vec::new();
        // Whether the claim's iat was compared with an aware-at (else log order alone decided).
        let mut iat_judged = false;
        for (bi, b) in claim.applies_to.builds.iter().enumerate() {
            for id in listing.get(&b.0).map_or(&[][..], Vec::as_slice) {
                let list = records.get(id).map_or(&[][..], Vec::as_slice);
                // What was known when the claim was made: the incident's latest record in the
                // log before the claim (log order is not the signer's to choose); with none,
                // its first record after the claim, known only if the claim's own `iat` is
                // after aware-at (which can only make it later, never earlier).
                let before = list.partition_point(|(e, _)| e.index < ce.index);
                let (ie, inc, how) =
                    if let Some(&(ie, inc)) = before.checked_sub(1).and_then(|k| list.get(k)) {
                        (
                            ie,
                            inc,
                            format!(
                                "the incident is in the log before the claim (entry {} < entry {})",
                                ie.index, ce.index
                            ),
                        )
                    } else if let Some(&(ie, inc)) = list.get(before) {
                        iat_judged = true;
                        if made < inc.aware_at.0 {
                            continue;
                        }
                        (ie, inc, "its iat is after aware-at".to_owned())
                    } else {
                        continue;
                    };
                // That record may no longer list the build: a later record that drops it wins.
                if !inc.affected.builds.iter().any(|x| x.0 == b.0) {
                    continue;
                }
                let open = inc.closed_at.is_none_or(|c| c.0 > made);
                let fixed = inc
                    .remediation
                    .as_ref()
                    .is_some_and(|r| r.fix_build.is_some());
                if open && !fixed {
                    problems.push(format!(
                        "applies_to.builds[{bi}] is affected by open incident {} (entry {}) with no fix build, known when the claim was made: {how}",
                        inc.incident_id, ie.index
                    ));
                }
            }
        }
        let ok = problems.is_empty();
        let msg = if ok {
            "no build it covers is affected by an open, unfixed incident known when it was made"
                .to_owned()
        } else {
            problems.join("; ")
        };
        let clock = if iat_judged {
            Clock::SelfAsserted
        } else {
            Clock::Logged
        };
        out.push(clocked(rule, ce.index, None, ok, clock, msg));
    }
}

/// `certificate-time`: each verified entry whose signer is trusted through a certificate had its
/// chain validated at a witnessed time, when the rule's clock is `witnessed`.
fn certificate_times(
    rule: &Rule,
    clock: DeadlineClock,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for e in view.entries.iter().filter(|e| e.role.is_some()) {
        let Some(used) = e.certificate_clock else {
            continue;
        };
        let (ok, msg) = match (used, e.witnessed_at) {
            (Clock::Witnessed, Some(w)) => (
                true,
                format!(
                    "the signer's certificate was valid at the witnessed time {}, by which the entry was in the log",
                    crate::time::format_rfc3339(i64::try_from(w).unwrap_or(i64::MAX))
                ),
            ),
            _ if clock == DeadlineClock::Witnessed => (
                false,
                "the signer's certificate was checked only at its self-asserted iat: the entry has no witnessed time, and the clock \"witnessed\" requires one (the bundle's checkpoint needs cosignatures from a quorum of trusted witnesses)".to_owned(),
            ),
            _ => (
                true,
                "the signer's certificate was checked at its self-asserted iat: the entry has no witnessed time, so the signer's own clock decided".to_owned(),
            ),
        };
        out.push(clocked(rule, e.index, None, ok, used, msg));
    }
}

#[cfg(test)]
mod tests {
    use super::elapsed;

    #[test]
    fn elapsed_hours_and_minutes() {
        assert_eq!(elapsed(0, 153_300), "42h35m");
        assert_eq!(elapsed(0, 59), "0h00m");
        assert_eq!(elapsed(1800, 0), "-0h30m");
        assert_eq!(elapsed(5400, 0), "-1h30m");
        // The ends of the i64 range neither overflow nor lose the sign.
        assert_eq!(elapsed(i64::MIN, i64::MAX), "5124095576030431h00m");
        assert_eq!(elapsed(i64::MAX, i64::MIN), "-5124095576030431h00m");
    }
}
