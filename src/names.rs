//! Player and room names: what is allowed, and when two names count as the same.

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use unicode_normalization::char::is_combining_mark;

use crate::safe_text::{is_bidi_control, is_blank_filler, is_emoji, is_zero_width};

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
    #[error("the name shows nothing but marks")]
    NothingVisible,
}

/// Checks a name and returns it in the form the server stores and shows: NFKC, with
/// surrounding whitespace trimmed.
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    let name: String = raw.nfkc().collect();
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if is_bidi_control(c) {
            return Err(NameError::BidiOverride);
        }
        let after_emoji = i > 0 && (is_emoji(chars[i - 1]) || chars[i - 1] == '\u{FE0F}');
        let before_emoji = chars.get(i + 1).is_some_and(|&next| is_emoji(next));
        let in_emoji = match c {
            // A zero-width joiner between two emoji (a family, say) or U+FE0F after one.
            '\u{200D}' => after_emoji && before_emoji,
            '\u{FE0F}' => i > 0 && is_emoji(chars[i - 1]),
            _ => false,
        };
        // Other joiners and fillers (chat keeps some): in a name they only make look-alikes
        // and blank names.
        if (is_zero_width(c) || is_blank_filler(c)) && !in_emoji {
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
    if name.chars().all(|c| is_combining_mark(c) || c.is_whitespace()) {
        return Err(NameError::NothingVisible);
    }
    Ok(name.to_owned())
}

/// The key two names are compared by, so that names that look alike are one name: NFKC, upper
/// case, the UTS #39 confusable skeleton (Cyrillic "А" and Greek "Α" read as Latin "A"; "I",
/// "1" and "l" alike), lower case, and the skeleton again.
pub fn name_key(name: &str) -> String {
    // Upper case first: prototypes are mostly capitals (Cherokee "Ꭺ" is "A", but its small
    // form's is not "a"), and "I" and "l" then meet as "l".
    let upper = name.nfkc().collect::<String>().to_uppercase();
    let skeleton = unicode_security::skeleton(&upper)
        .collect::<String>()
        .to_lowercase();
    unicode_security::skeleton(&skeleton)
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

/// Cuts text to at most `max` characters (never inside a character); for input fields.
pub fn truncate_chars(text: &mut String, max: usize) {
    if let Some((index, _)) = text.char_indices().nth(max) {
        text.truncate(index);
    }
}

impl crate::i18n::Describe for NameError {
    fn describe(&self) -> String {
        match self {
            NameError::Empty => crate::t!("err-name-empty"),
            NameError::TooLong => crate::t!("err-name-too-long", max = MAX_NAME_CHARS as u64),
            NameError::ControlCharacter => crate::t!("err-name-control"),
            NameError::BidiOverride => crate::t!("err-name-bidi"),
            NameError::ZeroWidth => crate::t!("err-name-zero-width"),
            NameError::PathSeparator => crate::t!("err-name-path"),
            NameError::NothingVisible => crate::t!("err-name-invisible"),
        }
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
    fn look_alikes_share_a_key() {
        let alice = name_key("Alice");
        // Cyrillic А and а, Greek Α, Cherokee Ꭺ; digit one for l.
        for look_alike in [
            "\u{0410}lice",
            "Al\u{0456}ce",
            "\u{0391}lice",
            "\u{13AA}lice",
            "A1ice",
        ] {
            assert_eq!(name_key(look_alike), alice, "{look_alike}");
        }
        assert_eq!(
            name_key("l\u{043E}bby"),
            name_key("lobby"),
            "a room that reads lobby is the lobby"
        );
        assert_ne!(name_key("철수"), name_key("영희"));
        assert_ne!(name_key("사과"), name_key("사고"));
    }

    #[test]
    fn blank_and_filler_names_are_refused_but_emoji_sequences_are_names() {
        for blank in [
            "\u{3164}",
            "\u{FFA0}\u{FFA0}",
            "\u{115F}\u{1160}",
            "\u{2800}",
            "a\u{FE00}",
            "a\u{E0041}",
            "a\u{034F}b",
            "a\u{180B}",
            "\u{17B4}",
            "\u{2062}",
        ] {
            assert_eq!(normalize_name(blank), Err(NameError::ZeroWidth), "{blank:?}");
        }
        assert_eq!(normalize_name("\u{0301}\u{0308}"), Err(NameError::NothingVisible));
        // A family (man, woman, girl joined by ZWJ) and a red heart with its emoji selector.
        assert!(normalize_name("\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}").is_ok());
        assert!(normalize_name("I \u{2764}\u{FE0F} you").is_ok());
        assert_eq!(
            normalize_name("a\u{200D}b"),
            Err(NameError::ZeroWidth),
            "ZWJ outside emoji"
        );
        assert_eq!(
            normalize_name("\u{1F468}\u{200D}"),
            Err(NameError::ZeroWidth),
            "ZWJ at the end"
        );
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
