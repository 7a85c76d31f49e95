//! Reading the log as C2SP tlog-tiles: hash tiles at `/tile/<L>/<N>[.p/<W>]` and entry bundles
//! at `/tile/entries/<N>[.p/<W>]`, within the latest published checkpoint (`specs/service.md`,
//! "Reading the log").
//!
//! Tiles are computed from the stored nodes, never stored apart: the hash at position `i` of
//! tile `N` at level `L` is the stored complete-subtree node `(8 * L, 256 * N + i)`, and a tile
//! is one range read of the nodes table ([`crate::store::StoreRead::node_range`]). An entry of
//! an entry bundle is the 32-byte entry hash (the statement's SHA-256), so that it hashes to the
//! level-0 tile hash `SHA-256(0x00 || entry hash)`; statements are served at their own URL.

use hyper::Response;
use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, HeaderValue};

use super::problem::Problem;
use super::{Body, State, read, respond};
use crate::ledger::Ledger;
use crate::store::{Store as _, StoreError, StoreRead as _};

/// The height of a tile: each tile holds the nodes 8 levels above those of the tile below it.
pub const TILE_HEIGHT: u32 = 8;

/// The hashes (or entries) of a full tile: 2^[`TILE_HEIGHT`].
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The highest level a tile path may name (tlog-tiles: `<L>` is 0 to 63).
pub const MAX_LEVEL: u32 = 63;

/// The media type of tiles and entry bundles (tlog-tiles).
pub const TILE_CONTENT_TYPE: &str = "application/octet-stream";

/// `Cache-Control` of a full tile or entry bundle: its bytes never change.
pub const FULL_TILE_CACHE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of a partial tile or entry bundle: its bytes never change either, but the
/// tile is superseded by a wider one as the log grows, and tlog-tiles lets a log drop it once
/// the full tile exists.
pub const PARTIAL_TILE_CACHE: &str = "public, max-age=60";

/// `Cache-Control` of the checkpoint, which changes with every integration (tlog-tiles: no
/// caching beyond a few seconds), and of answers that may change once the log grows.
pub const NO_CACHE: &str = "no-cache";

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// A tile of Merkle tree hashes at this tile level (0 holds the leaf hashes).
    Hashes(u32),
    /// An entry bundle.
    Entries,
}

/// A parsed tile path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// The tile index `N` within its level.
    pub index: u64,
    /// The width of a partial tile, 1 to 255; `None` for a full tile.
    pub width: Option<u64>,
}

impl TilePath {
    /// The tile level whose nodes the tile holds (entry bundles go with level 0).
    fn level(&self) -> u32 {
        match self.kind {
            TileKind::Hashes(l) => l,
            TileKind::Entries => 0,
        }
    }

    /// The number of hashes or entries the tile holds.
    pub fn count(&self) -> u64 {
        self.width.unwrap_or(TILE_WIDTH)
    }

    /// The path as tlog-tiles writes it, without the leading `/`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut p = format!("tile/{level}/{}", encode_index(self.index));
        if let Some(w) = self.width {
            p.push_str(&format!(".p/{w}"));
        }
        p
    }
}

/// Encodes a tile index as tlog-tiles' zero-padded 3-digit path elements, all but the last
/// prefixed with `x`: 1234067 is `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Parses the path segments after `tile`, accepting only the one canonical spelling of each
/// tile, so that every tile has one URL (and one cache entry).
///
/// # Errors
/// What is wrong with which element, and the form expected.
pub fn parse_tile_path(segments: &[&str]) -> Result<TilePath, String> {
    let Some((first, rest)) = segments.split_first() else {
        return Err("a tile path needs a level and an index".into());
    };
    let kind = if *first == "entries" {
        TileKind::Entries
    } else {
        let level = parse_decimal(first)
            .filter(|l| *l <= u64::from(MAX_LEVEL))
            .ok_or_else(|| {
                format!(
                    "the level {first:?} is not a decimal from 0 to {MAX_LEVEL} without leading zeros (or `entries`)"
                )
            })?;
        TileKind::Hashes(level as u32)
    };
    // `<N>.p/<W>`: the last index element carries `.p`, and the width follows it.
    let (index_elements, width) = match rest {
        [elements @ .., last, w] if last.ends_with(".p") => {
            let width = parse_decimal(w)
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or_else(|| {
                    format!(
                        "the partial width {w:?} is not a decimal from 1 to {} without leading zeros (a full tile has no .p/ suffix)",
                        TILE_WIDTH - 1
                    )
                })?;
            let mut elements = elements.to_vec();
            elements.push(&last[..last.len() - 2]);
            (elements, Some(width))
        }
        elements => (elements.to_vec(), None),
    };
    let index = parse_index(&index_elements)?;
    Ok(TilePath { kind, index, width })
}

/// A decimal ASCII integer with no leading zeros (`0` itself is fine).
pub(super) fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// The tile index from its path elements: `x001/x234/067` is 1234067.
fn parse_index(elements: &[&str]) -> Result<u64, String> {
    let form = "the index is written as 3-digit path elements, all but the last prefixed with x (1234067 is x001/x234/067)";
    let Some((last, leading)) = elements.split_last() else {
        return Err(format!("the tile index is missing: {form}"));
    };
    let mut n: u64 = 0;
    for (i, e) in leading.iter().enumerate() {
        let digits = e
            .strip_prefix('x')
            .filter(|d| is_three_digits(d))
            .ok_or_else(|| format!("index element {e:?} is not x and 3 digits: {form}"))?;
        if i == 0 && digits == "000" {
            return Err(format!(
                "index element {e:?} is a leading zero group, which the one spelling of an index never has: {form}"
            ));
        }
        n = push_group(n, digits).ok_or_else(|| "the tile index is too large".to_owned())?;
    }
    if !is_three_digits(last) {
        return Err(format!("index element {last:?} is not 3 digits: {form}"));
    }
    push_group(n, last).ok_or_else(|| "the tile index is too large".to_owned())
}

fn is_three_digits(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())
}

fn push_group(n: u64, digits: &str) -> Option<u64> {
    n.checked_mul(1000)?.checked_add(digits.parse().ok()?)
}

/// The number of complete level-`8 * level` nodes in a tree of `size` leaves: the hashes the
/// tiles of that level hold, together.
fn hashes_at_level(size: u64, level: u32) -> u64 {
    let shift = level * TILE_HEIGHT;
    if shift >= u64::BITS { 0 } else { size >> shift }
}

/// The size of the tree the service publishes: its latest signed checkpoint's.
///
/// # Errors
/// 404 before the first checkpoint, 500 when the ledger cannot be read.
pub fn published_size<S: crate::store::StoreRead>(store: &S) -> Result<u64, Problem> {
    match store.latest_checkpoint() {
        Ok(Some(cp)) => Ok(cp.size),
        Ok(None) => Err(Problem::new(
            404,
            "Not Found",
            "the log has no signed checkpoint yet; one is signed with the first registration",
        )),
        Err(e) => Err(internal(&e)),
    }
}

fn internal(e: &StoreError) -> Problem {
    Problem::new(
        500,
        "Internal Server Error",
        format!("reading the ledger: {e}"),
    )
}

/// Checks that the tile lies within the published tree of `size` leaves.
fn check_within(tile: &TilePath, size: u64) -> Result<(), Problem> {
    let level = tile.level();
    let available = hashes_at_level(size, level);
    // In 128 bits, so that no index near 2^64 wraps into a tile that seems present.
    let start = u128::from(tile.index) * u128::from(TILE_WIDTH);
    if start + u128::from(tile.count()) <= u128::from(available) {
        return Ok(());
    }
    let what = match tile.kind {
        TileKind::Hashes(_) => format!("level {level} has {available} hashes"),
        TileKind::Entries => format!("the log has {available} entries"),
    };
    let here = if start < u128::from(available) {
        let rest = available - start as u64;
        let suggest = TilePath {
            width: (rest < TILE_WIDTH).then_some(rest),
            ..*tile
        };
        format!(
            "; this tile has {} of them: /{}",
            rest.min(TILE_WIDTH),
            suggest.path()
        )
    } else {
        String::new()
    };
    Err(Problem::new(
        404,
        "Not Found",
        format!(
            "/{} is beyond the published tree (size {size}): {what}{here}",
            tile.path()
        ),
    ))
}

/// The bytes of a tile of the published tree, read in one snapshot.
fn tile_bytes(ledger: &Ledger, tile: &TilePath) -> Result<Vec<u8>, Problem> {
    in_snapshot(ledger, |store| {
        let size = published_size(store)?;
        check_within(tile, size)?;
        let from = tile.index * TILE_WIDTH;
        let count = tile.count();
        match tile.kind {
            TileKind::Hashes(level) => {
                let nodes = store
                    .node_range(level * TILE_HEIGHT, from, count)
                    .map_err(|e| internal(&e))?;
                Ok(nodes.concat())
            }
            TileKind::Entries => {
                let hashes = store
                    .entry_hash_range(from, count)
                    .map_err(|e| internal(&e))?;
                let mut out = Vec::with_capacity(hashes.len() * 34);
                for h in hashes {
                    // tlog-tiles frames each entry with its length as a big-endian uint16.
                    out.extend_from_slice(&(h.len() as u16).to_be_bytes());
                    out.extend_from_slice(&h);
                }
                Ok(out)
            }
        }
    })
}

/// Runs `f` against one consistent snapshot of the ledger (the checkpoint and the nodes it
/// covers read together).
pub(super) fn in_snapshot<T>(
    ledger: &Ledger,
    f: impl FnOnce(&crate::store::LedgerStore) -> Result<T, Problem>,
) -> Result<T, Problem> {
    ledger
        .store()
        .read_snapshot(|store| Ok::<_, StoreError>(f(store)))
        .map_err(|e| internal(&e))?
}

/// `GET /tile/...`: a hash tile or an entry bundle, cached as tlog-tiles asks.
pub(super) async fn tile(state: &State, segments: &[&str]) -> Result<Response<Body>, Problem> {
    let tile = parse_tile_path(segments).map_err(|why| {
        Problem::new(
            400,
            "Malformed Tile Path",
            format!("/tile/{}: {why}", segments.join("/")),
        )
    })?;
    let bytes = match read(state, move |l| tile_bytes(l, &tile)).await {
        Ok(bytes) => bytes,
        Err(p) => return Ok(not_there_yet(&p)),
    };
    let mut r = respond(StatusCode::OK, TILE_CONTENT_TYPE, bytes);
    let cache = if tile.width.is_some() {
        PARTIAL_TILE_CACHE
    } else {
        FULL_TILE_CACHE
    };
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(r)
}

/// The answer to a read that failed: a `404` (a tile or statement beyond the published tree,
/// which appears once a checkpoint covers it) is marked so that no cache keeps it.
pub(super) fn not_there_yet(p: &Problem) -> Response<Body> {
    let r = super::problem_response(p);
    if p.status == 404 { no_cache(r) } else { r }
}

/// Marks an answer whose content changes as the log grows (the checkpoint, a tile not there
/// yet) so that no cache keeps it.
pub fn no_cache(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Result<TilePath, String> {
        let segments: Vec<&str> = p.split('/').collect();
        parse_tile_path(&segments)
    }

    #[test]
    fn indexes_are_encoded_as_tlog_tiles_writes_them() {
        for (n, s) in [
            (0, "000"),
            (5, "005"),
            (999, "999"),
            (1000, "x001/000"),
            (1_234_067, "x001/x234/067"),
            (u64::MAX, "x018/x446/x744/x073/x709/x551/615"),
        ] {
            assert_eq!(encode_index(n), s);
            assert_eq!(parse(&format!("0/{s}")).unwrap().index, n, "{s}");
        }
    }

    #[test]
    fn canonical_paths_parse() {
        assert_eq!(
            parse("2/x001/067.p/17"),
            Ok(TilePath {
                kind: TileKind::Hashes(2),
                index: 1067,
                width: Some(17)
            })
        );
        assert_eq!(
            parse("entries/001"),
            Ok(TilePath {
                kind: TileKind::Entries,
                index: 1,
                width: None
            })
        );
        assert_eq!(parse("63/000").unwrap().kind, TileKind::Hashes(63));
        for p in ["0/000", "1/x001/067.p/255", "entries/x002/000.p/1"] {
            assert_eq!(parse(p).unwrap().path(), format!("tile/{p}"));
        }
    }

    #[test]
    fn every_other_spelling_is_refused_with_the_element_named() {
        for (p, says) in [
            ("0/01", "\"01\" is not 3 digits"),
            ("0/x01", "\"x01\" is not 3 digits"),
            ("0/0001", "\"0001\" is not 3 digits"),
            ("0/001/002", "\"001\" is not x and 3 digits"),
            ("0/x000/001", "leading zero group"),
            ("0/x1a3/001", "\"x1a3\" is not x and 3 digits"),
            ("0", "index is missing"),
            ("0/", "\"\" is not 3 digits"),
            ("0/001.p/0", "partial width \"0\""),
            ("0/001.p/256", "partial width \"256\""),
            ("0/001.p/07", "partial width \"07\""),
            ("0/001.p/", "partial width \"\""),
            ("0/001.p", "\"001.p\" is not 3 digits"),
            ("64/000", "level \"64\""),
            ("01/000", "level \"01\""),
            ("-1/000", "level \"-1\""),
            ("Entries/000", "level \"Entries\""),
            ("0/x018/x446/x744/x073/x709/x551/616", "too large"),
            ("0/x999/x999/x999/x999/x999/x999/x999/999", "too large"),
        ] {
            let e = parse(p).expect_err(p);
            assert!(e.contains(says), "{p}: {e}");
        }
        assert!(parse_tile_path(&[]).is_err());
    }

    #[test]
    fn tiles_are_served_only_within_the_published_tree() {
        let t = |p: &str| parse(p).unwrap();
        // 300 leaves: level 0 has a full tile and 44 more hashes; level 1 has 1 hash.
        assert!(check_within(&t("0/000"), 300).is_ok());
        assert!(check_within(&t("0/001.p/44"), 300).is_ok());
        // Narrower partial tiles (those of earlier checkpoints) are within the tree too.
        assert!(check_within(&t("0/001.p/3"), 300).is_ok());
        assert!(check_within(&t("1/000.p/1"), 300).is_ok());
        assert!(check_within(&t("entries/001.p/44"), 300).is_ok());
        let e = check_within(&t("0/001"), 300).unwrap_err();
        assert_eq!(e.status, 404);
        assert!(
            e.detail
                .contains("level 0 has 300 hashes; this tile has 44 of them: /tile/0/001.p/44"),
            "{}",
            e.detail
        );
        let e = check_within(&t("0/001.p/45"), 300).unwrap_err();
        assert!(e.detail.contains("/tile/0/001.p/44"), "{}", e.detail);
        let e = check_within(&t("1/000.p/2"), 300).unwrap_err();
        assert!(e.detail.contains("level 1 has 1 hashes"), "{}", e.detail);
        assert!(check_within(&t("1/000"), 300).is_err());
        assert!(check_within(&t("2/000.p/1"), 300).is_err());
        assert!(check_within(&t("0/002.p/1"), 300).is_err());
        assert!(check_within(&t("63/000.p/1"), u64::MAX).is_err());
        let e = check_within(&t("entries/002.p/1"), 300).unwrap_err();
        assert!(e.detail.contains("the log has 300 entries"), "{}", e.detail);
        // 256 leaves: a full level-0 tile and a partial level-1 tile of width 1.
        assert!(check_within(&t("0/000"), 256).is_ok());
        assert!(check_within(&t("1/000.p/1"), 256).is_ok());
        // A huge index never overflows into a tile that seems present.
        assert!(check_within(&t("0/x018/x446/x744/x073/x709/x551/615"), u64::MAX).is_err());
        assert!(check_within(&t("0/x072/x057/x594/x037/x927/935"), u64::MAX).is_err());
        assert!(check_within(&t("0/x072/x057/x594/x037/x927/934"), u64::MAX).is_ok());
    }
}
