//! Digests from files: in evidence input, `file = "path"` may stand for a document's `sha256`
//! (and `size`, where the kind records one), and `<name>_file` for `<name>_sha256`.
//!
//! The substitution is a pure transform of the input's data model, done before the input is
//! read as its kind: each kind lists where a file may be named ([`FileField`]), and the caller
//! supplies a resolver that turns a path into the file's [`FileDigest`] (the command line reads
//! it relative to the input file). The `file` key is removed, so a payload never holds a path.

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::EvidenceError;

/// A file's SHA-256 and length in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// The file's length in bytes.
    pub size: u64,
}

impl FileDigest {
    /// The digest and length of `bytes`.
    pub fn of(bytes: &[u8]) -> FileDigest {
        FileDigest {
            sha256: Sha256::digest(bytes).into(),
            size: bytes.len() as u64,
        }
    }
}

/// Turns a path written in the input into the digest of the file it names, or says why not.
pub type FileResolver<'a> = dyn Fn(&str) -> Result<FileDigest, String> + 'a;

/// One place in a kind's input where a file may be named instead of giving its digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileField {
    /// The map holding the fields: `""` for the document, `name` for a struct field, `name[]`
    /// for every item of a list field; segments joined by `.`.
    pub at: &'static str,
    /// The key that names the file, e.g. `file` or `document_file`.
    pub file: &'static str,
    /// The digest field it fills, e.g. `sha256` or `document_sha256`.
    pub sha256: &'static str,
    /// The size field it fills, where the kind records one.
    pub size: Option<&'static str>,
}

/// Replaces every file named at one of `fields` in `input` with its digest (and size), using
/// `resolve`. A digest or size given beside the file must agree with the file.
///
/// # Errors
/// [`EvidenceError::File`] for the first problem found, at its field path: a file value that is
/// not a non-empty text, a file `resolve` cannot read, or a given digest or size the file
/// contradicts.
pub fn resolve_files(
    input: &mut Value,
    fields: &[FileField],
    resolve: &FileResolver<'_>,
) -> Result<(), EvidenceError> {
    for field in fields {
        let segments: Vec<&str> = field.at.split('.').filter(|s| !s.is_empty()).collect();
        visit(input, String::new(), &segments, field, resolve)?;
    }
    Ok(())
}

/// Substitutes `field` in every map the pattern `segments` reaches from `v` (at field path
/// `path`). Parts of the input that do not have the expected shape are left for the schema to
/// report.
fn visit(
    v: &mut Value,
    path: String,
    segments: &[&str],
    field: &FileField,
    resolve: &FileResolver<'_>,
) -> Result<(), EvidenceError> {
    let Some(map) = v.as_object_mut() else {
        return Ok(());
    };
    let Some((first, rest)) = segments.split_first() else {
        return substitute(&path, map, field, resolve);
    };
    match first.strip_suffix("[]") {
        Some(name) => {
            if let Some(Value::Array(items)) = map.get_mut(name) {
                for (i, item) in items.iter_mut().enumerate() {
                    visit(
                        item,
                        format!("{}[{i}]", join(&path, name)),
                        rest,
                        field,
                        resolve,
                    )?;
                }
            }
        }
        None => {
            if let Some(item) = map.get_mut(*first) {
                visit(item, join(&path, first), rest, field, resolve)?;
            }
        }
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn substitute(
    path: &str,
    map: &mut Map<String, Value>,
    field: &FileField,
    resolve: &FileResolver<'_>,
) -> Result<(), EvidenceError> {
    let Some(named) = map.remove(field.file) else {
        return Ok(());
    };
    let err = |name: &str, message: String| EvidenceError::File {
        path: join(path, name),
        message,
    };
    let file = match named.as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        Some(_) => return Err(err(field.file, "must not be empty".into())),
        None => {
            return Err(err(
                field.file,
                format!("must be a file path (text), not {named}"),
            ));
        }
    };
    let digest = resolve(&file).map_err(|m| err(field.file, m))?;
    let hex = crate::hex::encode(&digest.sha256);
    match map.get(field.sha256) {
        None => {
            map.insert(field.sha256.to_owned(), Value::String(hex));
        }
        Some(given) => {
            if given.as_str().and_then(crate::hex::decode_array::<32>) != Some(digest.sha256) {
                return Err(err(
                    field.sha256,
                    format!("does not match file {file:?}, whose SHA-256 is {hex}"),
                ));
            }
        }
    }
    if let Some(size) = field.size {
        match map.get(size) {
            None => {
                map.insert(size.to_owned(), Value::from(digest.size));
            }
            Some(given) => {
                if given.as_u64() != Some(digest.size) {
                    return Err(err(
                        size,
                        format!(
                            "does not match file {file:?}, which is {} bytes",
                            digest.size
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARTIFACTS: FileField = FileField {
        at: "artifacts[]",
        file: "file",
        sha256: "sha256",
        size: Some("size"),
    };
    const TOP: FileField = FileField {
        at: "",
        file: "report_file",
        sha256: "report_sha256",
        size: None,
    };

    fn files(name: &str) -> Result<FileDigest, String> {
        match name {
            "a.img" => Ok(FileDigest::of(b"abc")),
            other => Err(format!("cannot read {other}: No such file or directory")),
        }
    }

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn replaces_the_file_with_its_digest_and_size() {
        let mut v = json!({
            "artifacts": [{"name": "x", "sha256": "00".repeat(32), "size": 1},
                          {"name": "y", "file": "a.img"}],
            "report_file": "a.img",
        });
        resolve_files(&mut v, &[ARTIFACTS, TOP], &files).expect("resolved");
        assert_eq!(
            v,
            json!({
                "artifacts": [{"name": "x", "sha256": "00".repeat(32), "size": 1},
                              {"name": "y", "sha256": ABC, "size": 3}],
                "report_sha256": ABC,
            })
        );
    }

    #[test]
    fn a_digest_or_size_given_beside_the_file_must_agree() {
        let mut v =
            json!({"artifacts": [{"file": "a.img", "sha256": ABC.to_uppercase(), "size": 3}]});
        resolve_files(&mut v, &[ARTIFACTS], &files).expect("agrees");
        assert_eq!(
            v,
            json!({"artifacts": [{"sha256": ABC.to_uppercase(), "size": 3}]})
        );

        let mut v = json!({"artifacts": [{"file": "a.img", "sha256": "11".repeat(32)}]});
        let e = resolve_files(&mut v, &[ARTIFACTS], &files).expect_err("disagrees");
        assert_eq!(
            e.to_string(),
            format!("artifacts[0].sha256: does not match file \"a.img\", whose SHA-256 is {ABC}")
        );
        let mut v = json!({"artifacts": [{"file": "a.img", "size": 4}]});
        let e = resolve_files(&mut v, &[ARTIFACTS], &files).expect_err("disagrees");
        assert_eq!(
            e.to_string(),
            "artifacts[0].size: does not match file \"a.img\", which is 3 bytes"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_named_with_its_field() {
        let mut v = json!({"artifacts": [{"file": "a.img"}, {"file": "gone.img"}]});
        let e = resolve_files(&mut v, &[ARTIFACTS], &files).expect_err("unreadable");
        assert_eq!(
            e.to_string(),
            "artifacts[1].file: cannot read gone.img: No such file or directory"
        );
        for (bad, msg) in [
            (json!(""), "must not be empty"),
            (json!(7), "must be a file path (text), not 7"),
        ] {
            let mut v = json!({ "report_file": bad });
            let e = resolve_files(&mut v, &[TOP], &files).expect_err("refused");
            assert_eq!(e.to_string(), format!("report_file: {msg}"));
        }
    }

    #[test]
    fn leaves_other_shapes_to_the_schema() {
        let shapes = [
            json!({"artifacts": "not a list"}),
            json!({"artifacts": ["not a map"]}),
            json!([1, 2]),
            json!({"other": {"file": "a.img"}}),
        ];
        for shape in shapes {
            let mut v = shape.clone();
            resolve_files(&mut v, &[ARTIFACTS], &files).expect("untouched");
            assert_eq!(v, shape);
        }
    }
}
