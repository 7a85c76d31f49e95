//! Folding text for matching (`specs/policy.md`, "How wording is matched"): invisible characters
//! dropped, compatibility forms and look-alikes mapped to ASCII, case and whitespace folded; and
//! whole-word containment and tokens over folded text.

/// Whether `c` is dropped by folding: zero-width and other invisible format characters
/// (a subset of Unicode's Default_Ignorable_Code_Point, listed in `specs/policy.md`).
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Cyrillic and Greek letters that look like Latin ones, and the Latin letter each folds to.
const LOOK_ALIKES: &[(char, char)] = &[
    // Cyrillic.
    ('а', 'a'),
    ('в', 'b'),
    ('е', 'e'),
    ('к', 'k'),
    ('м', 'm'),
    ('н', 'h'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('т', 't'),
    ('у', 'y'),
    ('х', 'x'),
    ('і', 'i'),
    ('ј', 'j'),
    ('ѕ', 's'),
    ('ԁ', 'd'),
    ('ӏ', 'l'),
    ('ԛ', 'q'),
    ('ԝ', 'w'),
    ('А', 'a'),
    ('В', 'b'),
    ('Е', 'e'),
    ('К', 'k'),
    ('М', 'm'),
    ('Н', 'h'),
    ('О', 'o'),
    ('Р', 'p'),
    ('С', 'c'),
    ('Т', 't'),
    ('У', 'y'),
    ('Х', 'x'),
    ('І', 'i'),
    ('Ј', 'j'),
    ('Ѕ', 's'),
    ('Ӏ', 'l'),
    // Greek.
    ('α', 'a'),
    ('ο', 'o'),
    ('ν', 'v'),
    ('ι', 'i'),
    ('κ', 'k'),
    ('ρ', 'p'),
    ('τ', 't'),
    ('υ', 'u'),
    ('χ', 'x'),
    ('Α', 'a'),
    ('Β', 'b'),
    ('Ε', 'e'),
    ('Ζ', 'z'),
    ('Η', 'h'),
    ('Ι', 'i'),
    ('Κ', 'k'),
    ('Μ', 'm'),
    ('Ν', 'n'),
    ('Ο', 'o'),
    ('Ρ', 'p'),
    ('Τ', 't'),
    ('Υ', 'y'),
    ('Χ', 'x'),
    // Latin letter-likes.
    ('ı', 'i'),
    ('ℓ', 'l'),
    ('Ⅰ', 'i'),
    ('ⅰ', 'i'),
    ('Ⅴ', 'v'),
    ('ⅴ', 'v'),
    ('Ⅹ', 'x'),
    ('ⅹ', 'x'),
];

/// Characters that fold to more than one ASCII character (ligatures, Roman numerals).
const EXPANSIONS: &[(char, &str)] = &[
    ('ﬀ', "ff"),
    ('ﬁ', "fi"),
    ('ﬂ', "fl"),
    ('ﬃ', "ffi"),
    ('ﬄ', "ffl"),
    ('Ⅱ', "ii"),
    ('Ⅲ', "iii"),
    ('Ⅳ', "iv"),
    ('Ⅵ', "vi"),
    ('Ⅶ', "vii"),
    ('Ⅷ', "viii"),
    ('Ⅸ', "ix"),
    ('ⅱ', "ii"),
    ('ⅲ', "iii"),
    ('ⅳ', "iv"),
    ('ⅵ', "vi"),
    ('ⅶ', "vii"),
    ('ⅷ', "viii"),
    ('ⅸ', "ix"),
];

/// One character folded to ASCII where a table says so; otherwise itself.
fn fold_char(c: char, out: &mut String) {
    let u = c as u32;
    let ascii = match u {
        // Fullwidth ASCII forms.
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
        // Mathematical alphanumeric letters: 13 alphabets of A-Z then a-z.
        0x1D400..=0x1D6A3 => {
            let i = (u - 0x1D400) % 52;
            char::from_u32(if i < 26 {
                'A' as u32 + i
            } else {
                'a' as u32 + i - 26
            })
        }
        // Mathematical digits: 5 sets of 0-9.
        0x1D7CE..=0x1D7FF => char::from_u32('0' as u32 + (u - 0x1D7CE) % 10),
        // Superscript and subscript digits.
        0x2070 => Some('0'),
        0x00B9 => Some('1'),
        0x00B2 => Some('2'),
        0x00B3 => Some('3'),
        0x2074..=0x2079 => char::from_u32('4' as u32 + u - 0x2074),
        0x2080..=0x2089 => char::from_u32('0' as u32 + u - 0x2080),
        // Hyphens, dashes and the minus sign.
        0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 => Some('-'),
        // Quotation marks and primes.
        0x2018 | 0x2019 | 0x201A | 0x201B | 0x2032 => Some('\''),
        0x201C | 0x201D | 0x201E | 0x201F | 0x2033 => Some('"'),
        // Fraction and division slashes.
        0x2044 | 0x2215 => Some('/'),
        _ => None,
    };
    if let Some(a) = ascii {
        out.extend(a.to_lowercase());
    } else if let Some((_, s)) = EXPANSIONS.iter().find(|(x, _)| *x == c) {
        out.push_str(s);
    } else if let Some((_, l)) = LOOK_ALIKES.iter().find(|(x, _)| *x == c) {
        out.push(*l);
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Folds text for matching: invisible characters dropped; compatibility forms, look-alikes,
/// dashes and quotes mapped to ASCII; lower case; every run of whitespace one space; trimmed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        fold_char(c, &mut out);
    }
    out
}

/// Whether folded `hay` contains folded `needle` as whole words: the match neither starts nor
/// ends inside a word (a letter or digit on both sides of its edge).
pub fn contains_words(hay: &str, needle: &str) -> bool {
    !word_starts(hay, needle).is_empty()
}

/// Where whole-word occurrences of `needle` start in `hay` (see [`contains_words`]).
pub(super) fn word_starts(hay: &str, needle: &str) -> Vec<usize> {
    if needle.is_empty() {
        return Vec::new();
    }
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    hay.match_indices(needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = hay[..at].chars().next_back();
            let after = hay[at + needle.len()..].chars().next();
            let splits_start = alnum(before) && alnum(needle.chars().next());
            let splits_end = alnum(after) && alnum(needle.chars().next_back());
            !splits_start && !splits_end
        })
        .collect()
}

/// Folded text split into words (runs of letters and digits) and single punctuation marks.
pub(super) fn tokens(folded: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in folded.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&folded[s..i]);
        }
        if !c.is_whitespace() {
            out.push(&folded[i..i + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        out.push(&folded[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{contains_words, fold};

    #[test]
    fn folding() {
        assert_eq!(fold("  Level\u{00A0}\u{00A0}2\t\n"), "level 2");
        assert_eq!(fold("Le\u{200B}vel 2"), "level 2");
        assert_eq!(fold("L\u{0435}vel 2"), "level 2"); // Cyrillic e
        assert_eq!(fold("ＬＥＶＥＬ ３"), "level 3"); // fullwidth
        assert_eq!(fold("𝐋𝐞𝐯𝐞𝐥 𝟑"), "level 3"); // mathematical bold
        assert_eq!(fold("ISO\u{2011}IEC 30107\u{2013}3"), "iso-iec 30107-3");
        assert_eq!(fold("Level Ⅲ"), "level iii");
        assert_eq!(fold("certiﬁed"), "certified");
        // Letters with diacritics are other letters, not look-alikes.
        assert_eq!(fold("Niveau É"), "niveau é");
    }

    #[test]
    fn whole_words() {
        assert!(contains_words("passed level 2 testing", "level 2"));
        assert!(!contains_words("passed level 20 testing", "level 2"));
        assert!(!contains_words("sublevel 2", "level 2"));
        assert!(contains_words("(level 2)", "level 2"));
        assert!(!contains_words("anything", ""));
    }
}
