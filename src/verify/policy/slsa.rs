//! `slsa-provenance`: each verified firmware build must cite a Sigstore attestation, verified
//! offline in step 8b, whose SLSA provenance v1 names the expected builder, source repository
//! and ref (`specs/policy.md`, "slsa-provenance").

use super::{PolicyView, Rule};
use crate::evidence::Evidence;
use crate::verify::{Check, Outcome, Step};

/// What a firmware build's attestation says, once step 8b verified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attested {
    /// The in-toto statement's `predicateType`.
    pub predicate_type: String,
    /// The SLSA provenance v1 fields, when the predicate is SLSA provenance v1.
    pub provenance: Option<AttestedProvenance>,
}

/// SLSA provenance v1 fields of a verified attestation (`specs/sigstore.md`, "SLSA provenance v1").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedProvenance {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// The source repository, for a supported build type.
    pub source_repository: Option<String>,
    /// The source ref, for a supported build type.
    pub source_ref: Option<String>,
}

/// A repository locator without its scheme, `git+` prefix, trailing `/` or `.git`, so that
/// `https://github.com/a/b` and `github.com/a/b` name the same repository.
pub fn normalize_repository(r: &str) -> &str {
    let r = r.strip_prefix("git+").unwrap_or(r);
    let r = r.split_once("://").map_or(r, |(_, rest)| rest);
    let r = r.strip_suffix('/').unwrap_or(r);
    r.strip_suffix(".git").unwrap_or(r)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (none
/// included) and every other character stands for itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut t) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let (last, middle) = parts.split_last().unwrap_or((&"", &[]));
    for p in middle {
        match t.find(p) {
            Some(i) => t = &t[i + p.len()..],
            None => return false,
        }
    }
    t.len() >= last.len() && t.ends_with(last)
}

/// Evaluates the rule over every verified firmware build of the view.
pub(super) fn slsa_provenance(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::SlsaProvenance {
        builder_id,
        source_repository,
        source_ref,
        ..
    } = rule
    else {
        return;
    };
    for e in view.entries.iter().filter(|e| e.role.is_some()) {
        let Evidence::FirmwareBuild(fb) = e.evidence else {
            continue;
        };
        let (ok, message) = judge(
            fb.attestation.is_some(),
            view.attestations.get(&e.index),
            builder_id,
            source_repository,
            source_ref,
        );
        out.push(Check {
            step: Step::Policy,
            entry: Some(e.index),
            field: Some("attestation".into()),
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            message: format!("{}: {message}", rule.id()),
            citation: Some(rule.citation().to_owned()),
            clock: None,
        });
    }
}

fn judge(
    cited: bool,
    attested: Option<&Attested>,
    builder_id: &str,
    source_repository: &str,
    source_ref: &str,
) -> (bool, String) {
    if !cited {
        return (
            false,
            "the firmware build cites no attestation (record it with --attestation)".into(),
        );
    }
    let Some(a) = attested else {
        return (
            false,
            "the build's attestation was not verified (see its sigstore check), so it shows no provenance".into(),
        );
    };
    let Some(p) = &a.provenance else {
        return (
            false,
            format!(
                "the attestation's predicate type {} is not SLSA provenance v1; it is not taken as provenance",
                a.predicate_type
            ),
        );
    };
    if p.builder_id != builder_id {
        return (
            false,
            format!(
                "builder id is {:?}, the profile requires exactly {builder_id:?}",
                p.builder_id
            ),
        );
    }
    let (Some(repo), Some(r#ref)) = (&p.source_repository, &p.source_ref) else {
        return (
            false,
            format!(
                "the source of build type {} is not read by this verifier (specs/sigstore.md lists the supported build types)",
                p.build_type
            ),
        );
    };
    if normalize_repository(repo) != normalize_repository(source_repository) {
        return (
            false,
            format!("source repository is {repo:?}, the profile requires {source_repository:?}"),
        );
    }
    if !glob_match(source_ref, r#ref) {
        return (
            false,
            format!("source ref {ref:?} does not match the profile's {source_ref:?}"),
        );
    }
    (
        true,
        format!(
            "built by {builder_id} from {repo} at {ref} (build type {})",
            p.build_type
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_repositories() {
        assert!(glob_match("refs/tags/v*", "refs/tags/v4.2.0"));
        assert!(!glob_match("refs/tags/v*", "refs/heads/v4"));
        assert!(glob_match("refs/tags/*.*.*", "refs/tags/4.2.0"));
        assert!(!glob_match("refs/tags/*.*.*", "refs/tags/4.2"));
        assert!(glob_match("refs/heads/main", "refs/heads/main"));
        assert!(!glob_match("refs/heads/main", "refs/heads/main2"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*a", "a"));
        assert_eq!(
            normalize_repository("git+https://github.com/a/b.git"),
            "github.com/a/b"
        );
        assert_eq!(normalize_repository("github.com/a/b/"), "github.com/a/b");
    }

    fn attested(builder: &str, repo: Option<&str>, r: &str) -> Attested {
        Attested {
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            provenance: Some(AttestedProvenance {
                builder_id: builder.into(),
                build_type: "https://actions.github.io/buildtypes/workflow/v1".into(),
                source_repository: repo.map(Into::into),
                source_ref: repo.map(|_| r.into()),
            }),
        }
    }

    #[test]
    fn without_firmware_builds_the_rule_is_not_applicable() {
        let rule = Rule::SlsaProvenance {
            id: "s".into(),
            citation: "c".into(),
            builder_id: "b".into(),
            source_repository: "r".into(),
            source_ref: "*".into(),
        };
        let attachments = std::collections::BTreeMap::new();
        let view = PolicyView::new(Vec::new(), &attachments);
        let mut out = Vec::new();
        slsa_provenance(&rule, &view, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn each_requirement_is_judged() {
        let b = "https://github.com/actions/runner/github-hosted";
        let j = |a: Option<&Attested>| {
            judge(
                true,
                a,
                b,
                "github.com/aurelis/fg3-firmware",
                "refs/tags/v*",
            )
        };
        let good = attested(
            b,
            Some("https://github.com/aurelis/fg3-firmware"),
            "refs/tags/v4.2.0",
        );
        assert!(j(Some(&good)).0);
        let (ok, m) = j(Some(&attested(
            &format!("{b}/x"),
            Some("https://github.com/aurelis/fg3-firmware"),
            "refs/tags/v1",
        )));
        assert!(!ok && m.contains("builder id"));
        let (ok, m) = j(Some(&attested(
            b,
            Some("https://github.com/other/fw"),
            "refs/tags/v1",
        )));
        assert!(!ok && m.contains("source repository"));
        let (ok, m) = j(Some(&attested(
            b,
            Some("https://github.com/aurelis/fg3-firmware"),
            "refs/heads/main",
        )));
        assert!(!ok && m.contains("does not match"));
        let (ok, m) = j(Some(&attested(b, None, "")));
        assert!(!ok && m.contains("not read"));
        let unknown = Attested {
            predicate_type: "https://example.com/p".into(),
            provenance: None,
        };
        let (ok, m) = j(Some(&unknown));
        assert!(!ok && m.contains("not SLSA provenance v1"));
        assert!(!j(None).0);
        assert!(!judge(false, None, b, "r", "*").0);
    }
}
