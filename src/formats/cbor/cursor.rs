//! Reading deterministic CBOR in place: [`validate_with`] checks an item without building it,
//! and a [`Cursor`] then reads its heads one at a time, borrowing strings from the input. The
//! bundle parser reads its fields this way, with no value tree (`specs/bundle.md`, "Parsing
//! cost").

use super::{CborError, Decoder, Limits, Value};

/// Checks that `bytes` are exactly one deterministic CBOR data item within `limits`, with the
/// same checks and errors, in the same order, as [`decode_with`], but allocating nothing: a
/// structure can then be read in place with a [`Cursor`] instead of through a [`Value`] tree.
///
/// # Errors
/// As [`decode_with`].
pub fn validate_with(bytes: &[u8], limits: Limits) -> Result<(), CborError> {
    let mut d = Decoder {
        buf: bytes,
        pos: 0,
        limits,
    };
    d.skip(0)?;
    if d.pos != bytes.len() {
        return Err(CborError::TrailingBytes {
            offset: d.pos,
            count: bytes.len() - d.pos,
        });
    }
    Ok(())
}

/// One item's head as a [`Cursor`] reads it: scalars and strings whole (strings borrowed from
/// the input), containers as their count, the items of which follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1, holding `-1 - n`.
    Negative(u64),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A text string.
    Text(&'a str),
    /// An array of this many items.
    Array(usize),
    /// A map of this many pairs.
    Map(usize),
    /// A tag; its content follows.
    Tag(u64),
    /// false, true or null.
    Simple(u8),
}

/// Reads deterministic CBOR in place, one head at a time, for structures read field by field
/// (bundles) after [`validate_with`] accepted the bytes. It checks lengths against the input
/// as it goes, so it never reads out of bounds even on bytes not validated, but it applies no
/// other rule: validate first.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    d: Decoder<'a>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor {
            d: Decoder {
                buf: bytes,
                pos: 0,
                limits: Limits {
                    max_depth: usize::MAX,
                    max_items: u64::MAX,
                },
            },
        }
    }

    /// The offset of the next head.
    pub fn position(&self) -> usize {
        self.d.pos
    }

    /// Reads the next head (and a string's content).
    ///
    /// # Errors
    /// [`CborError`] if the input ends or a string is not valid UTF-8.
    pub fn read(&mut self) -> Result<Item<'a>, CborError> {
        let (major, n, start) = self.d.head()?;
        let remaining = (self.d.buf.len() - self.d.pos) as u64;
        Ok(match major {
            0 => Item::Unsigned(n),
            1 => Item::Negative(n),
            2 => Item::Bytes(self.d.take(self.d.len(n, start, remaining)?)?),
            3 => {
                let b = self.d.take(self.d.len(n, start, remaining)?)?;
                Item::Text(
                    std::str::from_utf8(b).map_err(|_| CborError::InvalidUtf8 { offset: start })?,
                )
            }
            4 => Item::Array(self.d.len(n, start, remaining)?),
            5 => Item::Map(self.d.len(n, start, remaining / 2)?),
            6 => Item::Tag(n),
            // `head` yields major type 7 only for false (20), true (21) and null (22).
            _ => Item::Simple(n as u8),
        })
    }

    /// Skips one whole item, containers with everything in them.
    ///
    /// # Errors
    /// As [`Cursor::read`].
    pub fn skip(&mut self) -> Result<(), CborError> {
        self.d.skip(0)
    }

    /// Decodes the next whole item as a [`Value`] (for messages that show it).
    ///
    /// # Errors
    /// As [`Cursor::read`].
    pub fn value(&mut self) -> Result<Value, CborError> {
        self.d.item(0)
    }

    /// A cursor at `offset` of the same input (an offset this cursor reported).
    pub fn at(&self, offset: usize) -> Cursor<'a> {
        let mut c = self.clone();
        c.d.pos = offset.min(self.d.buf.len());
        c
    }
}
