//! The witness state file: the latest checkpoint cosigned for each origin, replaced durably.
//!
//! ```text
//! evledger-witness-state/v1
//! <origin> <size> <base64 root>
//! ```
//! The header line, then one line per origin in ascending byte order of origins, every line
//! ending in a newline. An origin is a signed-note key name, so it holds no space. A new witness
//! has the header line alone. Parsing is strict: the text [`State::to_text`] writes is the only
//! one accepted for a given state.

use std::collections::BTreeMap;

// RFC 4648 §4 standard base64 with canonical padding.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::consistency::{parse_decimal, parse_hash};
use crate::merkle::RootHash;
use crate::note::check_name;

/// The first line of a state file.
pub const STATE_HEADER: &str = "evledger-witness-state/v1";

/// The latest cosigned (size, root) per origin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    latest: BTreeMap<String, RootHash>,
}

/// Why a state file does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct StateFormatError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl State {
    /// The latest checkpoint cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> Option<RootHash> {
        self.latest.get(origin).copied()
    }

    /// Every origin with its latest cosigned tree head, by origin.
    pub fn iter(&self) -> impl Iterator<Item = (&str, RootHash)> {
        self.latest.iter().map(|(o, h)| (o.as_str(), *h))
    }

    /// Records `head` as the latest cosigned for `origin` (the caller has checked it extends the
    /// previous one).
    pub(super) fn set(&mut self, origin: &str, head: RootHash) {
        self.latest.insert(origin.to_owned(), head);
    }

    /// The file's text (see the module docs).
    pub fn to_text(&self) -> String {
        let mut out = format!("{STATE_HEADER}\n");
        for (origin, head) in &self.latest {
            out.push_str(&format!(
                "{origin} {} {}\n",
                head.size,
                BASE64.encode(head.hash)
            ));
        }
        out
    }

    /// Parses a state file strictly.
    ///
    /// # Errors
    /// [`StateFormatError`] naming the first bad line.
    pub fn parse(text: &str) -> Result<State, StateFormatError> {
        let bad = |line, reason| StateFormatError { line, reason };
        let body = text
            .strip_suffix('\n')
            .ok_or(bad(text.split('\n').count(), "missing final newline"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(STATE_HEADER) {
            return Err(bad(1, "not an evledger-witness-state/v1 file"));
        }
        let mut latest: BTreeMap<String, RootHash> = BTreeMap::new();
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let mut fields = line.split(' ');
            let (Some(origin), Some(size), Some(root), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad(n, "expected <origin> <size> <base64 root>"));
            };
            check_name(origin).map_err(|_| bad(n, "origin is not a valid key name"))?;
            let size = parse_decimal(size).ok_or(bad(n, "size is not a canonical decimal"))?;
            let hash = parse_hash(root).ok_or(bad(n, "root is not base64 of 32 bytes"))?;
            if latest
                .keys()
                .next_back()
                .is_some_and(|last| last.as_str() >= origin)
            {
                return Err(bad(n, "origins are not in ascending order, or repeat"));
            }
            latest.insert(origin.to_owned(), RootHash::new(size, hash));
        }
        Ok(State { latest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = State::default();
        assert_eq!(s.to_text(), "evledger-witness-state/v1\n");
        assert_eq!(State::parse(&s.to_text()), Ok(s.clone()));
        s.set("b.example/log", RootHash::new(7, [2; 32]));
        s.set("a.example/log", RootHash::new(0, [1; 32]));
        let text = s.to_text();
        assert_eq!(
            text,
            format!(
                "evledger-witness-state/v1\na.example/log 0 {}\nb.example/log 7 {}\n",
                BASE64.encode([1u8; 32]),
                BASE64.encode([2u8; 32])
            )
        );
        assert_eq!(State::parse(&text), Ok(s.clone()));
        assert_eq!(s.latest("b.example/log"), Some(RootHash::new(7, [2; 32])));
        assert_eq!(s.latest("c"), None);
        assert_eq!(s.iter().count(), 2);
    }

    #[test]
    fn strict() {
        let root = BASE64.encode([1u8; 32]);
        for (text, line) in [
            ("".to_owned(), 1),
            ("evledger-witness-state/v1".to_owned(), 1),
            ("evledger-witness-state/v2\n".to_owned(), 1),
            (format!("evledger-witness-state/v1\na 1 {root}"), 2),
            (format!("evledger-witness-state/v1\na 01 {root}\n"), 2),
            (format!("evledger-witness-state/v1\na 1 {root} x\n"), 2),
            (format!("evledger-witness-state/v1\na+b 1 {root}\n"), 2),
            ("evledger-witness-state/v1\na 1 AAAA\n".to_owned(), 2),
            ("evledger-witness-state/v1\n\n".to_owned(), 2),
            (
                format!("evledger-witness-state/v1\nb 1 {root}\na 1 {root}\n"),
                3,
            ),
            (
                format!("evledger-witness-state/v1\na 1 {root}\na 2 {root}\n"),
                3,
            ),
        ] {
            assert_eq!(
                State::parse(&text).map_err(|e| e.line),
                Err(line),
                "{text:?}"
            );
        }
    }
}
