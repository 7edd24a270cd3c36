//! Player and room names: what is allowed, and when two names count as the same.

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::safe_text::{is_bidi_control, is_zero_width};

/// Longest name, in characters (Unicode scalar values) after NFKC.
pub const MAX_NAME_CHARS: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("the name contains a control character")]
    ControlCharacter,
    #[error("the name contains a text-direction override")]
    BidiOverride,
    #[error("the name contains an invisible (zero-width) character")]
    ZeroWidth,
    #[error("the name contains a path separator (/ or \\)")]
    PathSeparator,
}

/// Checks a name and returns it in the form the server stores and shows: NFKC, with
/// surrounding whitespace trimmed.
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    let name: String = raw.nfkc().collect();
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    for c in name.chars() {
        if is_bidi_control(c) {
            return Err(NameError::BidiOverride);
        }
        // Joiners too (chat keeps them): in a name they only help make look-alikes.
        if is_zero_width(c) {
            return Err(NameError::ZeroWidth);
        }
        if c.is_control() {
            return Err(NameError::ControlCharacter);
        }
        if c == '/' || c == '\\' {
            return Err(NameError::PathSeparator);
        }
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(name.to_owned())
}

/// The key two names are compared by: NFKC, case-folded, NFKC again.
pub fn name_key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

/// Cuts text to at most `max` characters (never inside a character); for input fields.
pub fn truncate_chars(text: &mut String, max: usize) {
    if let Some((index, _)) = text.char_indices().nth(max) {
        text.truncate(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert_eq!(normalize_name("  홍현지 ").unwrap(), "홍현지");
        assert_eq!(normalize_name("Solhee_2").unwrap(), "Solhee_2");
        assert_eq!(normalize_name(&"가".repeat(24)).unwrap().chars().count(), 24);
    }

    #[test]
    fn applies_nfkc() {
        // Fullwidth letters and a compatibility ligature become their plain forms.
        assert_eq!(normalize_name("ＡＢＣ").unwrap(), "ABC");
        assert_eq!(normalize_name("ﬁsh").unwrap(), "fish");
        // Conjoining jamo compose to the precomposed syllable.
        assert_eq!(normalize_name("\u{1100}\u{1161}").unwrap(), "가");
    }

    #[test]
    fn rejects_each_rule_with_its_reason() {
        assert_eq!(normalize_name(""), Err(NameError::Empty));
        assert_eq!(normalize_name("   "), Err(NameError::Empty));
        assert_eq!(normalize_name(&"a".repeat(25)), Err(NameError::TooLong));
        assert_eq!(normalize_name(&"가".repeat(25)), Err(NameError::TooLong));
        assert_eq!(normalize_name("a\u{0}b"), Err(NameError::ControlCharacter));
        assert_eq!(normalize_name("a\nb"), Err(NameError::ControlCharacter));
        assert_eq!(normalize_name("evil\u{202E}gnp"), Err(NameError::BidiOverride));
        assert_eq!(normalize_name("a\u{2066}b"), Err(NameError::BidiOverride));
        assert_eq!(normalize_name("a\u{200B}b"), Err(NameError::ZeroWidth));
        assert_eq!(normalize_name("a\u{FEFF}"), Err(NameError::ZeroWidth));
        assert_eq!(normalize_name("a\u{200D}b"), Err(NameError::ZeroWidth), "ZWJ too");
        assert_eq!(normalize_name("a\u{200F}b"), Err(NameError::BidiOverride));
        assert_eq!(normalize_name("../etc"), Err(NameError::PathSeparator));
        assert_eq!(normalize_name("a\\b"), Err(NameError::PathSeparator));
    }

    #[test]
    fn length_counts_characters_after_nfkc() {
        // 24 fullwidth letters are 72 bytes but 24 characters.
        assert!(normalize_name(&"Ａ".repeat(24)).is_ok());
        // U+FDFA expands to 18 characters under NFKC: two of them exceed the limit.
        assert_eq!(normalize_name("\u{FDFA}\u{FDFA}"), Err(NameError::TooLong));
    }

    #[test]
    fn keys_ignore_case_and_compatibility_forms() {
        assert_eq!(name_key("Alice"), name_key("ALICE"));
        assert_eq!(name_key("ａｌｉｃｅ"), name_key("Alice"));
        assert_ne!(name_key("Alice"), name_key("Alicia"));
        // Precomposed 사과 and the same word in conjoining jamo are one name.
        assert_eq!(name_key("사과"), name_key("\u{1109}\u{1161}\u{1100}\u{116A}"));
        // Half-width katakana is a compatibility form of the full-width letter.
        assert_eq!(name_key("ｶ"), name_key("カ"));
    }

    #[test]
    fn truncates_by_character() {
        let mut s = "가나다라".to_string();
        truncate_chars(&mut s, 2);
        assert_eq!(s, "가나");
        let mut s = "ab".to_string();
        truncate_chars(&mut s, 5);
        assert_eq!(s, "ab");
    }
}
