//! SLSA provenance v1 predicates (slsa.dev/spec/v1.0/provenance): the builder id, the build
//! type and, for the build types listed in [`SOURCE_BUILD_TYPES`], the source repository and
//! ref. Other predicate types are reported by name only and never read as provenance.

use serde::Serialize;

/// The predicate type of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Build types whose source repository and ref are read, from
/// `buildDefinition.externalParameters.workflow.{repository,ref}`: GitHub Actions workflow
/// build type v1 (`actions/attest-build-provenance`, `gh attestation`) and the SLSA GitHub
/// generator's name for the same layout.
pub const SOURCE_BUILD_TYPES: [&str; 2] = [
    "https://actions.github.io/buildtypes/workflow/v1",
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
];

/// What an SLSA provenance v1 predicate says about the build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlsaProvenance {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// The source repository, for a build type of [`SOURCE_BUILD_TYPES`].
    pub source_repository: Option<String>,
    /// The source ref (e.g. `refs/tags/v4.2.0`), for a build type of [`SOURCE_BUILD_TYPES`].
    pub source_ref: Option<String>,
}

fn string<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, p| v.get(p))?.as_str()
}

/// Reads an SLSA provenance v1 predicate; `Ok(None)` for any other predicate type.
///
/// # Errors
/// A message naming the missing field when an SLSA provenance v1 predicate lacks its builder id
/// or build type, or when a listed build type lacks its workflow repository or ref.
pub fn read_provenance(
    predicate_type: &str,
    predicate: &serde_json::Value,
) -> Result<Option<SlsaProvenance>, String> {
    if predicate_type != SLSA_PROVENANCE_V1 {
        return Ok(None);
    }
    let required = |path: &[&str]| {
        string(predicate, path)
            .map(str::to_owned)
            .ok_or_else(|| format!("SLSA provenance v1 has no string {}", path.join(".")))
    };
    let builder_id = required(&["runDetails", "builder", "id"])?;
    let build_type = required(&["buildDefinition", "buildType"])?;
    let (source_repository, source_ref) = if SOURCE_BUILD_TYPES.contains(&build_type.as_str()) {
        let w = ["buildDefinition", "externalParameters", "workflow"];
        (
            Some(required(&[w[0], w[1], w[2], "repository"])?),
            Some(required(&[w[0], w[1], w[2], "ref"])?),
        )
    } else {
        (None, None)
    };
    Ok(Some(SlsaProvenance {
        builder_id,
        build_type,
        source_repository,
        source_ref,
    }))
}

impl SlsaProvenance {
    /// One line for reports.
    pub fn summary(&self) -> String {
        let source = match (&self.source_repository, &self.source_ref) {
            (Some(r), Some(f)) => format!("source {r} at {f}"),
            _ => format!(
                "source not read (build type {} not supported)",
                self.build_type
            ),
        };
        format!(
            "builder {}, build type {}, {source}",
            self.builder_id, self.build_type
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_workflow_provenance_is_read() {
        let p = json!({
            "buildDefinition": {"buildType": SOURCE_BUILD_TYPES[0], "externalParameters": {"workflow": {"repository": "https://github.com/a/b", "ref": "refs/tags/v1"}}},
            "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}}
        });
        let s = read_provenance(SLSA_PROVENANCE_V1, &p).unwrap().unwrap();
        assert_eq!(
            s.source_repository.as_deref(),
            Some("https://github.com/a/b")
        );
        assert_eq!(s.source_ref.as_deref(), Some("refs/tags/v1"));
        assert!(
            s.summary()
                .contains("source https://github.com/a/b at refs/tags/v1")
        );
    }

    #[test]
    fn other_build_types_have_no_source_and_missing_fields_are_named() {
        let p = json!({"buildDefinition": {"buildType": "https://example.com/bt"}, "runDetails": {"builder": {"id": "b"}}});
        let s = read_provenance(SLSA_PROVENANCE_V1, &p).unwrap().unwrap();
        assert_eq!((s.source_repository, s.source_ref), (None, None));
        assert_eq!(
            read_provenance("https://slsa.dev/provenance/v0.2", &p),
            Ok(None)
        );
        let e = read_provenance(
            SLSA_PROVENANCE_V1,
            &json!({"buildDefinition": {"buildType": "x"}}),
        );
        assert_eq!(
            e,
            Err("SLSA provenance v1 has no string runDetails.builder.id".into())
        );
        let gh = json!({"buildDefinition": {"buildType": SOURCE_BUILD_TYPES[1]}, "runDetails": {"builder": {"id": "b"}}});
        assert!(
            read_provenance(SLSA_PROVENANCE_V1, &gh)
                .unwrap_err()
                .contains("workflow.repository")
        );
    }
}
