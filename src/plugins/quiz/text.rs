//! Comparing guesses with the word: normalisation, "close" guesses (Hangul compared on its
//! jamo), the drawer's leak guard (with look-alike letters mapped to one skeleton), and the
//! hints guessers see.

use unicode_normalization::UnicodeNormalization;

use crate::safe_text::is_invisible;

/// What a guess is compared as: NFKC, case-folded, without spaces or invisible characters
/// (and composed again, so jamo typed with spaces between, ㅅ ㅏ ㄱ ㅘ, read as 사과).
pub fn normalize(text: &str) -> String {
    let folded: String = text.nfkc().collect::<String>().to_lowercase();
    folded
        .nfkc()
        .filter(|c| !c.is_whitespace() && !is_invisible(*c))
        .collect::<String>()
        .nfc()
        .collect()
}

/// What a guess is compared as: [`normalize`]d, letters and digits only (so 사과? and 사과!
/// guess 사과).
pub fn guess_key(text: &str) -> String {
    normalize(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Whether `message` is a guess of `word` (see [`guess_key`]).
pub fn is_guess_of(message: &str, word: &str) -> bool {
    let key = guess_key(word);
    match key.is_empty() {
        true => normalize(message) == normalize(word),
        false => guess_key(message) == key,
    }
}

/// Hangul syllables split into their jamo (NFD), so 사과 and 사가 differ by one letter.
fn letters(normalized: &str) -> String {
    normalized.nfd().collect()
}

/// One letter added, removed or changed, or two neighbours swapped (not equal): an
/// optimal-string-alignment distance of one. A guess of a single letter is never close: it
/// would tell which letters a short word has.
pub fn is_close(guess: &str, word: &str) -> bool {
    let (a, b) = (letters(&normalize(guess)), letters(&normalize(word)));
    a != b && a.chars().count() >= 2 && strsim::osa_distance(&a, &b) <= 1
}

/// The drawer's leak guard: whether `message` contains the word, after normalising, mapping
/// look-alike characters (a Cyrillic а for a Latin a) to one skeleton and dropping
/// punctuation (so a.p.p.l.e is caught too).
pub fn leaks(message: &str, word: &str) -> bool {
    let skeleton = |text: &str| -> String {
        unicode_security::skeleton(&normalize(text))
            .collect::<String>()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let word = skeleton(word);
    !word.is_empty() && skeleton(message).contains(&word)
}

/// Whether a message contains the word without being it (both normalised). A word of one
/// letter or syllable counts only at the start of a word of the message (게야? and 게 맞지
/// contain 게; 어떻게 does not), so ordinary chat is not withheld for it.
pub fn contains_word(message: &str, word: &str) -> bool {
    let (normalized, word) = (normalize(message), normalize(word));
    if word.is_empty() || normalized == word {
        return false;
    }
    if word.chars().count() >= 2 {
        return normalized.contains(&word);
    }
    message
        .split(|c: char| !c.is_alphanumeric())
        .any(|token| normalize(token).starts_with(&word))
}

/// A pack's words, normalised once, to tell how many of them a message names.
#[derive(Debug, Clone, Default)]
pub struct PackWords {
    /// Normalised, sorted.
    words: Vec<String>,
    /// Their guess keys, sorted.
    keys: Vec<String>,
}

impl PackWords {
    pub fn new(words: &[String]) -> Self {
        let sorted = |mut list: Vec<String>| {
            list.retain(|w| !w.is_empty());
            list.sort();
            list.dedup();
            list
        };
        Self {
            words: sorted(words.iter().map(|w| normalize(w)).collect()),
            keys: sorted(words.iter().map(|w| guess_key(w)).collect()),
        }
    }

    /// Whether `message` is a guess of one of the pack's words.
    pub fn is_a_guess(&self, message: &str) -> bool {
        self.keys.binary_search(&guess_key(message)).is_ok()
    }

    /// How many of the pack's words `message` names, by [`contains_word`]'s rule (and as a
    /// whole), not counting a word found only inside a longer one found (사과 names 사과, not
    /// also 사).
    pub fn named_in(&self, message: &str) -> usize {
        let normalized = normalize(message);
        let tokens: Vec<String> = message
            .split(|c: char| !c.is_alphanumeric())
            .map(normalize)
            .filter(|t| !t.is_empty())
            .collect();
        let found: Vec<&str> = self
            .words
            .iter()
            .filter(|w| match w.chars().count() {
                1 => tokens.iter().any(|t| t.starts_with(w.as_str())),
                _ => normalized.contains(w.as_str()),
            })
            .map(String::as_str)
            .collect();
        found
            .iter()
            .filter(|w| {
                !found
                    .iter()
                    .any(|other| other.len() > w.len() && other.contains(*w))
            })
            .count()
    }
}

/// Hangul compatibility jamo for the 19 initial consonants, in syllable order.
const CHOSEONG: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ', 'ㅌ',
    'ㅍ', 'ㅎ',
];

fn is_hangul_syllable(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// The initial consonant (초성) of a Hangul syllable.
pub fn initial_consonant(c: char) -> Option<char> {
    is_hangul_syllable(c).then(|| CHOSEONG[(c as u32 - 0xAC00) as usize / 588])
}

/// Whether hints for this word are Korean-style (초성, then a syllable).
pub fn is_korean(word: &str) -> bool {
    word.chars().any(is_hangul_syllable)
}

/// What a guesser sees of the word: `_` per letter or syllable, spaces and punctuation kept
/// (yo-yo shows `_ _ - _ _`), and the hints given so far (initial consonants; revealed
/// positions).
pub fn masked(word: &str, initials: bool, revealed: &[usize]) -> String {
    word.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_whitespace() {
                ' '
            } else if !c.is_alphanumeric() || revealed.contains(&i) {
                c
            } else if initials && let Some(initial) = initial_consonant(c) {
                initial
            } else {
                '_'
            }
        })
        .collect::<Vec<char>>()
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many letters other scripts reveal over a turn, by word length.
pub fn letter_hints(word: &str) -> usize {
    match word.chars().filter(|c| c.is_alphanumeric()).count() {
        0..=2 => 0,
        3..=4 => 1,
        5..=9 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_are_normalised() {
        assert_eq!(normalize(" Ice\u{200B} Cream "), "icecream");
        assert_eq!(normalize("ＡＰＰＬＥ"), "apple");
        assert_eq!(normalize("사 과"), "사과");
        assert_eq!(
            normalize("\u{1109}\u{1161}\u{1100}\u{116A}"),
            "사과",
            "conjoining jamo compose"
        );
        assert_eq!(
            normalize("ㅅ ㅏ ㄱ ㅘ"),
            "사과",
            "spaced compatibility jamo compose"
        );
    }

    #[test]
    fn short_words_are_contained_only_at_the_start_of_a_word() {
        assert!(contains_word("이건 사과야", "사과"));
        assert!(contains_word("사과인가?", "사과"));
        assert!(!contains_word("사과", "사과"), "the word itself is a guess");
        assert!(contains_word("게야?", "게"));
        assert!(contains_word("음 게 맞지", "게"));
        assert!(!contains_word("어떻게?", "게"), "ordinary chat is not withheld");
        let pack = PackWords::new(&["사과".into(), "사".into(), "바나나".into(), "게".into()]);
        assert_eq!(pack.named_in("사과"), 1, "a word, not also the word inside it");
        assert_eq!(pack.named_in("사과 맞지?"), 1);
        assert_eq!(pack.named_in("사과 바나나"), 2);
        assert_eq!(
            pack.named_in("바 나 나, 게야?"),
            2,
            "spaced out and one syllable at a word's start"
        );
        assert_eq!(pack.named_in("어떻게 그려?"), 0);
        assert!(pack.is_a_guess("바나나?") && pack.is_a_guess(" 사 과! ") && !pack.is_a_guess("사과 맞지"));
        assert!(is_guess_of("Apple!", "apple") && !is_guess_of("apples", "apple"));
        assert!(!contains_word("hi there", "e"));
        assert!(contains_word("is it a cat?", "cat"));
    }

    #[test]
    fn close_means_one_edit_or_one_swap() {
        assert!(is_close("aple", "apple"));
        assert!(is_close("applle", "apple"));
        assert!(is_close("appel", "apple"));
        assert!(is_close("apole", "apple"));
        assert!(!is_close("apple", "apple"), "equal is correct, not close");
        assert!(!is_close("banana", "apple"));
        assert!(is_close("paple", "apple"), "neighbours swapped");
        assert!(!is_close("elppa", "apple"));
        assert!(is_close("사가", "사과"), "one jamo changed (ㅘ to ㅏ)");
        assert!(is_close("바니나", "바나나"), "ㅣ for ㅏ");
        assert!(!is_close("사과", "사과 "), "equal after normalising is not close");
        assert!(
            !is_close("사과과", "사과"),
            "a whole syllable is two or three letters"
        );
        assert!(!is_close("포도", "사과"));
        assert!(!is_close("ㄱ", "게"), "a single letter tells nothing back");
        assert!(is_close("개", "게"));
    }

    #[test]
    fn the_leak_guard_sees_through_case_spaces_invisibles_and_look_alikes() {
        assert!(leaks("it's an APPLE!", "apple"));
        assert!(leaks("a p p l e", "apple"));
        assert!(leaks("app\u{200B}le", "apple"));
        assert!(leaks("\u{0430}pple", "apple"), "Cyrillic а");
        assert!(leaks("사 과 입니다", "사과"));
        assert!(leaks("a.p.p.l.e", "apple"));
        assert!(leaks("ㅅ ㅏ ㄱ ㅘ", "사과"), "spelled in jamo");
        assert!(!leaks("a fruit", "apple"));
    }

    #[test]
    fn hints_show_initial_consonants_blanks_and_letters() {
        assert_eq!(initial_consonant('사'), Some('ㅅ'));
        assert_eq!(initial_consonant('과'), Some('ㄱ'));
        assert_eq!(masked("사과", false, &[]), "_ _");
        assert_eq!(masked("사과", true, &[]), "ㅅ ㄱ");
        assert_eq!(masked("오렌지", true, &[1]), "ㅇ 렌 ㅈ");
        assert_eq!(masked("ice cream", false, &[0]), "i _ _   _ _ _ _ _");
        assert_eq!(letter_hints("ox"), 0);
        assert_eq!(letter_hints("apple"), 2);
        assert_eq!(letter_hints("fire truck"), 2);
        assert_eq!(letter_hints("refrigerator"), 3);
        assert_eq!(masked("yo-yo", false, &[]), "_ _ - _ _");
        assert_eq!(letter_hints("yo-yo"), 1, "four letters");
    }
}
