//! Field types shared by the evidence kinds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time: Unix seconds (UTC). Input may be an integer or RFC 3339 text; payloads hold the integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Unix seconds or an RFC 3339 date-time such as 2026-03-01T12:00:00Z")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("time out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                crate::time::parse_rfc3339(v)
                    .map(Timestamp)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::time::format_rfc3339(self.0))
    }
}

macro_rules! hex32 {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, ": 32 bytes, written as 64 hex digits (lower case in payloads).")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&crate::hex::encode(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                crate::hex::decode_array(&s).map($name).ok_or_else(|| {
                    serde::de::Error::custom(concat!($what, " must be 64 hex digits"))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&crate::hex::encode(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

/// Defines a closed set of names as an enum that reads and writes exactly the given strings,
/// with `as_str()` and `Display` giving the same string back.
macro_rules! text_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)+
        }

        impl $name {
            /// The name as written in input and payloads.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

hex32!(Sha256Hex, "SHA-256 digest");
hex32!(EntryRef, "entry hash citing another ledger entry");

/// A rate in parts per million, rounded half up: `round(numerator * 1_000_000 / denominator)`.
///
/// Integer arithmetic only (u128, so no product can overflow); this is the one definition the
/// evidence kinds validate `apcer_ppm` and `bpcer_ppm` against and that policies reuse.
/// `None` if `denominator` is 0 or the result does not fit in a `u32`.
pub fn ppm(numerator: u64, denominator: u64) -> Option<u32> {
    u32::try_from(round_half_up(numerator, denominator, 1_000_000)?).ok()
}

/// A rate as a percentage with two decimals, rounded half up from the counts, e.g. `0.67%`.
///
/// Integer arithmetic only; `None` if `denominator` is 0.
pub fn percent(numerator: u64, denominator: u64) -> Option<String> {
    let hundredths = round_half_up(numerator, denominator, 10_000)?;
    Some(format!("{}.{:02}%", hundredths / 100, hundredths % 100))
}

/// `round(numerator * scale / denominator)`, halves rounded up, in u128.
fn round_half_up(numerator: u64, denominator: u64, scale: u64) -> Option<u128> {
    if denominator == 0 {
        return None;
    }
    let (n, d) = (
        u128::from(numerator) * u128::from(scale),
        u128::from(denominator),
    );
    // n < 2^84 and d < 2^64, so 2n + d cannot overflow u128.
    Some((2 * n + d) / (2 * d))
}

/// A BCP 47 (RFC 5646) tag's shape in its conventional case: a 2-3 letter lower-case language,
/// then subtags of 1-8 letters or digits: 4 letters a Title-case script, 2 letters an UPPER-case
/// region, others lower case; after a singleton (`x`, `u`, ...) everything is lower case.
/// Registry membership is not checked.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or_default();
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_lowercase()) {
        return false;
    }
    let mut extension = false;
    for sub in parts {
        if sub.is_empty() || sub.len() > 8 || !sub.chars().all(|c| c.is_ascii_alphanumeric()) {
            return false;
        }
        let letters = sub.chars().all(|c| c.is_ascii_alphabetic());
        let ok = if extension || sub.len() == 1 || !letters {
            sub.chars().all(|c| !c.is_ascii_uppercase())
        } else if sub.len() == 2 {
            sub.chars().all(|c| c.is_ascii_uppercase())
        } else if sub.len() == 4 {
            let mut cs = sub.chars();
            cs.next().is_some_and(|c| c.is_ascii_uppercase()) && cs.all(|c| c.is_ascii_lowercase())
        } else {
            sub.chars().all(|c| c.is_ascii_lowercase())
        };
        if !ok {
            return false;
        }
        extension |= sub.len() == 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{is_language_tag, percent, ppm};

    #[test]
    fn ppm_rounds_half_up() {
        assert_eq!(ppm(1, 150), Some(6667)); // 6666.67
        assert_eq!(ppm(14, 1500), Some(9333)); // 9333.33
        assert_eq!(ppm(1, 2_000_000), Some(1)); // 0.5 rounds up
        assert_eq!(ppm(1, 2_000_001), Some(0)); // just below 0.5
        assert_eq!(ppm(0, 7), Some(0));
        assert_eq!(ppm(7, 7), Some(1_000_000));
        assert_eq!(ppm(u64::MAX, u64::MAX), Some(1_000_000));
        assert_eq!(ppm(1, 0), None);
        assert_eq!(ppm(u64::MAX, 1), None);
    }

    #[test]
    fn percent_has_two_decimals() {
        assert_eq!(percent(1, 150).as_deref(), Some("0.67%"));
        assert_eq!(percent(0, 150).as_deref(), Some("0.00%"));
        assert_eq!(percent(150, 150).as_deref(), Some("100.00%"));
        assert_eq!(percent(1, 200).as_deref(), Some("0.50%"));
        assert_eq!(percent(1, 0), None);
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "de-DE",
            "zh-Hant-TW",
            "es-419",
            "sl-rozaj",
            "en-x-internal",
            "gsw",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "EN",
            "de-de",
            "de_DE",
            "en-",
            "english",
            "zh-hant",
            "de-DE-",
            "en-GB-toolongsubtag",
            "fr-x-AB",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
