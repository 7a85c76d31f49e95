//! Untrusted text made safe to print on a terminal.
//!
//! Everything a bundle or a ledger carries (statement issuers and subjects, evidence text,
//! certificate subjects, origins, file names) is attacker-chosen. Printed raw, a control sequence
//! in it can clear the screen, move the cursor and draw a fake report over the real one, and a
//! Unicode bidi control can reorder what the reader sees. Human output passes every such string
//! through [`escape`]; JSON output is escaped by its encoder instead.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as itself: a C0 control (U+0000–U+001F, newline and tab
/// included), DEL (U+007F), a C1 control (U+0080–U+009F), or a Unicode bidi control (U+061C,
/// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `s` with each unsafe character (see [`is_unsafe`]) written as `\u{HEX}`, lower-case hex
/// without leading zeros (`\u{1b}` for ESC, `\u{202e}` for RIGHT-TO-LEFT OVERRIDE); every other
/// character, backslash included, is kept. Newlines are escaped too: one value stays on one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A multi-line text of the program's own making, whose lines may hold untrusted values: each
/// line is escaped with [`escape`] and the lines are joined with the text's own newlines.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(escape).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_lines};

    #[test]
    fn controls_and_bidi_are_escaped_and_text_is_kept() {
        assert_eq!(
            escape("\u{1b}[2J\u{1b}[H VERIFIED"),
            "\\u{1b}[2J\\u{1b}[H VERIFIED"
        );
        assert_eq!(
            escape("a\u{202e}b\u{2066}c\u{61c}"),
            "a\\u{202e}b\\u{2066}c\\u{61c}"
        );
        assert_eq!(
            escape("\r\n\t\u{0}\u{7f}\u{85}\u{9b}"),
            "\\u{d}\\u{a}\\u{9}\\u{0}\\u{7f}\\u{85}\\u{9b}"
        );
        assert_eq!(escape("\u{200e}\u{200f}"), "\\u{200e}\\u{200f}");
        // Ordinary text, including non-Latin scripts and backslashes, is untouched.
        for s in [
            "Acme Biometrics GmbH",
            "Zürich – 指纹",
            "C:\\fw\\img",
            "\u{a0}\u{2065}\u{206a}",
        ] {
            assert_eq!(escape(s), s);
        }
    }

    #[test]
    fn escape_lines_keeps_only_the_texts_own_newlines() {
        assert_eq!(escape_lines("a\n\u{1b}c\n"), "a\n\\u{1b}c\n");
        assert_eq!(escape_lines("a\r\nb"), "a\\u{d}\nb");
    }
}
