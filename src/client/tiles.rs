//! Reading a log through C2SP tlog-tiles: tile paths, entry bundles, and the tree's nodes read
//! from hash tiles ([`Tiles`], a [`NodeSource`]).
//!
//! A hash tile at level `L` and index `N` holds the hashes of tree level `8·L`, nodes
//! `256·N .. 256·N + W`, 32 bytes each; it is full at `W = 256`, partial (`.p/W`) at the right
//! edge of a tree. An entry bundle (`/tile/entries/N`) holds entries `256·N ..`, each a
//! big-endian 16-bit length and that many bytes; an evledger entry is the 32-byte entry hash,
//! whose RFC 9162 leaf hash is the level-0 tile hash (`specs/service.md`, "Clients").

use std::cell::RefCell;
use std::collections::HashMap;

use super::http::{BaseUrl, Client, ClientError};
use crate::merkle::{Hash, NodeSource, node_hash};

/// Hashes (or entries) per full tile: tlog-tiles' tile height 8.
pub const TILE_WIDTH: u64 = 256;

/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;

/// The largest hash tile: 256 hashes.
const MAX_HASH_TILE: usize = 256 * 32;

/// The largest entry bundle read: 256 entries of the largest size tlog-tiles allows.
const MAX_ENTRY_BUNDLE: usize = 256 * (2 + u16::MAX as usize);

/// Why a tile could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// No answer.
    #[error(transparent)]
    Http(#[from] ClientError),
    /// An answer other than the tile.
    #[error("GET {url}: {answer}")]
    Status {
        /// The tile's URL.
        url: String,
        /// The status and what the service said.
        answer: String,
    },
    /// The tile is not what tlog-tiles says it is.
    #[error("{url}: {reason}")]
    Malformed {
        /// The tile's URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The `<N>` of a tile path: groups of three digits, all but the last prefixed with `x`
/// (1234067 is `x001/x234/067`).
pub fn encode_index(n: u64) -> String {
    let digits = format!("{n:03}");
    let pad = (3 - digits.len() % 3) % 3;
    let digits = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(3)
        // Every chunk is three ASCII digits.
        .map(|c| std::str::from_utf8(c).unwrap_or("000"))
        .collect();
    // `digits` has at least three characters, so there is at least one group.
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The path of tile `index` at tile level `level` (`entries` for the entry bundles) holding
/// `width` items: `/tile/<L>/<N>` when full, `/tile/<L>/<N>.p/<W>` when partial.
pub fn tile_path(level: &str, index: u64, width: u64) -> String {
    let mut p = format!("/tile/{level}/{}", encode_index(index));
    if width < TILE_WIDTH {
        p.push_str(&format!(".p/{width}"));
    }
    p
}

/// How many items tile `index` of a level holding `count` items has (0 when none).
pub fn tile_width(count: u64, index: u64) -> u64 {
    count
        .saturating_sub(index.saturating_mul(TILE_WIDTH))
        .min(TILE_WIDTH)
}

/// Splits an entry bundle into its entries, which must number `expected`.
///
/// # Errors
/// A reason when a length prefix runs past the end or the count is not `expected`.
pub fn parse_entry_bundle(bytes: &[u8], expected: u64) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(format!(
                "entry {}: a length prefix of 1 byte, not 2",
                out.len()
            ));
        };
        let len = u16::from_be_bytes([*a, *b]) as usize;
        if tail.len() < len {
            return Err(format!(
                "entry {}: {len} bytes announced, {} left",
                out.len(),
                tail.len()
            ));
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    if out.len() as u64 != expected {
        return Err(format!("{} entries, expected {expected}", out.len()));
    }
    Ok(out)
}

/// The tree of a log at one size, read from its hash tiles over HTTP, fetched once each.
///
/// Nodes at levels that are multiples of 8 are read from tiles; the others are hashed from the
/// level below, as tlog-tiles intends. Nothing here is trusted: roots and proofs computed from
/// it are checked against signed checkpoints by the caller.
pub struct Tiles<'a> {
    client: &'a Client,
    base: &'a BaseUrl,
    size: u64,
    cache: RefCell<HashMap<(u32, u64), Vec<Hash>>>,
}

impl<'a> Tiles<'a> {
    /// The tree of `size` leaves served at `base`.
    pub fn new(client: &'a Client, base: &'a BaseUrl, size: u64) -> Tiles<'a> {
        Tiles {
            client,
            base,
            size,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Fetches the body of tile `path`, falling back to the full tile when a partial one is
    /// gone (tlog-tiles lets a log delete partial tiles once the full tile exists).
    fn fetch(&self, level: &str, index: u64, width: u64, max: usize) -> Result<Vec<u8>, TileError> {
        let path = tile_path(level, index, width);
        let r = self.client.get(self.base, &path, max)?;
        if r.status == 200 {
            return Ok(r.body);
        }
        if r.status == 404 && width < TILE_WIDTH {
            let full = tile_path(level, index, TILE_WIDTH);
            let f = self.client.get(self.base, &full, max)?;
            if f.status == 200 {
                return Ok(f.body);
            }
        }
        Err(TileError::Status {
            url: self.base.url(&path),
            answer: r.describe(),
        })
    }

    /// The `width` entries of entry bundle `index`, of a log of this size; a full bundle
    /// served for a partial request is cut to `width`.
    ///
    /// # Errors
    /// [`TileError`] if it cannot be fetched or parsed.
    pub fn entries(&self, index: u64) -> Result<Vec<Vec<u8>>, TileError> {
        let width = tile_width(self.size, index);
        let body = self.fetch("entries", index, width, MAX_ENTRY_BUNDLE)?;
        let url = self.base.url(&tile_path("entries", index, width));
        let all = parse_entry_bundle(&body, width)
            .or_else(|e| match parse_entry_bundle(&body, TILE_WIDTH) {
                Ok(full) if width < TILE_WIDTH => Ok(full),
                _ => Err(e),
            })
            .map_err(|reason| TileError::Malformed { url, reason })?;
        Ok(all
            .into_iter()
            .take(width as usize)
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// Hash `pos` of hash tile `(tile_level, index)`.
    fn tile_hash(&self, tile_level: u32, index: u64, pos: u64) -> Result<Hash, TileError> {
        let key = (tile_level, index);
        if let Some(t) = self.cache.borrow().get(&key)
            && let Some(h) = t.get(pos as usize)
        {
            return Ok(*h);
        }
        let level = tile_level * TILE_HEIGHT;
        let count = if level >= u64::BITS {
            0
        } else {
            self.size >> level
        };
        let width = tile_width(count, index);
        let path = tile_path(&tile_level.to_string(), index, width);
        let malformed = |reason: String| TileError::Malformed {
            url: self.base.url(&path),
            reason,
        };
        if pos >= width {
            return Err(malformed(format!(
                "node {pos} of this tile is not complete in a tree of {} leaves",
                self.size
            )));
        }
        let body = self.fetch(&tile_level.to_string(), index, width, MAX_HASH_TILE)?;
        if body.len() % 32 != 0 || (body.len() as u64) < width * 32 {
            return Err(malformed(format!(
                "{} bytes: not {width} hashes of 32 bytes",
                body.len()
            )));
        }
        let hashes: Vec<Hash> = body
            .chunks_exact(32)
            .take(width as usize)
            // chunks_exact gives 32-byte slices.
            .map(|c| <Hash>::try_from(c).unwrap_or([0; 32]))
            .collect();
        // `pos < width` was checked above, and `hashes` holds `width` hashes.
        let h = hashes[pos as usize];
        self.cache.borrow_mut().insert(key, hashes);
        Ok(h)
    }
}

impl NodeSource for Tiles<'_> {
    type Error = TileError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, TileError> {
        if level.is_multiple_of(TILE_HEIGHT) {
            return self.tile_hash(level / TILE_HEIGHT, index / TILE_WIDTH, index % TILE_WIDTH);
        }
        let left = self.node(level - 1, index * 2)?;
        let right = self.node(level - 1, index * 2 + 1)?;
        Ok(node_hash(&left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_indexes_are_encoded_as_the_spec_says() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(7), "007");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(tile_path("0", 1234067, 256), "/tile/0/x001/x234/067");
        assert_eq!(tile_path("entries", 3, 17), "/tile/entries/003.p/17");
    }

    #[test]
    fn widths_at_the_right_edge() {
        assert_eq!(tile_width(300, 0), 256);
        assert_eq!(tile_width(300, 1), 44);
        assert_eq!(tile_width(300, 2), 0);
        assert_eq!(tile_width(256, 1), 0);
    }

    #[test]
    fn entry_bundles_parse_strictly() {
        let bundle = [&[0u8, 2, 9, 9][..], &[0, 0], &[0, 1, 7]].concat();
        let e = parse_entry_bundle(&bundle, 3).unwrap();
        assert_eq!(e, vec![&[9u8, 9][..], &[], &[7]]);
        assert!(
            parse_entry_bundle(&bundle, 2)
                .unwrap_err()
                .contains("expected 2")
        );
        assert!(
            parse_entry_bundle(&[0, 5, 1], 1)
                .unwrap_err()
                .contains("5 bytes announced")
        );
        assert!(parse_entry_bundle(&[0], 1).unwrap_err().contains("1 byte"));
    }
}
