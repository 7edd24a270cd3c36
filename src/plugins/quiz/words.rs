//! Word packs: the built-in Korean and English lists, custom lists from a file, and the bag
//! that hands out words without repeats until the pack is used up.

use std::path::Path;

use rand::Rng;
use rand::seq::SliceRandom;
use thiserror::Error;

use super::text::normalize;

static KOREAN: &str = include_str!("../../../assets/words/ko.txt");
static ENGLISH: &str = include_str!("../../../assets/words/en.txt");

/// Longest word, in characters.
pub const MAX_WORD_CHARS: usize = 32;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WordsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}, line {line}: {reason}")]
    BadLine {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{path} has no words (one per line; blank lines and # comments are ignored)")]
    Empty { path: String },
}

/// The packs a host can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pack {
    Korean,
    English,
    /// The server's `--words FILE`.
    Custom,
}

impl Pack {
    /// The built-in pack in an interface language: what a host is offered until they pick one.
    pub fn of_lang(lang: crate::i18n::Lang) -> Pack {
        match lang {
            crate::i18n::Lang::Ko => Pack::Korean,
            crate::i18n::Lang::En => Pack::English,
        }
    }
}

pub fn builtin(pack: Pack) -> Vec<String> {
    let text = match pack {
        Pack::Korean | Pack::Custom => KOREAN,
        Pack::English => ENGLISH,
    };
    parse(text, "built-in list").expect("built-in word lists are valid")
}

/// Reads a word list: one word per line, blank lines and `#` comments ignored.
pub fn load(path: &Path) -> Result<Vec<String>, WordsError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| WordsError::Read {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    parse(&text, &name)
}

pub fn parse(text: &str, name: &str) -> Result<Vec<String>, WordsError> {
    let mut words: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let word = line.trim();
        if word.is_empty() || word.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| WordsError::BadLine {
            path: name.into(),
            line: i + 1,
            reason: reason.into(),
        };
        if word.chars().count() > MAX_WORD_CHARS {
            return Err(bad(&format!("longer than {MAX_WORD_CHARS} characters")));
        }
        if word.chars().any(char::is_control) {
            return Err(bad("contains a control character"));
        }
        if normalize(word).is_empty() {
            return Err(bad(
                "nothing to guess once spaces and invisible characters are removed",
            ));
        }
        if seen.insert(normalize(word)) {
            words.push(word.to_owned());
        }
    }
    if words.is_empty() {
        return Err(WordsError::Empty { path: name.into() });
    }
    Ok(words)
}

/// Hands out words in a shuffled order; no word comes twice until all have come.
#[derive(Debug, Clone)]
struct Deck {
    words: Vec<String>,
    queue: Vec<String>,
    /// The pack has been dealt at least once (so the next refill is a reshuffle).
    dealt: bool,
}

impl Deck {
    fn new(words: Vec<String>) -> Self {
        Self {
            words,
            queue: Vec::new(),
            dealt: false,
        }
    }

    /// Takes `n` different words (fewer if the pack is smaller); the flag says the pack ran
    /// out and was reshuffled.
    fn take(&mut self, n: usize, rng: &mut impl Rng) -> (Vec<String>, bool) {
        let n = n.min(self.words.len());
        let mut reshuffled = false;
        let mut taken: Vec<String> = Vec::with_capacity(n);
        while taken.len() < n {
            if self.queue.is_empty() {
                reshuffled |= self.dealt;
                self.dealt = true;
                let mut fresh: Vec<String> = self
                    .words
                    .iter()
                    .filter(|w| !taken.contains(w))
                    .cloned()
                    .collect();
                fresh.shuffle(rng);
                self.queue = fresh;
            }
            if let Some(word) = self.queue.pop() {
                taken.push(word);
            }
        }
        (taken, reshuffled)
    }
}

/// Deals each turn's options: from the pack, or, for a share of turns, from the room's own
/// words (a host's list); no word comes twice from a deck until all of it has come.
#[derive(Debug, Clone)]
pub struct WordBag {
    main: Deck,
    /// The room's own words and the share of turns (1-99 %) dealt from them.
    own: Option<(Deck, u8)>,
    /// Every word either deck deals.
    all: Vec<String>,
}

impl WordBag {
    pub fn new(words: Vec<String>) -> Self {
        Self {
            all: words.clone(),
            main: Deck::new(words),
            own: None,
        }
    }

    /// The pack mixed with the room's own words, those for `share` % of turns (100: only them).
    pub fn mixed(pack: Vec<String>, own: Vec<String>, share: u8) -> Self {
        if share >= 100 || pack.is_empty() {
            return Self::new(own);
        }
        let mut all = pack.clone();
        all.extend(own.iter().cloned());
        Self {
            main: Deck::new(pack),
            own: Some((Deck::new(own), share)),
            all,
        }
    }

    /// Every word the bag deals from.
    pub fn words(&self) -> &[String] {
        &self.all
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Takes `n` different words for one turn (fewer if the deck is smaller); the flag says
    /// the deck ran out and was reshuffled.
    pub fn take(&mut self, n: usize, rng: &mut impl Rng) -> (Vec<String>, bool) {
        match &mut self.own {
            Some((own, share)) if !own.words.is_empty() && rng.random_range(0..100u8) < *share => {
                own.take(n, rng)
            }
            _ => self.main.take(n, rng),
        }
    }
}

/// The most words a room's own list holds, and its size (it travels in one frame).
pub const MAX_ROOM_WORDS: usize = 1000;
pub const MAX_ROOM_WORDS_BYTES: usize = 48 * 1024;

/// Why a host's list was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RoomWordsError {
    #[error("the list is larger than 48 KiB")]
    TooLarge,
    #[error("the list has more than {MAX_ROOM_WORDS} words")]
    TooMany,
    #[error("\"{0}…\" is longer than {MAX_WORD_CHARS} characters")]
    TooLong(String),
    #[error("\"{0}\" has nothing to guess once spaces and invisible characters are removed")]
    Unguessable(String),
    #[error("a word contains a control character")]
    ControlCharacter,
}

/// A host's list: words separated by commas or new lines, blanks ignored, duplicates (as
/// guesses compare them) removed. An empty list is allowed (it clears the room's words).
/// The cheap checks (size, each word's length and characters, the count of entries) come first,
/// over the whole list, before any word is normalised: a list refused costs little.
pub fn parse_room_words(text: &str) -> Result<Vec<String>, RoomWordsError> {
    if text.len() > MAX_ROOM_WORDS_BYTES {
        return Err(RoomWordsError::TooLarge);
    }
    let entries = || text.split([',', '\n']).map(str::trim).filter(|w| !w.is_empty());
    let mut count = 0;
    for word in entries() {
        if word.chars().count() > MAX_WORD_CHARS {
            return Err(RoomWordsError::TooLong(
                word.chars().take(MAX_WORD_CHARS).collect(),
            ));
        }
        if word.chars().any(char::is_control) {
            return Err(RoomWordsError::ControlCharacter);
        }
        count += 1;
    }
    // Entries, not words: a list of more than that many, duplicates or not, is refused unread.
    if count > MAX_ROOM_WORDS {
        return Err(RoomWordsError::TooMany);
    }
    let mut words: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for word in entries() {
        let key = normalize(word);
        if key.is_empty() {
            return Err(RoomWordsError::Unguessable(word.to_owned()));
        }
        if seen.insert(key) {
            words.push(word.to_owned());
        }
    }
    Ok(words)
}

impl crate::i18n::Describe for RoomWordsError {
    fn describe(&self) -> String {
        use crate::t;
        match self {
            RoomWordsError::TooLarge => t!("err-words-too-large"),
            RoomWordsError::TooMany => t!("err-words-too-many", max = MAX_ROOM_WORDS as u64),
            RoomWordsError::TooLong(word) => t!(
                "err-words-too-long",
                word = word.clone(),
                max = MAX_WORD_CHARS as u64
            ),
            RoomWordsError::Unguessable(word) => t!("err-words-unguessable", word = word.clone()),
            RoomWordsError::ControlCharacter => t!("err-words-control"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_hosts_list_is_split_deduplicated_and_bounded() {
        assert_eq!(
            parse_room_words(" 사과, banana\r\n\n사 과,BANANA, 포도 ").unwrap(),
            ["사과", "banana", "포도"],
            "commas and lines; duplicates as guesses compare them"
        );
        assert_eq!(parse_room_words("  ,\n "), Ok(Vec::new()), "empty clears");
        let long = "가".repeat(33);
        assert_eq!(
            parse_room_words(&format!("ok,{long}")),
            Err(RoomWordsError::TooLong("가".repeat(32)))
        );
        assert_eq!(parse_room_words("a\tb"), Err(RoomWordsError::ControlCharacter));
        assert!(matches!(
            parse_room_words("ok, \u{200b}"),
            Err(RoomWordsError::Unguessable(_))
        ));
        let many: Vec<String> = (0..1001).map(|i| format!("w{i}")).collect();
        assert_eq!(parse_room_words(&many.join(",")), Err(RoomWordsError::TooMany));
        // Entries count before duplicates are found: refused without normalising a word.
        assert_eq!(
            parse_room_words(&["a"; 1001].join(",")),
            Err(RoomWordsError::TooMany)
        );
        assert_eq!(
            parse_room_words(&format!("{},\u{7}", many[..999].join(","))),
            Err(RoomWordsError::ControlCharacter)
        );
        assert_eq!(
            parse_room_words(&many[..1000].join(",")).map(|w| w.len()),
            Ok(1000)
        );
        // The most a list can be: 1,000 words of 32 three-byte characters would pass 48 KiB.
        let big: Vec<String> = (0..1000).map(|i| format!("{i:04}{}", "가".repeat(28))).collect();
        assert_eq!(parse_room_words(&big.join(",")), Err(RoomWordsError::TooLarge));
    }

    #[test]
    fn a_mixed_bag_deals_the_rooms_words_for_its_share_of_turns() {
        let pack: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
        let own: Vec<String> = (0..50).map(|i| format!("o{i}")).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let share_of_own = |bag: &mut WordBag, rng: &mut rand::rngs::StdRng| {
            let turns = 400;
            let own_turns = (0..turns)
                .filter(|_| {
                    let (words, _) = bag.take(3, rng);
                    let from_own = words.iter().all(|w| w.starts_with('o'));
                    assert!(
                        from_own || words.iter().all(|w| w.starts_with('p')),
                        "one deck a turn"
                    );
                    from_own
                })
                .count();
            own_turns * 100 / turns
        };
        let mut only = WordBag::mixed(pack.clone(), own.clone(), 100);
        assert_eq!(share_of_own(&mut only, &mut rng), 100);
        assert_eq!(only.words().len(), 50, "the pack is not dealt from");
        let mut mixed = WordBag::mixed(pack.clone(), own.clone(), 30);
        let share = share_of_own(&mut mixed, &mut rng);
        assert!((22..=38).contains(&share), "{share}%");
        assert_eq!(mixed.words().len(), 100, "guesses know both lists");
        assert_eq!(share_of_own(&mut WordBag::new(pack), &mut rng), 0);
    }

    #[test]
    fn built_in_packs_are_big_and_start_with_the_seed_words() {
        let korean = builtin(Pack::Korean);
        assert!(korean.len() >= 311, "{}", korean.len());
        assert_eq!(
            &korean[..11],
            [
                "사과",
                "바나나",
                "오렌지",
                "포도",
                "체리",
                "딸기",
                "망고",
                "꽃",
                "달",
                "나무",
                "집"
            ]
        );
        assert!(builtin(Pack::English).len() >= 300);
    }

    #[test]
    fn custom_lists_skip_comments_and_report_bad_lines() {
        let words = parse("# fruit\n\n사과\n  바나나  \n사 과\n", "mine.txt").unwrap();
        assert_eq!(
            words,
            ["사과", "바나나"],
            "duplicates after normalising are dropped"
        );
        assert_eq!(
            parse("ok\nbad\u{7}word\n", "mine.txt"),
            Err(WordsError::BadLine {
                path: "mine.txt".into(),
                line: 2,
                reason: "contains a control character".into()
            })
        );
        assert_eq!(
            parse("# nothing\n\n", "mine.txt"),
            Err(WordsError::Empty {
                path: "mine.txt".into()
            })
        );
        assert!(matches!(
            load(Path::new("/nonexistent/words.txt")),
            Err(WordsError::Read { .. })
        ));
    }

    #[test]
    fn the_bag_repeats_no_word_until_the_pack_is_used_up() {
        let words: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
        let mut bag = WordBag::new(words.clone());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (taken, reshuffled) = bag.take(3, &mut rng);
            assert!(!reshuffled);
            seen.extend(taken);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 9, "nine different words");
        let (taken, reshuffled) = bag.take(3, &mut rng);
        assert!(reshuffled, "the tenth word then a reshuffle");
        assert_eq!(taken.len(), 3);
        let mut distinct = taken.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "choices are distinct");
    }
}
