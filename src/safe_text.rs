//! The one table of characters that can hide or reorder text, shared by names, chat and
//! guesses so the three cannot disagree about what is invisible.

/// Every bidirectional control: the embeddings and overrides (U+202A..=U+202E), the
/// isolates (U+2066..=U+2069) and the marks (LRM U+200E, RLM U+200F, Arabic letter mark
/// U+061C). Any of them can make text display in an order other than it was typed.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that take no space: ZWSP U+200B, the joiners ZWNJ U+200C and ZWJ U+200D (see
/// [`is_joiner`]), word joiner and invisible operators U+2060..=U+2064, BOM / ZWNBSP U+FEFF,
/// Mongolian vowel separator U+180E and soft hyphen U+00AD.
pub fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

/// ZWNJ U+200C and ZWJ U+200D: zero-width, but emoji sequences and some scripts need them,
/// so chat keeps them (names still refuse them).
pub fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Characters that show nothing and are not spaces, a classic way to make a blank name or one
/// that reads like another: the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the braille
/// blank U+2800, the combining grapheme joiner U+034F, the Mongolian free variation selectors
/// U+180B..=U+180F, the Khmer inherent vowels U+17B4 and U+17B5, the tag characters
/// U+E0000..=U+E007F and the variation selectors U+FE00..=U+FE0F and U+E0100..=U+E01EF (an
/// emoji's presentation selector U+FE0F is allowed right after an emoji, see [`is_emoji`]).
pub fn is_blank_filler(c: char) -> bool {
    matches!(
        c,
        '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{2800}'
            | '\u{034F}'
            | '\u{180B}'..='\u{180F}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Pictographs that join into emoji sequences (an approximation of Unicode's
/// Extended_Pictographic by its blocks, skin-tone modifiers included), so a zero-width joiner
/// or U+FE0F between or after them is part of one emoji, not a hiding place.
pub fn is_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{00A9}'
            | '\u{00AE}'
            | '\u{203C}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2194}'..='\u{21AA}'
            | '\u{231A}'..='\u{23FF}'
            | '\u{24C2}'
            | '\u{25AA}'..='\u{27BF}'
            | '\u{2934}'
            | '\u{2935}'
            | '\u{2B05}'..='\u{2B55}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{3297}'
            | '\u{3299}'
            | '\u{1F000}'..='\u{1FAFF}'
    )
}

/// Whether a character is a bidi control, zero-width (joiners included) or a blank filler.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c) || is_zero_width(c) || is_blank_filler(c)
}

/// What chat keeps of one character: line breaks and tabs become a space (a message is one
/// line), bidi controls, other control characters, zero-width characters other than the
/// joiners and blank fillers are dropped, and everything else is kept.
pub fn clean_chat_char(c: char) -> Option<char> {
    match c {
        '\n' | '\r' | '\t' => Some(' '),
        c if is_bidi_control(c) || c.is_control() => None,
        c if is_zero_width(c) && !is_joiner(c) => None,
        // Fillers go; U+FE0F stays (emoji need it, and alone it shows nothing).
        c if is_blank_filler(c) && c != '\u{FE0F}' => None,
        c => Some(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_include_the_marks() {
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_bidi_control(c), "U+{:04X}", c as u32);
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in ['a', '가', '\u{2029}', '\u{2065}', '\u{200D}'] {
            assert!(!is_bidi_control(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn zero_width_characters_and_joiners() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{2064}', '\u{FEFF}', '\u{180E}', '\u{00AD}',
        ] {
            assert!(is_zero_width(c), "U+{:04X}", c as u32);
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in ['a', ' ', '\u{200E}', '\u{2065}'] {
            assert!(!is_zero_width(c), "U+{:04X}", c as u32);
        }
        assert!(is_joiner('\u{200C}') && is_joiner('\u{200D}'));
        assert!(!is_joiner('\u{200B}') && !is_joiner('\u{2060}'));
    }

    #[test]
    fn blank_fillers_are_invisible_and_chat_drops_them_but_keeps_emoji_selectors() {
        for c in [
            '\u{3164}',
            '\u{FFA0}',
            '\u{115F}',
            '\u{1160}',
            '\u{2800}',
            '\u{034F}',
            '\u{E0041}',
            '\u{FE00}',
        ] {
            assert!(is_blank_filler(c) && is_invisible(c), "U+{:04X}", c as u32);
            assert_eq!(clean_chat_char(c), None, "U+{:04X}", c as u32);
        }
        assert_eq!(clean_chat_char('\u{FE0F}'), Some('\u{FE0F}'));
        assert!(is_emoji('\u{1F468}') && is_emoji('\u{2764}') && !is_emoji('가') && !is_emoji('a'));
    }

    #[test]
    fn ordinary_text_is_visible() {
        for c in ['a', 'Z', '사', 'ㄱ', '!', ' ', '😀'] {
            assert!(!is_invisible(c), "{c}");
        }
    }

    #[test]
    fn chat_keeps_text_and_joiners_and_drops_the_rest() {
        assert_eq!(clean_chat_char('a'), Some('a'));
        assert_eq!(clean_chat_char('사'), Some('사'));
        assert_eq!(clean_chat_char(' '), Some(' '));
        for c in ['\n', '\r', '\t'] {
            assert_eq!(clean_chat_char(c), Some(' '));
        }
        assert_eq!(clean_chat_char('\u{200D}'), Some('\u{200D}'), "ZWJ is kept");
        assert_eq!(clean_chat_char('\u{200C}'), Some('\u{200C}'), "ZWNJ is kept");
        for c in [
            '\u{0}', '\u{7}', '\u{1B}', '\u{7F}', '\u{85}', '\u{202E}', '\u{2066}', '\u{200E}', '\u{200F}',
            '\u{061C}', '\u{200B}', '\u{2060}', '\u{FEFF}', '\u{180E}', '\u{00AD}',
        ] {
            assert_eq!(clean_chat_char(c), None, "U+{:04X}", c as u32);
        }
        // A family emoji keeps its joiners, so it stays one picture.
        let family = "👨\u{200D}👩\u{200D}👧";
        let cleaned: String = family.chars().filter_map(clean_chat_char).collect();
        assert_eq!(cleaned, family);
    }
}
