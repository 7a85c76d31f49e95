//! Deterministic CBOR (RFC 8949 §4.2.1 core deterministic encoding) and a strict decoder.
//!
//! Everything evledger signs or hashes is encoded here. The encoder always produces the
//! deterministic form: shortest-form integers and lengths, definite lengths only, map keys
//! sorted bytewise by their encoded form. The decoder accepts nothing else: it rejects
//! non-shortest integers and lengths, indefinite lengths, floating point and other simple
//! values than `false`, `true` and `null`, unsorted or duplicate map keys, invalid UTF-8,
//! nesting deeper than [`Limits::max_depth`], and trailing bytes. Because the decoder only
//! accepts deterministic encodings, `encode(decode(b)) == b` holds for every accepted `b`;
//! [`decode_canonical`] checks that too, as a second line of defence.

mod cursor;
pub mod serde;

pub use cursor::{Cursor, Item, validate_with};

use std::fmt;

/// A CBOR data item in the subset evledger uses (no floats, no undefined, no other simple values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Major type 0: an unsigned integer.
    Unsigned(u64),
    /// Major type 1: the negative integer `-1 - n`.
    Negative(u64),
    /// Major type 2: a byte string.
    Bytes(Vec<u8>),
    /// Major type 3: a UTF-8 text string.
    Text(String),
    /// Major type 4: an array.
    Array(Vec<Value>),
    /// Major type 5: a map, kept in the order given (the encoder sorts keys).
    Map(Vec<(Value, Value)>),
    /// Major type 6: a tagged item.
    Tag(u64, Box<Value>),
    /// Simple values 20 and 21.
    Bool(bool),
    /// Simple value 22.
    Null,
}

impl Value {
    /// Builds a text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// Builds a signed integer value.
    pub fn int(i: i64) -> Value {
        if i >= 0 {
            Value::Unsigned(i as u64)
        } else {
            // -1 - i is in 0..=i64::MAX for negative i, so the cast is lossless.
            Value::Negative((-1 - i) as u64)
        }
    }

    /// Returns the text if this is a text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the bytes if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Returns the integer if this is an unsigned integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(n) => Some(*n),
            _ => None,
        }
    }

    /// Returns the integer if this is an integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Unsigned(n) => i64::try_from(*n).ok(),
            Value::Negative(n) => i64::try_from(*n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// Returns the items if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Returns the entries if this is a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up a map entry by key; `None` if this is not a map or the key is absent.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Looks up a map entry by text key.
    pub fn get_text_key(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Unsigned(_) | Value::Negative(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tagged item",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
        }
    }
}

/// Why a byte string is not accepted as deterministic CBOR.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ended inside a data item.
    #[error("cbor: unexpected end of input at byte {offset}")]
    Truncated {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// Bytes follow the single top-level data item.
    #[error("cbor: {count} trailing byte(s) after the data item at byte {offset}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// How many bytes trail.
        count: usize,
    },
    /// An integer, length or tag is not in its shortest form.
    #[error("cbor: non-shortest integer or length encoding at byte {offset}")]
    NotShortest {
        /// Offset of the item's initial byte.
        offset: usize,
    },
    /// An indefinite-length item was found.
    #[error("cbor: indefinite length at byte {offset}")]
    Indefinite {
        /// Offset of the item's initial byte.
        offset: usize,
    },
    /// A floating-point value was found; signed data never carries floats.
    #[error("cbor: floating-point value at byte {offset} (use integers, e.g. parts per million)")]
    Float {
        /// Offset of the item's initial byte.
        offset: usize,
    },
    /// A simple value other than false, true or null, or a reserved additional-information value.
    #[error("cbor: unsupported simple value or reserved encoding at byte {offset}")]
    Unsupported {
        /// Offset of the item's initial byte.
        offset: usize,
    },
    /// A text string is not valid UTF-8.
    #[error("cbor: text string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's initial byte.
        offset: usize,
    },
    /// Map keys are not in bytewise order of their encodings.
    #[error("cbor: map keys out of order at byte {offset}")]
    UnsortedKeys {
        /// Offset of the out-of-order key.
        offset: usize,
    },
    /// A map key appears twice.
    #[error("cbor: duplicate map key at byte {offset}")]
    DuplicateKey {
        /// Offset of the repeated key.
        offset: usize,
    },
    /// Nesting is deeper than the limit.
    #[error("cbor: nesting deeper than {max} at byte {offset}")]
    TooDeep {
        /// Offset of the item that exceeded the limit.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A length or count exceeds the limit or the remaining input.
    #[error("cbor: length {len} at byte {offset} exceeds {limit}")]
    TooLong {
        /// Offset of the item's initial byte.
        offset: usize,
        /// Declared length or count.
        len: u64,
        /// What it was checked against.
        limit: u64,
    },
    /// The input decoded, but does not re-encode to the same bytes.
    #[error("cbor: not in deterministic encoding (re-encoding differs)")]
    NotCanonical,
}

/// Bounds applied while decoding untrusted input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum nesting depth of arrays, maps and tags.
    pub max_depth: usize,
    /// Maximum number of items in one array or entries in one map.
    pub max_items: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_items: 1 << 20,
        }
    }
}

/// Encodes a value in deterministic CBOR.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode_into(value, &mut out);
    out
}

/// Appends the deterministic encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Unsigned(n) => head(out, 0, *n),
        Value::Negative(n) => head(out, 1, *n),
        Value::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(s) => {
            head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(entries) => {
            head(out, 5, entries.len() as u64);
            // Encode every key once into one buffer, then sort the entries by those bytes.
            let mut keys = Vec::new();
            let mut encoded: Vec<(std::ops::Range<usize>, &Value)> =
                Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let start = keys.len();
                encode_into(k, &mut keys);
                encoded.push((start..keys.len(), v));
            }
            encoded.sort_by(|a, b| keys[a.0.clone()].cmp(&keys[b.0.clone()]));
            for (k, v) in encoded {
                out.extend_from_slice(&keys[k]);
                encode_into(v, out);
            }
        }
        Value::Tag(tag, inner) => {
            head(out, 6, *tag);
            encode_into(inner, out);
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
    }
}

/// Writes an initial byte and argument in shortest form.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let mt = major << 5;
    if n < 24 {
        out.push(mt | n as u8);
    } else if n <= u8::MAX as u64 {
        out.extend_from_slice(&[mt | 24, n as u8]);
    } else if n <= u16::MAX as u64 {
        out.push(mt | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as u64 {
        out.push(mt | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Decodes exactly one deterministic CBOR data item with default limits.
///
/// # Errors
/// Any deviation from the deterministic profile, see [`CborError`].
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    decode_with(bytes, Limits::default())
}

/// Decodes exactly one deterministic CBOR data item with the given limits.
///
/// # Errors
/// Any deviation from the deterministic profile, see [`CborError`].
pub fn decode_with(bytes: &[u8], limits: Limits) -> Result<Value, CborError> {
    let mut d = Decoder {
        buf: bytes,
        pos: 0,
        limits,
    };
    let v = d.item(0)?;
    if d.pos != bytes.len() {
        return Err(CborError::TrailingBytes {
            offset: d.pos,
            count: bytes.len() - d.pos,
        });
    }
    Ok(v)
}

/// Decodes strictly, then confirms that re-encoding gives back the same bytes.
///
/// # Errors
/// As [`decode`], plus [`CborError::NotCanonical`] if the re-encoding differs.
pub fn decode_canonical(bytes: &[u8]) -> Result<Value, CborError> {
    let v = decode(bytes)?;
    if encode(&v) != bytes {
        return Err(CborError::NotCanonical);
    }
    Ok(v)
}

/// Most items an array or map reserves room for before its items are read: 4 KiB worth of
/// values. A count is only a claim by the input; room beyond this grows as items actually
/// decode, each taking at least one input byte, so nested containers that each declare a huge
/// count cost what their items cost, never what they declare (`specs/cbor.md`, "Limits").
const RESERVE_ITEMS: usize = 4096 / std::mem::size_of::<Value>();

#[derive(Clone, Debug)]
struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: Limits,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(CborError::Truncated {
                offset: self.buf.len(),
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads an initial byte and its argument; returns (major type, argument, start offset).
    fn head(&mut self) -> Result<(u8, u64, usize), CborError> {
        let start = self.pos;
        let ib = self.take(1)?[0];
        let major = ib >> 5;
        let info = ib & 0x1f;
        if major == 7 {
            return match info {
                20..=22 => Ok((7, info as u64, start)),
                25..=27 => Err(CborError::Float { offset: start }),
                31 => Err(CborError::Indefinite { offset: start }),
                _ => Err(CborError::Unsupported { offset: start }),
            };
        }
        let (n, min) = match info {
            0..=23 => return Ok((major, info as u64, start)),
            24 => (self.take(1)?[0] as u64, 24),
            25 => (be(self.take(2)?), 0x100),
            26 => (be(self.take(4)?), 0x1_0000),
            27 => (be(self.take(8)?), 0x1_0000_0000),
            31 => return Err(CborError::Indefinite { offset: start }),
            _ => return Err(CborError::Unsupported { offset: start }),
        };
        if n < min {
            return Err(CborError::NotShortest { offset: start });
        }
        Ok((major, n, start))
    }

    fn len(&self, n: u64, offset: usize, limit: u64) -> Result<usize, CborError> {
        if n > limit {
            return Err(CborError::TooLong {
                offset,
                len: n,
                limit,
            });
        }
        // n <= limit, and every limit used here is at most the input length or max_items (< 2^32).
        usize::try_from(n).map_err(|_| CborError::TooLong {
            offset,
            len: n,
            limit,
        })
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let (major, n, start) = self.head()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        match major {
            0 => Ok(Value::Unsigned(n)),
            1 => Ok(Value::Negative(n)),
            2 => {
                let l = self.len(n, start, remaining)?;
                Ok(Value::Bytes(self.take(l)?.to_vec()))
            }
            3 => {
                let l = self.len(n, start, remaining)?;
                let b = self.take(l)?;
                let s =
                    std::str::from_utf8(b).map_err(|_| CborError::InvalidUtf8 { offset: start })?;
                Ok(Value::Text(s.to_owned()))
            }
            4 => {
                self.check_depth(depth, start)?;
                // Every item takes at least one byte, so a count beyond the remaining input is a lie.
                let count = self.len(n, start, remaining.min(self.limits.max_items))?;
                let mut items = Vec::with_capacity(count.min(RESERVE_ITEMS));
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                self.check_depth(depth, start)?;
                let count = self.len(n, start, (remaining / 2).min(self.limits.max_items))?;
                let mut entries = Vec::with_capacity(count.min(RESERVE_ITEMS / 2));
                let mut prev_key: Option<&[u8]> = None;
                for _ in 0..count {
                    let key_start = self.pos;
                    let k = self.item(depth + 1)?;
                    let key_bytes = &self.buf[key_start..self.pos];
                    if let Some(prev) = prev_key {
                        match prev.cmp(key_bytes) {
                            std::cmp::Ordering::Less => {}
                            std::cmp::Ordering::Equal => {
                                return Err(CborError::DuplicateKey { offset: key_start });
                            }
                            std::cmp::Ordering::Greater => {
                                return Err(CborError::UnsortedKeys { offset: key_start });
                            }
                        }
                    }
                    prev_key = Some(key_bytes);
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            6 => {
                self.check_depth(depth, start)?;
                let inner = self.item(depth + 1)?;
                Ok(Value::Tag(n, Box::new(inner)))
            }
            _ => Ok(match n {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                _ => Value::Null,
            }),
        }
    }

    /// Walks one item with exactly the checks and errors of [`Decoder::item`], in the same
    /// order, building nothing: what [`validate_with`] runs.
    fn skip(&mut self, depth: usize) -> Result<(), CborError> {
        let (major, n, start) = self.head()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        match major {
            2 => {
                let l = self.len(n, start, remaining)?;
                self.take(l).map(|_| ())
            }
            3 => {
                let l = self.len(n, start, remaining)?;
                let b = self.take(l)?;
                std::str::from_utf8(b)
                    .map(|_| ())
                    .map_err(|_| CborError::InvalidUtf8 { offset: start })
            }
            4 => {
                self.check_depth(depth, start)?;
                let count = self.len(n, start, remaining.min(self.limits.max_items))?;
                for _ in 0..count {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            5 => {
                self.check_depth(depth, start)?;
                let count = self.len(n, start, (remaining / 2).min(self.limits.max_items))?;
                let mut prev_key: Option<&[u8]> = None;
                for _ in 0..count {
                    let key_start = self.pos;
                    self.skip(depth + 1)?;
                    let key_bytes = &self.buf[key_start..self.pos];
                    if let Some(prev) = prev_key {
                        match prev.cmp(key_bytes) {
                            std::cmp::Ordering::Less => {}
                            std::cmp::Ordering::Equal => {
                                return Err(CborError::DuplicateKey { offset: key_start });
                            }
                            std::cmp::Ordering::Greater => {
                                return Err(CborError::UnsortedKeys { offset: key_start });
                            }
                        }
                    }
                    prev_key = Some(key_bytes);
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            6 => {
                self.check_depth(depth, start)?;
                self.skip(depth + 1)
            }
            // Integers and simple values are complete with their head.
            _ => Ok(()),
        }
    }

    fn check_depth(&self, depth: usize, offset: usize) -> Result<(), CborError> {
        if depth >= self.limits.max_depth {
            return Err(CborError::TooDeep {
                offset,
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

impl fmt::Display for Value {
    /// CBOR diagnostic notation (RFC 8949 §8), for humans.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(n) => write!(f, "{n}"),
            Value::Negative(n) => write!(f, "-{}", *n as u128 + 1),
            Value::Bytes(b) => {
                f.write_str("h'")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                f.write_str("'")
            }
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Tag(t, inner) => write!(f, "{t}({inner})"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
        }
    }
}
