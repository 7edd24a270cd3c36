//! Comparing guesses with the word: normalisation, "close" guesses (Hangul compared on its
//! jamo), the drawer's leak guard (with look-alike letters mapped to one skeleton), and the
//! hints guessers see.

use unicode_normalization::UnicodeNormalization;

use crate::safe_text::is_invisible;

/// What a guess is compared as: NFKC, case-folded, without spaces or invisible characters,
/// and with Hangul jamo composed the way a keyboard composes them (see [`compose_jamo`]), so
/// jamo typed apart, with spaces between or not (ㅅ ㅏ ㄹ ㅏ ㅁ), read as the word (사람).
pub fn normalize(text: &str) -> String {
    compose_jamo(&visible(text)).nfc().collect()
}

/// NFKC, case-folded, without spaces or invisible characters: what [`normalize`] composes.
fn visible(text: &str) -> String {
    let folded: String = text.nfkc().collect::<String>().to_lowercase();
    folded
        .nfkc()
        .filter(|c| !c.is_whitespace() && !is_invisible(*c))
        .collect()
}

/// How a message reads to the guards that look for the word inside it: [`normalize`]d, and
/// with its jamo as typed (only NFC), since a consonant typed right after the word composes
/// into its last syllable and would hide it: 사과ㅋㅋ (or 사과 ㅎㅎ) is normalised to 사괔ᄏ,
/// but reads 사과ᄏᄏ as typed.
fn readings(text: &str) -> [String; 2] {
    let visible = visible(text);
    [compose_jamo(&visible).nfc().collect(), visible.nfc().collect()]
}

/// Composes Hangul jamo into syllables as a 2-set (두벌식) keyboard does while they are
/// typed. NFKC alone is not enough: it turns a compatibility jamo (what a keyboard types when
/// letters are typed apart) into a conjoining one, and a consonant into an initial, never a
/// final, so ㅅㅏㄹㅏㅁ would give 사라 and a lone ᄆ, not 사람. Here a consonant after a
/// vowel becomes the final (받침), or a double final (ㄹ then ㄱ: ㄺ); a final moves on to
/// start the next syllable when a vowel follows (only the second consonant of a double one:
/// ㄷㅏㄹㄱㅏ gives 달가); two vowels make a compound vowel (ㅗ then ㅏ: ㅘ); ㄸ, ㅃ and ㅉ,
/// which cannot be finals, start a new syllable.
///
/// A syllable already composed is typed as its jamo, so one typed partly composed and partly
/// apart (사ㄹㅏㅁ) continues, and syllables next to each other come out unchanged. A vowel
/// with no consonant before it and a consonant with no vowel after it stay lone jamo, in the
/// conjoining form NFKC gives them (a consonant as an initial); any other character, archaic
/// jamo included, is kept and ends the syllable being typed.
fn compose_jamo(text: &str) -> String {
    let mut keyboard = Keyboard::default();
    for c in text.chars() {
        if is_hangul_syllable(c) {
            let index = (c as u32 - 0xAC00) as usize;
            keyboard.consonant(CHOSEONG[index / 588]);
            keyboard.vowel(JUNGSEONG[index % 588 / 28]);
            if let Some(batchim) = (index % 28).checked_sub(1) {
                keyboard.consonant(JONGSEONG[batchim]);
            }
            continue;
        }
        match Jamo::of(c) {
            Some(Jamo::Consonant(consonant)) => keyboard.consonant(consonant),
            Some(Jamo::Vowel(vowel)) => keyboard.vowel(vowel),
            None => {
                keyboard.finish();
                keyboard.text.push(c);
            }
        }
    }
    keyboard.finish();
    keyboard.text
}

/// The 21 medial vowels (중성), in syllable order, as compatibility jamo.
const JUNGSEONG: [char; 21] = [
    'ㅏ', 'ㅐ', 'ㅑ', 'ㅒ', 'ㅓ', 'ㅔ', 'ㅕ', 'ㅖ', 'ㅗ', 'ㅘ', 'ㅙ', 'ㅚ', 'ㅛ', 'ㅜ', 'ㅝ', 'ㅞ', 'ㅟ',
    'ㅠ', 'ㅡ', 'ㅢ', 'ㅣ',
];

/// The 27 final consonants (종성), in syllable order (a syllable's final index is one more: 0
/// is none), as compatibility jamo. ㄸ, ㅃ and ㅉ are not among them.
const JONGSEONG: [char; 27] = [
    'ㄱ', 'ㄲ', 'ㄳ', 'ㄴ', 'ㄵ', 'ㄶ', 'ㄷ', 'ㄹ', 'ㄺ', 'ㄻ', 'ㄼ', 'ㄽ', 'ㄾ', 'ㄿ', 'ㅀ', 'ㅁ', 'ㅂ',
    'ㅄ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
];

/// The compound vowels a 2-set keyboard types as two vowels: (first, second, compound).
const COMPOUND_VOWELS: [(char, char, char); 7] = [
    ('ㅗ', 'ㅏ', 'ㅘ'),
    ('ㅗ', 'ㅐ', 'ㅙ'),
    ('ㅗ', 'ㅣ', 'ㅚ'),
    ('ㅜ', 'ㅓ', 'ㅝ'),
    ('ㅜ', 'ㅔ', 'ㅞ'),
    ('ㅜ', 'ㅣ', 'ㅟ'),
    ('ㅡ', 'ㅣ', 'ㅢ'),
];

/// The double finals, typed as two consonants: (first, second, double).
const DOUBLE_FINALS: [(char, char, char); 11] = [
    ('ㄱ', 'ㅅ', 'ㄳ'),
    ('ㄴ', 'ㅈ', 'ㄵ'),
    ('ㄴ', 'ㅎ', 'ㄶ'),
    ('ㄹ', 'ㄱ', 'ㄺ'),
    ('ㄹ', 'ㅁ', 'ㄻ'),
    ('ㄹ', 'ㅂ', 'ㄼ'),
    ('ㄹ', 'ㅅ', 'ㄽ'),
    ('ㄹ', 'ㅌ', 'ㄾ'),
    ('ㄹ', 'ㅍ', 'ㄿ'),
    ('ㄹ', 'ㅎ', 'ㅀ'),
    ('ㅂ', 'ㅅ', 'ㅄ'),
];

/// What two jamo typed one after the other make, by one of the tables above.
fn joined(table: &[(char, char, char)], first: char, second: char) -> Option<char> {
    table
        .iter()
        .find(|&&(a, b, _)| (a, b) == (first, second))
        .map(|&(.., joined)| joined)
}

/// A final split for a vowel that follows it: what stays (the first consonant of a double
/// final, none of a single one) and the consonant that moves on to start the next syllable.
fn split_final(batchim: char) -> (Option<char>, char) {
    DOUBLE_FINALS
        .iter()
        .find(|&&(.., double)| double == batchim)
        .map_or((None, batchim), |&(stays, moves, _)| (Some(stays), moves))
}

/// A modern Hangul jamo, as the compatibility jamo a keyboard types it with (a double final,
/// ㄳ, as one, though typed as two keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Jamo {
    Consonant(char),
    Vowel(char),
}

impl Jamo {
    /// Compatibility jamo, and the conjoining initials, vowels and finals NFKC turns them
    /// into. Archaic jamo, which no 2-set keyboard types, are not.
    fn of(c: char) -> Option<Self> {
        let offset = |first: char| (c as u32 - first as u32) as usize;
        match c {
            'ㄱ'..='ㅎ' => Some(Self::Consonant(c)),
            'ㅏ'..='ㅣ' => Some(Self::Vowel(c)),
            '\u{1100}'..='\u{1112}' => Some(Self::Consonant(CHOSEONG[offset('\u{1100}')])),
            '\u{1161}'..='\u{1175}' => Some(Self::Vowel(JUNGSEONG[offset('\u{1161}')])),
            '\u{11A8}'..='\u{11C2}' => Some(Self::Consonant(JONGSEONG[offset('\u{11A8}')])),
            _ => None,
        }
    }

    /// A jamo left on its own, in the conjoining form NFKC gives it: a consonant as an
    /// initial (a double final, which cannot be one, as a final), a vowel as a medial.
    fn lone(self) -> char {
        let (first, index) = match self {
            Self::Consonant(c) => match CHOSEONG.iter().position(|&i| i == c) {
                Some(index) => (0x1100, index),
                None => (0x11A8, position(&JONGSEONG, c)),
            },
            Self::Vowel(v) => (0x1161, position(&JUNGSEONG, v)),
        };
        char::from_u32(first + index as u32).expect("a Hangul Jamo block character")
    }
}

/// Where a jamo is in one of the tables above. The keyboard only ever holds jamo from them.
fn position(table: &[char], jamo: char) -> usize {
    table.iter().position(|&j| j == jamo).expect("a modern jamo")
}

/// The syllable made of an initial, a vowel and maybe a final.
fn syllable(initial: char, vowel: char, batchim: Option<char>) -> char {
    let batchim = batchim.map_or(0, |b| position(&JONGSEONG, b) + 1);
    let index = (position(&CHOSEONG, initial) * 21 + position(&JUNGSEONG, vowel)) * 28 + batchim;
    char::from_u32(0xAC00 + index as u32).expect("a Hangul syllable")
}

/// The syllable being typed.
#[derive(Debug, Clone, Copy, Default)]
enum Typing {
    #[default]
    Nothing,
    /// A consonant, waiting for a vowel.
    Initial(char),
    /// A vowel with no consonant before it: it stays a lone vowel (or compound vowel).
    Vowel(char),
    /// An initial and a vowel, and the final typed so far.
    Syllable {
        initial: char,
        vowel: char,
        batchim: Option<char>,
    },
}

/// A 2-set keyboard's composer: the text composed so far and the syllable being typed.
#[derive(Debug, Default)]
struct Keyboard {
    text: String,
    typing: Typing,
}

impl Keyboard {
    /// A consonant is the syllable's final if it can be (alone or joined to the final
    /// before it), otherwise it starts a new syllable.
    fn consonant(&mut self, consonant: char) {
        if let Typing::Syllable { batchim, .. } = &mut self.typing {
            let longer = match *batchim {
                None => JONGSEONG.contains(&consonant).then_some(consonant),
                Some(first) => joined(&DOUBLE_FINALS, first, consonant),
            };
            if longer.is_some() {
                *batchim = longer;
                return;
            }
        }
        self.finish();
        self.typing = Typing::Initial(consonant);
    }

    /// A vowel completes a syllable after a consonant, joins the vowel before it into a
    /// compound vowel, takes the final before it as its initial, or stays a lone vowel.
    fn vowel(&mut self, vowel: char) {
        self.typing = match self.typing {
            Typing::Nothing => Typing::Vowel(vowel),
            // A double final typed alone (ㄳ) moves its second consonant, as after a vowel.
            Typing::Initial(consonant) => {
                let (stays, moves) = split_final(consonant);
                if let Some(stays) = stays {
                    self.text.push(Jamo::Consonant(stays).lone());
                }
                Typing::Syllable {
                    initial: moves,
                    vowel,
                    batchim: None,
                }
            }
            Typing::Vowel(first) => match joined(&COMPOUND_VOWELS, first, vowel) {
                Some(compound) => Typing::Vowel(compound),
                None => {
                    self.finish();
                    Typing::Vowel(vowel)
                }
            },
            Typing::Syllable {
                initial,
                vowel: first,
                batchim: None,
            } => match joined(&COMPOUND_VOWELS, first, vowel) {
                Some(compound) => Typing::Syllable {
                    initial,
                    vowel: compound,
                    batchim: None,
                },
                None => {
                    self.finish();
                    Typing::Vowel(vowel)
                }
            },
            Typing::Syllable {
                initial,
                vowel: before,
                batchim: Some(batchim),
            } => {
                let (stays, moves) = split_final(batchim);
                self.text.push(syllable(initial, before, stays));
                Typing::Syllable {
                    initial: moves,
                    vowel,
                    batchim: None,
                }
            }
        };
    }

    /// Ends the syllable being typed, as it is.
    fn finish(&mut self) {
        match std::mem::take(&mut self.typing) {
            Typing::Nothing => {}
            Typing::Initial(consonant) => self.text.push(Jamo::Consonant(consonant).lone()),
            Typing::Vowel(vowel) => self.text.push(Jamo::Vowel(vowel).lone()),
            Typing::Syllable {
                initial,
                vowel,
                batchim,
            } => self.text.push(syllable(initial, vowel, batchim)),
        }
    }
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

/// The drawer's leak guard: whether `message` contains the word, after normalising (in
/// either of its [`readings`]), mapping look-alike characters (a Cyrillic а for a Latin a)
/// to one skeleton and dropping punctuation (so a.p.p.l.e is caught too).
pub fn leaks(message: &str, word: &str) -> bool {
    let skeleton = |normalized: &str| -> String {
        unicode_security::skeleton(normalized)
            .collect::<String>()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let word = skeleton(&normalize(word));
    !word.is_empty()
        && readings(message)
            .iter()
            .any(|reading| skeleton(reading).contains(&word))
}

/// Whether a message contains the word without being it (both normalised, the message in
/// either of its [`readings`]). A word of one letter or syllable counts only at the start of
/// a word of the message (게야? and 게 맞지 contain 게; 어떻게 does not), so ordinary chat is
/// not withheld for it.
pub fn contains_word(message: &str, word: &str) -> bool {
    let (whole, word) = (readings(message), normalize(word));
    if word.is_empty() || whole[0] == word {
        return false;
    }
    if word.chars().count() >= 2 {
        return whole.iter().any(|reading| reading.contains(&word));
    }
    message
        .split(|c: char| !c.is_alphanumeric())
        .any(|token| readings(token).iter().any(|reading| reading.starts_with(&word)))
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
    /// whole, in either of its [`readings`]), not counting a word found only inside a longer
    /// one found (사과 names 사과, not also 사).
    pub fn named_in(&self, message: &str) -> usize {
        let whole = readings(message);
        let tokens: Vec<String> = message
            .split(|c: char| !c.is_alphanumeric())
            .flat_map(readings)
            .filter(|t| !t.is_empty())
            .collect();
        let found: Vec<&str> = self
            .words
            .iter()
            .filter(|w| match w.chars().count() {
                1 => tokens.iter().any(|t| t.starts_with(w.as_str())),
                _ => whole.iter().any(|reading| reading.contains(w.as_str())),
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
    fn a_consonant_typed_after_the_word_does_not_hide_it() {
        // 사과ㅋㅋ is normalised to 사괔ᄏ (a keyboard would compose it so), but still reads
        // 사과 to the guards.
        assert_eq!(normalize("사과 ㅋㅋ"), "사괔\u{110F}");
        for message in ["사과ㅋㅋ", "사과 ㅎㅎ", "ㅅㅏㄱㅘㅋㅋ", "ㅅ ㅏ ㄱ ㅘ ㅋ"] {
            assert!(leaks(message, "사과"), "{message}");
            assert!(contains_word(message, "사과"), "{message}");
            assert!(!is_guess_of(message, "사과"), "{message}");
        }
        assert!(contains_word("게ㅋㅋ", "게"), "a one-syllable word too");
        assert!(
            leaks("ㄷㅏㄹㄱ 그려요", "닭"),
            "a final typed apart is caught now"
        );
        assert!(contains_word("ㅅㅏㄹㅏㅁ 맞지?", "사람"));
        assert!(!contains_word("ㅅㅏㄹㅏㅁ", "사람"), "the word itself is a guess");
        let pack = PackWords::new(&["사과".into(), "바나나".into(), "게".into()]);
        assert_eq!(pack.named_in("사과ㅋ 바나나ㅋ"), 2);
        assert_eq!(pack.named_in("ㅅㅏㄱㅘㅎ ㄱㅔㅎ"), 2);
        assert_eq!(pack.named_in("ㅂㅏㄴㅏㄴㅏ"), 1);
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
        assert!(is_close("ㅅ ㅏ ㄱ ㅏ", "사과"), "in jamo, one jamo changed");
        assert!(is_close("ㅅㅏㄹㅏ", "사람"), "in jamo, one jamo short");
        assert!(
            !is_close("ㅅㅏㄹㅏㅁ", "사람") && is_guess_of("ㅅㅏㄹㅏㅁ", "사람"),
            "a final typed apart is the word, not close to it"
        );
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
        assert!(
            leaks("ㅅ ㅏ ㄹ ㅏ ㅁ 이에요", "사람"),
            "spelled in jamo, with a final"
        );
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

    #[test]
    fn jamo_typed_apart_compose_like_a_keyboard() {
        for (typed, word) in [
            ("ㅅ ㅏ ㄹ ㅏ ㅁ", "사람"),
            ("ㅅㅏㄹㅏㅁ", "사람"),
            ("ㄷㅏㄹㄱ", "닭"),
            ("ㅇㅣㄹㄱㄷㅏ", "읽다"),
            ("ㄱㅗㅐㄴㅊㅏㄴㅎㅇㅏ", "괜찮아"),
            ("ㄱㅏㅂㅅ", "값"),
            ("ㅇㅓㅂㅅㅇㅓ", "없어"),
            ("ㅇㅡㅣㅅㅏ", "의사"),
            ("ㅃㅏㅇ", "빵"),
            ("ㅇㅏㅃㅏ", "아빠"),
            ("ㄱㅘ", "과"),
            ("사ㄹㅏㅁ", "사람"),
            ("사 ㄹ ㅏ ㅁ", "사람"),
            ("살ㅏㅁ", "사람"),
            ("달ㄱ", "닭"),
        ] {
            assert!(is_guess_of(typed, word), "{typed} is a guess of {word}");
            assert_eq!(normalize(typed), word, "{typed}");
        }
    }

    #[test]
    fn composing_keeps_lone_jamo_syllables_and_other_text() {
        assert_eq!(
            compose_jamo("ㄷㅏㄹㄱㅏ"),
            "달가",
            "only a double final's second consonant moves"
        );
        assert_eq!(
            compose_jamo("ㅏ"),
            "\u{1161}",
            "a vowel with no initial stays a lone vowel"
        );
        assert_eq!(
            compose_jamo("ㅁ"),
            "\u{1106}",
            "a lone consonant stays one, as NFKC gives it"
        );
        assert_eq!(compose_jamo("ㄳ"), "\u{11AA}", "a lone double final stays one");
        assert_eq!(compose_jamo("ㄳㅏ"), "\u{1100}사");
        assert_eq!(compose_jamo("ㅋㅋㅋ"), "\u{110F}\u{110F}\u{110F}");
        assert_eq!(
            compose_jamo("ㅏㄱ"),
            "\u{1161}\u{1100}",
            "a consonant after a lone vowel is no final"
        );
        assert_eq!(compose_jamo("가ㅏ"), "가\u{1161}");
        assert_eq!(
            compose_jamo("ㄱㅏ!ㄴ"),
            "가!\u{1102}",
            "other characters end the syllable"
        );
        assert_eq!(compose_jamo("ㄸㅏㄸ"), "따\u{1104}", "ㄸ is never a final");
        assert_eq!(
            compose_jamo("\u{1100}\u{1161}\u{11AF}\u{1100}"),
            "갉",
            "conjoining jamo"
        );
        assert_eq!(compose_jamo("\u{1100}\u{1161}\u{11AF}\u{1161}"), "가라");
        assert_eq!(
            compose_jamo("ᄀᆞ"),
            "\u{1100}ᆞ",
            "archaic jamo are kept as they are"
        );
        for text in ["닭알", "갈가", "없어요", "사과 apple 123", "괜찮아?", "빵빵"] {
            assert_eq!(
                compose_jamo(text),
                text,
                "syllables next to each other are unchanged"
            );
        }
    }

    /// The words of a pack (blank lines and # comments skipped).
    fn pack(list: &str) -> impl Iterator<Item = &str> {
        list.lines()
            .map(str::trim)
            .filter(|w| !w.is_empty() && !w.starts_with('#'))
    }

    static KOREAN: &str = include_str!("../../../assets/words/ko.txt");
    static ENGLISH: &str = include_str!("../../../assets/words/en.txt");

    /// How a 2-set keyboard types a word: each syllable as the compatibility jamo of its keys
    /// (a compound vowel or a double final as two: 괜 is ㄱ ㅗ ㅐ ㄴ, 닭 is ㄷ ㅏ ㄹ ㄱ), any
    /// other character as it is.
    fn keystrokes(word: &str) -> Vec<char> {
        let initials: Vec<char> = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ".chars().collect();
        let vowels: Vec<char> = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ".chars().collect();
        let finals: Vec<char> = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
            .chars()
            .collect();
        let keys = |jamo: char| match jamo {
            'ㅘ' => vec!['ㅗ', 'ㅏ'],
            'ㅙ' => vec!['ㅗ', 'ㅐ'],
            'ㅚ' => vec!['ㅗ', 'ㅣ'],
            'ㅝ' => vec!['ㅜ', 'ㅓ'],
            'ㅞ' => vec!['ㅜ', 'ㅔ'],
            'ㅟ' => vec!['ㅜ', 'ㅣ'],
            'ㅢ' => vec!['ㅡ', 'ㅣ'],
            'ㄳ' => vec!['ㄱ', 'ㅅ'],
            'ㄵ' => vec!['ㄴ', 'ㅈ'],
            'ㄶ' => vec!['ㄴ', 'ㅎ'],
            'ㄺ' => vec!['ㄹ', 'ㄱ'],
            'ㄻ' => vec!['ㄹ', 'ㅁ'],
            'ㄼ' => vec!['ㄹ', 'ㅂ'],
            'ㄽ' => vec!['ㄹ', 'ㅅ'],
            'ㄾ' => vec!['ㄹ', 'ㅌ'],
            'ㄿ' => vec!['ㄹ', 'ㅍ'],
            'ㅀ' => vec!['ㄹ', 'ㅎ'],
            'ㅄ' => vec!['ㅂ', 'ㅅ'],
            jamo => vec![jamo],
        };
        word.chars()
            .flat_map(|c| match c {
                '가'..='힣' => {
                    let index = (c as u32 - 0xAC00) as usize;
                    let batchim = (index % 28).checked_sub(1).map(|b| finals[b]);
                    [
                        Some(initials[index / 588]),
                        Some(vowels[index % 588 / 28]),
                        batchim,
                    ]
                    .into_iter()
                    .flatten()
                    .flat_map(keys)
                    .collect()
                }
                c => vec![c],
            })
            .collect()
    }

    #[test]
    fn every_korean_word_typed_key_by_key_is_a_guess_of_it() {
        assert_eq!(keystrokes("괜"), ['ㄱ', 'ㅗ', 'ㅐ', 'ㄴ']);
        assert_eq!(keystrokes("닭 a"), ['ㄷ', 'ㅏ', 'ㄹ', 'ㄱ', ' ', 'a']);
        let mut checked = 0;
        for word in pack(KOREAN) {
            let keys = keystrokes(word);
            let typed: String = keys.iter().collect();
            let spaced = keys.iter().map(char::to_string).collect::<Vec<_>>().join(" ");
            assert!(is_guess_of(&typed, word), "{typed} is a guess of {word}");
            assert!(is_guess_of(&spaced, word), "{spaced} is a guess of {word}");
            assert!(!is_close(&spaced, word), "{spaced} is not merely close to {word}");
            checked += 1;
        }
        assert!(checked > 500, "the whole pack was checked ({checked} words)");
    }

    /// `normalize` before jamo were composed: the reference for text composing must not change.
    fn normalize_without_composing(text: &str) -> String {
        let folded: String = text.nfkc().collect::<String>().to_lowercase();
        folded
            .nfkc()
            .filter(|c| !c.is_whitespace() && !is_invisible(*c))
            .collect::<String>()
            .nfc()
            .collect()
    }

    #[test]
    fn words_normalise_as_before() {
        let others = [
            "Ice Cream",
            "ＡＰＰＬＥ",
            "naïve café",
            "Straße",
            "ﬁre",
            "Ⅻ",
            "東京",
            "ㅋㅋ ok",
        ];
        for text in ENGLISH.lines().chain(KOREAN.lines()).chain(others) {
            assert_eq!(normalize(text), normalize_without_composing(text), "{text}");
        }
    }
}
