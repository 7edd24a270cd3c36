//! The interface's words in Korean and English: Fluent files under `assets/locales/` (built
//! into the binary, so it runs from anywhere), one language for the whole window, chosen at
//! start. [`t!`](crate::t) looks a message up in the current language, falling back to English
//! and then to the key itself, so a missing message shows but never breaks the window.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A reason or refusal in the interface's language (its `Display` stays English, for logs).
pub trait Describe {
    fn describe(&self) -> String;
}

/// The languages the interface speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// Its code, as `--lang` takes it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// Its name in itself, for a language menu.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ko => "한국어",
        }
    }

    /// A language from a code or a locale (`ko`, `ko-KR`, `ko_KR.UTF-8`, `en_US`...).
    pub fn parse(text: &str) -> Option<Lang> {
        let code = text
            .trim()
            .split(['-', '_', '.', '@'])
            .next()?
            .to_ascii_lowercase();
        match code.as_str() {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The environment's locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, the first set), English when
    /// it names neither language.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .and_then(|value| Lang::parse(&value))
            .unwrap_or_default()
    }

    fn index(self) -> usize {
        self as usize
    }
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Sets the interface's language.
pub fn set(lang: Lang) {
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

pub fn current() -> Lang {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Lang::Ko,
        _ => Lang::En,
    }
}

/// The message files, by language.
pub const SOURCES: [(Lang, &str); 2] = [
    (Lang::En, include_str!("../assets/locales/en.ftl")),
    (Lang::Ko, include_str!("../assets/locales/ko.ftl")),
];

fn bundles() -> &'static [FluentBundle<FluentResource>; 2] {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 2]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(lang, text)| bundle(lang, text)))
}

fn bundle(lang: Lang, text: &str) -> FluentBundle<FluentResource> {
    let id = lang.code().parse().expect("a language code");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No invisible direction marks around arguments: egui would draw them as boxes.
    bundle.set_use_isolating(false);
    // A file that does not parse is a build mistake the tests catch; what parsed is used.
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(partial, _)| partial);
    let _ = bundle.add_resource(resource);
    bundle
}

/// The message `key` in the current language, with its arguments.
pub fn tr_args(key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    tr_args_in(current(), key, args)
}

/// The message `key` in `lang`, with its arguments.
pub fn tr_args_in(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let all = bundles();
    [lang.index(), Lang::En.index()]
        .into_iter()
        .find_map(|i| {
            let bundle = &all[i];
            let pattern = bundle.get_message(key)?.value()?;
            let mut errors = Vec::new();
            Some(
                bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned(),
            )
        })
        .unwrap_or_else(|| key.to_owned())
}

/// The message `key` in the current language.
pub fn tr(key: &str) -> String {
    tr_args(key, &[])
}

/// A message in the current language: `t!("key")`, or `t!("key", name = value, ...)` with
/// values Fluent takes (strings, numbers).
#[macro_export]
macro_rules! t {
    ($key:literal) => {
        $crate::i18n::tr($key)
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::tr_args(
            $key,
            &[$((stringify!($name), fluent_bundle::FluentValue::from($value))),+],
        )
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The message ids a file defines (no parse errors allowed).
    fn ids(text: &str) -> BTreeSet<String> {
        let resource = FluentResource::try_new(text.to_owned()).expect("the file parses");
        resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn both_languages_define_exactly_the_same_messages() {
        let en = ids(SOURCES[0].1);
        let ko = ids(SOURCES[1].1);
        assert!(!en.is_empty());
        let only_en: Vec<_> = en.difference(&ko).collect();
        let only_ko: Vec<_> = ko.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_ko.is_empty(),
            "only in English: {only_en:?}; only in Korean: {only_ko:?}"
        );
    }

    /// Every `t!("...")` in the sources names a message that exists.
    #[test]
    fn every_message_the_code_asks_for_exists() {
        let en = ids(SOURCES[0].1);
        let mut missing = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // `t!("key"`, not `format!("`: the macro's name stands alone.
            for (at, _) in text.match_indices("t!(\"") {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let key = text[at + 4..].split('"').next().unwrap_or_default();
                if !en.contains(key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "no such messages: {missing:?}");
    }

    #[test]
    fn messages_follow_the_language_with_english_as_the_fallback() {
        // (The global language is left alone: other tests read messages meanwhile.)
        assert_eq!(tr_args_in(Lang::Ko, "launcher-connect", &[]), "접속");
        assert_eq!(tr_args_in(Lang::Ko, "no-such-message", &[]), "no-such-message");
        assert_eq!(tr_args_in(Lang::En, "launcher-connect", &[]), "Connect");
        assert_eq!(crate::t!("album-drawn-by", name = "Ann"), "drawn by Ann");
        let joined = |lang, others: u64, watching: u64| {
            let args = [
                ("room", FluentValue::from("lobby")),
                ("others", FluentValue::from(others)),
                ("watching", FluentValue::from(watching)),
            ];
            tr_args_in(lang, "chat-joined-room", &args)
        };
        assert_eq!(
            joined(Lang::En, 1, 0),
            "You joined room \"lobby\" (1 other player here)."
        );
        assert_eq!(
            joined(Lang::En, 0, 2),
            "You joined room \"lobby\" (0 other players here, 2 watching)."
        );
        assert_eq!(
            joined(Lang::Ko, 3, 0),
            "\"lobby\" 방에 들어왔습니다 (다른 플레이어 3명)."
        );
    }

    #[test]
    fn languages_come_from_codes_and_locales() {
        assert_eq!(Lang::parse("ko_KR.UTF-8"), Some(Lang::Ko));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("KO"), Some(Lang::Ko));
        assert_eq!(Lang::parse("fr_FR"), None);
        assert_eq!(Lang::parse(""), None);
    }
}
