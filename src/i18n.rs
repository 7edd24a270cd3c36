//! The interface's words in Korean and English: Fluent files under `assets/locales/` (built
//! into the binary, so it runs from anywhere), one language for the whole window, chosen at
//! start. [`t!`](crate::t) looks a message up in the current language, falling back to English
//! and then to the key itself, so a missing message shows but never breaks the window.

#[cfg(feature = "client")]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(feature = "client")]
use fluent_bundle::{FluentArgs, FluentResource, concurrent::FluentBundle};

/// A message's argument: a string or a number.
#[cfg(feature = "client")]
pub use fluent_bundle::FluentValue as Arg;

/// A message's argument, as text: the server-only build has no interface, and no Fluent.
#[cfg(not(feature = "client"))]
#[derive(Clone, Debug)]
pub struct Arg(String);

#[cfg(not(feature = "client"))]
impl<T: std::fmt::Display> From<T> for Arg {
    fn from(value: T) -> Self {
        Arg(value.to_string())
    }
}

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

    /// The system's language: the first of the user's preferred languages the game speaks (on
    /// Unix `LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`; on Windows and macOS the system's
    /// settings, which set no `LANG`), English when it speaks none of them.
    #[cfg(feature = "client")]
    pub fn from_system() -> Lang {
        Self::first_spoken(sys_locale::get_locales())
    }

    /// The first of `locales` the game speaks, else English.
    pub fn first_spoken(locales: impl IntoIterator<Item = String>) -> Lang {
        locales
            .into_iter()
            .find_map(|locale| Lang::parse(&locale))
            .unwrap_or_default()
    }

    #[cfg(feature = "client")]
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
    #[cfg(test)]
    if let Some(lang) = TEST_LANG.with(std::cell::Cell::get) {
        return lang;
    }
    match CURRENT.load(Ordering::Relaxed) {
        1 => Lang::Ko,
        _ => Lang::En,
    }
}

#[cfg(test)]
thread_local! {
    static TEST_LANG: std::cell::Cell<Option<Lang>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with the interface in `lang` on this thread only (tests run side by side).
#[cfg(test)]
pub fn in_lang<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    TEST_LANG.with(|l| l.set(Some(lang)));
    let result = f();
    TEST_LANG.with(|l| l.set(None));
    result
}

/// The message files, by language.
pub const SOURCES: [(Lang, &str); 2] = [
    (Lang::En, include_str!("../assets/locales/en.ftl")),
    (Lang::Ko, include_str!("../assets/locales/ko.ftl")),
];

#[cfg(feature = "client")]
fn bundles() -> &'static [FluentBundle<FluentResource>; 2] {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 2]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(lang, text)| bundle(lang, text)))
}

#[cfg(feature = "client")]
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
pub fn tr_args(key: &str, args: &[(&str, Arg)]) -> String {
    tr_args_in(current(), key, args)
}

/// The message `key` in `lang`, with its arguments.
#[cfg(feature = "client")]
pub fn tr_args_in(lang: Lang, key: &str, args: &[(&str, Arg)]) -> String {
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

/// The server-only build shows no interface and carries no Fluent: a message is its key and
/// its arguments (`err-name-too-long max=24`), should one ever reach a log.
#[cfg(not(feature = "client"))]
pub fn tr_args_in(_: Lang, key: &str, args: &[(&str, Arg)]) -> String {
    let mut text = key.to_owned();
    for (name, Arg(value)) in args {
        text.push_str(&format!(" {name}={value}"));
    }
    text
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
            &[$((stringify!($name), $crate::i18n::Arg::from($value))),+],
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
                ("room", Arg::from("lobby")),
                ("others", Arg::from(others)),
                ("watching", Arg::from(watching)),
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

    #[test]
    fn the_system_language_is_the_first_preferred_one_the_game_speaks() {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Lang::first_spoken(list(&["fr-FR", "ko-KR", "en-US"])), Lang::Ko);
        assert_eq!(Lang::first_spoken(list(&["en-GB", "ko"])), Lang::En);
        assert_eq!(Lang::first_spoken(list(&["de"])), Lang::En);
        assert_eq!(Lang::first_spoken(list(&[])), Lang::En);
    }

    #[test]
    fn os_error_details_get_a_lead_in_in_the_interfaces_language() {
        use crate::plugins::net::ServerError;
        let error = ServerError::Bind {
            addr: "1234".into(),
            source: std::io::ErrorKind::AddrInUse.into(),
        };
        let korean = in_lang(Lang::Ko, || error.describe());
        assert!(korean.starts_with("포트 또는 주소 1234"), "{korean}");
        assert!(in_lang(Lang::En, || error.describe()).starts_with("the port or address 1234"));
        let other = ServerError::Bind {
            addr: "[::1]:1".into(),
            source: std::io::ErrorKind::PermissionDenied.into(),
        };
        let korean = in_lang(Lang::Ko, || other.describe());
        assert!(
            korean.starts_with("[::1]:1에서 연결을 받을 수 없습니다: "),
            "{korean}"
        );
    }
}
