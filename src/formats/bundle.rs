//! `bundle.cbor`: a self-contained export of entries with their proofs, for offline verification.
//!
//! ```text
//! bundle = {
//!   "evledger-bundle": 1,
//!   "checkpoint": tstr,                                 ; signed note (log signature + cosignatures)
//!   "entries": [+ { "index": uint, "statement": bstr, "proof": [* bstr] }],  ; ascending, unique
//!   ? "consistency": [+ { "from": tstr, "proof": [* bstr] }],
//!   ? "attachments": { + tstr => bstr },                ; lower-case hex SHA-256 => document bytes
//! }
//! ```
//! Parsing is strict: deterministic CBOR only, no unknown keys, bounded sizes and counts, every
//! hash 32 bytes, attachment keys equal to the SHA-256 of their bytes.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::cbor::{self, Cursor, Item, Value};
use crate::merkle::Hash;

/// The format version this code writes: 2, whose bundles carry the log's adverse index and every
/// adverse entry below it (`specs/completeness.md`).
pub const BUNDLE_VERSION: u64 = 2;

/// The oldest format version this code reads: version 1 bundles verify, without completeness.
pub const OLDEST_BUNDLE_VERSION: u64 = 1;

/// Bounds applied when parsing an untrusted bundle.
#[derive(Clone, Copy, Debug)]
pub struct BundleLimits {
    /// Largest bundle file, in bytes.
    pub max_bytes: usize,
    /// Most entries.
    pub max_entries: usize,
    /// Largest statement, in bytes.
    pub max_statement: usize,
    /// Most hashes in one proof (a tree of 2^64 leaves needs at most 64).
    pub max_proof: usize,
    /// Most consistency proofs.
    pub max_consistency: usize,
    /// Most attachments.
    pub max_attachments: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        BundleLimits {
            max_bytes: 512 << 20,
            max_entries: 1_000_000,
            max_statement: crate::statement::MAX_STATEMENT_LEN,
            max_proof: 64,
            max_consistency: 64,
            max_attachments: 4096,
        }
    }
}

/// One entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleEntry {
    /// Leaf index in the log.
    pub index: u64,
    /// Tagged COSE_Sign1 bytes.
    pub statement: Vec<u8>,
    /// Inclusion proof against the bundle's checkpoint.
    pub proof: Vec<Hash>,
}

/// A consistency proof from an earlier signed checkpoint to the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyItem {
    /// The earlier checkpoint's signed note.
    pub from: String,
    /// The proof.
    pub proof: Vec<Hash>,
}

/// A parsed bundle (structure only; nothing in it is verified yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The format version ([`OLDEST_BUNDLE_VERSION`] ..= [`BUNDLE_VERSION`]).
    pub version: u64,
    /// The checkpoint's signed note.
    pub checkpoint: String,
    /// Entries by ascending index.
    pub entries: Vec<BundleEntry>,
    /// Consistency proofs from earlier checkpoints.
    pub consistency: Vec<ConsistencyItem>,
    /// Attached documents by lower-case hex SHA-256.
    pub attachments: BTreeMap<String, Vec<u8>>,
    /// The log's adverse index at the checkpoint (the entry at index `size - 1`), with its
    /// inclusion proof: version 2 and later (`specs/completeness.md`).
    pub adverse_index: Option<BundleEntry>,
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle {
            version: BUNDLE_VERSION,
            checkpoint: String::new(),
            entries: Vec::new(),
            consistency: Vec::new(),
            attachments: BTreeMap::new(),
            adverse_index: None,
        }
    }
}

/// Why a bundle is not well-formed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not deterministic CBOR.
    #[error("bundle is not deterministic CBOR: {0}")]
    Cbor(#[from] cbor::CborError),
    /// Larger than the limit.
    #[error("bundle is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field is missing, unknown, of the wrong type or out of bounds.
    #[error("bundle {field}: {reason}")]
    Field {
        /// Where, e.g. `entries[3].proof[1]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> BundleError {
    BundleError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

fn hashes(v: &[Hash]) -> Value {
    Value::Array(v.iter().map(|h| Value::Bytes(h.to_vec())).collect())
}

fn entry_value(e: &BundleEntry) -> Value {
    Value::Map(vec![
        (Value::text("index"), Value::Unsigned(e.index)),
        (Value::text("statement"), Value::Bytes(e.statement.clone())),
        (Value::text("proof"), hashes(&e.proof)),
    ])
}

impl Bundle {
    /// Encodes the bundle as deterministic CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut map = vec![
            (
                Value::text("evledger-bundle"),
                Value::Unsigned(self.version),
            ),
            (
                Value::text("checkpoint"),
                Value::text(self.checkpoint.clone()),
            ),
            (
                Value::text("entries"),
                Value::Array(self.entries.iter().map(entry_value).collect()),
            ),
        ];
        if let Some(e) = &self.adverse_index {
            map.push((Value::text("adverse-index"), entry_value(e)));
        }
        if !self.consistency.is_empty() {
            map.push((
                Value::text("consistency"),
                Value::Array(
                    self.consistency
                        .iter()
                        .map(|c| {
                            Value::Map(vec![
                                (Value::text("from"), Value::text(c.from.clone())),
                                (Value::text("proof"), hashes(&c.proof)),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.attachments.is_empty() {
            map.push((
                Value::text("attachments"),
                Value::Map(
                    self.attachments
                        .iter()
                        .map(|(k, v)| (Value::text(k.clone()), Value::Bytes(v.clone())))
                        .collect(),
                ),
            ));
        }
        cbor::encode(&Value::Map(map))
    }

    /// Parses a bundle strictly within `limits`.
    ///
    /// The bytes are first checked as one deterministic CBOR item (allocating nothing), then
    /// read field by field in place: no generic value tree is built, an unknown key is refused
    /// without reading its value, and the parsed bundle holds little beyond copies of the
    /// statements and attachments (`specs/bundle.md`, "Parsing cost").
    ///
    /// # Errors
    /// [`BundleError`] naming the first field that is wrong.
    pub fn parse(bytes: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
        if bytes.len() > limits.max_bytes {
            return Err(BundleError::TooLarge {
                len: bytes.len(),
                max: limits.max_bytes,
            });
        }
        cbor::validate_with(
            bytes,
            cbor::Limits {
                max_depth: 8,
                max_items: limits.max_entries.max(limits.max_attachments) as u64,
            },
        )?;
        let mut c = Cursor::new(bytes);
        let Item::Map(pairs) = c.read()? else {
            return Err(field("top level", "is not a map"));
        };
        let mut b = Bundle::default();
        let (mut version, mut checkpoint, mut entries) = (false, false, false);
        for _ in 0..pairs {
            let Item::Text(key) = c.read()? else {
                return Err(field("top level", "has a non-text key"));
            };
            match key {
                "evledger-bundle" => {
                    let at = c.position();
                    match c.read()? {
                        Item::Unsigned(n)
                            if (OLDEST_BUNDLE_VERSION..=BUNDLE_VERSION).contains(&n) =>
                        {
                            b.version = n;
                        }
                        _ => {
                            let v = c.at(at).value()?;
                            return Err(field(
                                key,
                                format!(
                                    "version {v} is not supported (expected {OLDEST_BUNDLE_VERSION} to {BUNDLE_VERSION})"
                                ),
                            ));
                        }
                    }
                    version = true;
                }
                "checkpoint" => {
                    let Item::Text(t) = c.read()? else {
                        return Err(field(key, "is not text"));
                    };
                    b.checkpoint = t.to_owned();
                    checkpoint = true;
                }
                "entries" => {
                    b.entries = parse_entries(&mut c, limits)?;
                    entries = true;
                }
                "consistency" => b.consistency = parse_consistency(&mut c, limits)?,
                "attachments" => b.attachments = parse_attachments(&mut c, limits)?,
                "adverse-index" => b.adverse_index = Some(parse_entry(&mut c, key, limits)?),
                other => {
                    return Err(field(
                        format!("key {other:?}"),
                        "is not part of the bundle format",
                    ));
                }
            }
        }
        for (present, name) in [
            (version, "evledger-bundle"),
            (checkpoint, "checkpoint"),
            (entries, "entries"),
        ] {
            if !present {
                return Err(field(name, "is missing"));
            }
        }
        if b.version < 2 && b.adverse_index.is_some() {
            return Err(field(
                "key \"adverse-index\"",
                "is not part of bundle version 1",
            ));
        }
        Ok(b)
    }
}

/// Reads a proof at the cursor (`None` when its key was absent).
fn parse_proof(
    c: Option<Cursor<'_>>,
    at: &str,
    limits: &BundleLimits,
) -> Result<Vec<Hash>, BundleError> {
    let mut c = c.ok_or_else(|| field(at, "is missing"))?;
    let Item::Array(n) = c.read()? else {
        return Err(field(at, "is not an array"));
    };
    if n > limits.max_proof {
        return Err(field(
            at,
            format!("has {n} hashes, over the limit of {}", limits.max_proof),
        ));
    }
    (0..n)
        .map(|i| match c.read()? {
            Item::Bytes(b) => {
                Hash::try_from(b).map_err(|_| field(format!("{at}[{i}]"), "is not a 32-byte hash"))
            }
            _ => Err(field(format!("{at}[{i}]"), "is not a 32-byte hash")),
        })
        .collect()
}

/// Reads a map that may hold only the given text keys, returning a cursor at each key's value
/// (in the order of `keys`) and leaving `c` after the map. Every key is checked before any
/// value is read, and values are skipped without being decoded.
fn exact_keys<'a, const N: usize>(
    c: &mut Cursor<'a>,
    at: &str,
    keys: [&str; N],
) -> Result<[Option<Cursor<'a>>; N], BundleError> {
    let Item::Map(pairs) = c.read()? else {
        return Err(field(at, "is not a map"));
    };
    let mut out: [Option<Cursor<'a>>; N] = std::array::from_fn(|_| None);
    for _ in 0..pairs {
        let key_at = c.position();
        let slot = match c.read()? {
            Item::Text(t) => keys.iter().position(|k| *k == t),
            _ => None,
        };
        let Some(slot) = slot else {
            let k = c.at(key_at).value()?;
            return Err(field(at, format!("has unexpected key {k}")));
        };
        out[slot] = Some(c.clone());
        c.skip()?;
    }
    Ok(out)
}

fn parse_entries(
    c: &mut Cursor<'_>,
    limits: &BundleLimits,
) -> Result<Vec<BundleEntry>, BundleError> {
    let Item::Array(n) = c.read()? else {
        return Err(field("entries", "is not an array"));
    };
    if n == 0 {
        return Err(field("entries", "is empty"));
    }
    if n > limits.max_entries {
        return Err(field(
            "entries",
            format!("has {n} entries, over the limit of {}", limits.max_entries),
        ));
    }
    // The count was validated against the input: every entry is there.
    let mut out: Vec<BundleEntry> = Vec::with_capacity(n);
    for i in 0..n {
        let at = format!("entries[{i}]");
        let entry = parse_entry(c, &at, limits)?;
        if let Some(prev) = out.last()
            && entry.index <= prev.index
        {
            return Err(field(
                format!("{at}.index"),
                format!(
                    "{} is not above the previous index {}",
                    entry.index, prev.index
                ),
            ));
        }
        out.push(entry);
    }
    Ok(out)
}

/// One entry map: exactly `index`, `statement` and `proof`, each within `limits`.
fn parse_entry(
    c: &mut Cursor<'_>,
    at: &str,
    limits: &BundleLimits,
) -> Result<BundleEntry, BundleError> {
    let [index, statement, proof] = exact_keys(c, at, ["index", "statement", "proof"])?;
    let index = match index.map(|mut c| c.read()).transpose()? {
        Some(Item::Unsigned(n)) => n,
        _ => {
            return Err(field(
                format!("{at}.index"),
                "is missing or not an unsigned integer",
            ));
        }
    };
    let statement = match statement.map(|mut c| c.read()).transpose()? {
        Some(Item::Bytes(b)) => b,
        _ => {
            return Err(field(
                format!("{at}.statement"),
                "is missing or not a byte string",
            ));
        }
    };
    if statement.len() > limits.max_statement {
        return Err(field(
            format!("{at}.statement"),
            format!("is {} bytes, over the limit", statement.len()),
        ));
    }
    let proof = parse_proof(proof, &format!("{at}.proof"), limits)?;
    Ok(BundleEntry {
        index,
        statement: statement.to_vec(),
        proof,
    })
}

fn parse_consistency(
    c: &mut Cursor<'_>,
    limits: &BundleLimits,
) -> Result<Vec<ConsistencyItem>, BundleError> {
    let Item::Array(n) = c.read()? else {
        return Err(field("consistency", "is not an array"));
    };
    if n == 0 || n > limits.max_consistency {
        return Err(field(
            "consistency",
            format!("must hold 1 to {} proofs", limits.max_consistency),
        ));
    }
    (0..n)
        .map(|i| {
            let at = format!("consistency[{i}]");
            let [from, proof] = exact_keys(c, &at, ["from", "proof"])?;
            let from = match from.map(|mut c| c.read()).transpose()? {
                Some(Item::Text(t)) => t,
                _ => return Err(field(format!("{at}.from"), "is missing or not text")),
            };
            Ok(ConsistencyItem {
                from: from.to_owned(),
                proof: parse_proof(proof, &format!("{at}.proof"), limits)?,
            })
        })
        .collect()
}

fn parse_attachments(
    c: &mut Cursor<'_>,
    limits: &BundleLimits,
) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let Item::Map(n) = c.read()? else {
        return Err(field("attachments", "is not a map"));
    };
    if n == 0 || n > limits.max_attachments {
        return Err(field(
            "attachments",
            format!("must hold 1 to {} documents", limits.max_attachments),
        ));
    }
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let Item::Text(key) = c.read()? else {
            return Err(field("attachments", "has a non-text key"));
        };
        let at = format!("attachments[{key:?}]");
        let Item::Bytes(data) = c.read()? else {
            return Err(field(&at, "is not a byte string"));
        };
        if !crate::hex::is_lower_hex(key, 32) {
            return Err(field(&at, "key is not a lower-case hex SHA-256"));
        }
        if crate::hex::encode(&Sha256::digest(data)) != key {
            return Err(field(&at, "bytes do not hash to the key"));
        }
        out.insert(key.to_owned(), data.to_vec());
    }
    Ok(out)
}
