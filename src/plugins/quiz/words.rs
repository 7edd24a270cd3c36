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
pub struct WordBag {
    words: Vec<String>,
    queue: Vec<String>,
    /// The pack has been dealt at least once (so the next refill is a reshuffle).
    dealt: bool,
}

impl WordBag {
    pub fn new(words: Vec<String>) -> Self {
        Self {
            words,
            queue: Vec::new(),
            dealt: false,
        }
    }

    /// Every word the bag deals from.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Takes `n` different words (fewer if the pack is smaller); the flag says the pack ran
    /// out and was reshuffled.
    pub fn take(&mut self, n: usize, rng: &mut impl Rng) -> (Vec<String>, bool) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
