//! What the launcher remembers between runs: the nickname and the last few servers (address,
//! port, room), in `launcher.json` in the platform's config folder (in a browser, the page's
//! local storage). A file that cannot be read
//! or understood is ignored with one warning, never a crash; saving writes a temporary file of a
//! unique name and renames it over the old one, so a crash mid-save leaves the old file whole.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;
use std::path::PathBuf;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::names::MAX_NAME_CHARS;

/// Servers the launcher lists, most recent first.
pub const MAX_SERVERS: usize = 5;
/// A larger file is not ours: it is ignored unread.
const MAX_FILE_BYTES: u64 = 64 * 1024;
/// The longest address, port or room kept.
const MAX_FIELD_CHARS: usize = 255;

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
#[serde(default)]
pub struct Remembered {
    pub name: String,
    pub servers: Vec<RecentServer>,
    /// The interface's language as last chosen (`en`, `ko`); unset follows the environment.
    pub language: Option<String>,
}

/// A server joined from the launcher, as typed.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
#[serde(default)]
pub struct RecentServer {
    pub address: String,
    pub port: String,
    pub room: String,
}

impl RecentServer {
    /// How the launcher lists it.
    pub fn label(&self) -> String {
        let mut label = self.address.clone();
        if !self.port.is_empty() {
            label.push(':');
            label.push_str(&self.port);
        }
        if !self.room.is_empty() {
            label.push_str(" / ");
            label.push_str(&self.room);
        }
        label
    }
}

impl Remembered {
    /// `server` was just joined: first in the list, once.
    pub fn joined(&mut self, server: RecentServer) {
        self.servers.retain(|s| *s != server);
        self.servers.insert(0, server);
        self.servers.truncate(MAX_SERVERS);
    }

    /// Within the launcher's limits whatever the file said.
    fn bounded(mut self) -> Self {
        let cut = |text: &mut String, max: usize| {
            if let Some((at, _)) = text.char_indices().nth(max) {
                text.truncate(at);
            }
        };
        cut(&mut self.name, MAX_NAME_CHARS);
        self.servers.retain(|s| !s.address.trim().is_empty());
        self.servers.truncate(MAX_SERVERS);
        for server in &mut self.servers {
            cut(&mut server.address, MAX_FIELD_CHARS);
            cut(&mut server.port, MAX_FIELD_CHARS);
            cut(&mut server.room, MAX_FIELD_CHARS);
        }
        // Only a language the game speaks is kept.
        self.language = self
            .language
            .as_deref()
            .and_then(crate::i18n::Lang::parse)
            .map(|lang| lang.code().to_owned());
        self
    }
}

/// The launcher's memory and where it lives (`None`: no config folder, nothing is kept).
#[derive(Resource, Default)]
pub struct LauncherMemory {
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub path: Option<PathBuf>,
    pub remembered: Remembered,
}

#[cfg(not(target_arch = "wasm32"))]
impl LauncherMemory {
    /// Reads the platform's file, warning once on stderr if it is there but unusable.
    pub fn load_default() -> Self {
        let path = directories::ProjectDirs::from("", "", "catchmind")
            .map(|dirs| dirs.config_dir().join("launcher.json"));
        let remembered = match &path {
            Some(path) => {
                let (remembered, warning) = load(path);
                if let Some(warning) = warning {
                    eprintln!("game: {warning}");
                }
                remembered
            }
            None => Remembered::default(),
        };
        Self { path, remembered }
    }

    /// Saves, warning on stderr if it cannot (the game goes on either way).
    pub fn save(&self) {
        if let Some(path) = &self.path
            && let Err(e) = save(path, &self.remembered)
        {
            eprintln!(
                "game: cannot save the launcher's settings to {}: {e}",
                path.display()
            );
        }
    }
}

/// In a browser the memory is the page's local storage, under one key of ours.
#[cfg(target_arch = "wasm32")]
impl LauncherMemory {
    const KEY: &str = "catchmind.launcher";

    /// Reads the page's storage, warning once on the console if our entry is unusable.
    pub fn load_default() -> Self {
        let text = super::browser::storage().and_then(|s| s.get_item(Self::KEY).ok().flatten());
        let remembered = match text.map(|text| parse(&text)) {
            Some(Ok(remembered)) => remembered,
            Some(Err(why)) => {
                warn!("ignoring the launcher's settings in the browser's storage: {why}");
                Remembered::default()
            }
            None => Remembered::default(),
        };
        Self {
            path: None,
            remembered,
        }
    }

    /// Saves, warning on the console if the browser does not let it (private windows, a full
    /// storage): the game goes on either way.
    pub fn save(&self) {
        let Ok(text) = serde_json::to_string(&self.remembered) else {
            return;
        };
        let saved = super::browser::storage().is_some_and(|s| s.set_item(Self::KEY, &text).is_ok());
        if !saved {
            warn!("cannot save the launcher's settings in the browser's storage");
        }
    }
}

/// What a saved text remembers, within the launcher's limits, or why it is unusable.
fn parse(text: &str) -> Result<Remembered, String> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    serde_json::from_str::<Remembered>(text)
        .map(Remembered::bounded)
        .map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
/// Reads `path`: what it remembers (nothing if there is no file) and a warning if the file is
/// there but unusable.
pub fn load(path: &Path) -> (Remembered, Option<String>) {
    let ignored = |why: String| {
        let warning = format!("ignoring the launcher's settings in {}: {why}", path.display());
        (Remembered::default(), Some(warning))
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Remembered::default(), None),
        Err(e) => return ignored(e.to_string()),
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            return ignored(format!("larger than {MAX_FILE_BYTES} bytes"));
        }
        Ok(_) => {}
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return ignored(e.to_string()),
    };
    match parse(&text) {
        Ok(remembered) => (remembered, None),
        Err(e) => ignored(e),
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Writes `remembered` to `path` whole: a temporary file of its own beside it (two windows on
/// one machine save at once), then a rename.
pub fn save(path: &Path, remembered: &Remembered) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(remembered).map_err(std::io::Error::other)?;
    crate::files::write_whole(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("catchmind-memory-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn server(address: &str, room: &str) -> RecentServer {
        RecentServer {
            address: address.into(),
            port: String::new(),
            room: room.into(),
        }
    }

    #[test]
    fn what_is_saved_is_read_back_most_recent_first_and_bounded() {
        let path = folder("round-trip").join("sub").join("launcher.json");
        assert_eq!(
            load(&path),
            (Remembered::default(), None),
            "no file: nothing, no warning"
        );
        let mut remembered = Remembered {
            name: "영희".into(),
            ..Default::default()
        };
        for i in 0..7 {
            remembered.joined(server(&format!("10.0.0.{i}"), ""));
        }
        remembered.joined(server("10.0.0.3", ""));
        assert_eq!(remembered.servers.len(), MAX_SERVERS);
        assert_eq!(remembered.servers[0].address, "10.0.0.3", "again: first, once");
        assert_eq!(
            remembered
                .servers
                .iter()
                .filter(|s| s.address == "10.0.0.3")
                .count(),
            1
        );
        save(&path, &remembered).unwrap();
        assert_eq!(load(&path), (remembered, None));
        assert_eq!(server("example.org", "우리방").label(), "example.org / 우리방");
    }

    #[test]
    fn only_a_language_the_game_speaks_is_remembered() {
        let kept = |language: &str| {
            Remembered {
                language: Some(language.into()),
                ..Remembered::default()
            }
            .bounded()
            .language
        };
        assert_eq!(kept("ko"), Some("ko".into()));
        assert_eq!(kept("ko_KR.UTF-8"), Some("ko".into()));
        assert_eq!(kept("en"), Some("en".into()));
        assert_eq!(kept("klingon"), None);
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_ignored_with_one_warning() {
        let dir = folder("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("launcher.json");
        for bad in [&b"{\"name\": 12"[..], b"\xff\xfe not text", b"[1, 2, 3]"] {
            std::fs::write(&path, bad).unwrap();
            let (remembered, warning) = load(&path);
            assert_eq!(remembered, Remembered::default());
            assert!(warning.is_some_and(|w| w.contains("ignoring")));
        }
        std::fs::write(&path, vec![b' '; 100_000]).unwrap();
        assert!(load(&path).1.is_some_and(|w| w.contains("larger than")));
        // A folder where the file should be: unreadable, ignored.
        let folder_path = dir.join("a-folder");
        std::fs::create_dir_all(&folder_path).unwrap();
        assert!(load(&folder_path).1.is_some());
        // Unknown fields and oversized values: what fits is kept.
        let long = "x".repeat(1000);
        let text = format!(
            r#"{{"name": "{long}", "servers": [{{"address": "a", "extra": 1}}, {{"address": ""}}], "future": true}}"#
        );
        std::fs::write(&path, text).unwrap();
        let (remembered, warning) = load(&path);
        assert_eq!(warning, None);
        assert_eq!(remembered.name.chars().count(), MAX_NAME_CHARS);
        assert_eq!(remembered.servers, [server("a", "")]);
    }

    #[test]
    fn two_windows_saving_at_once_both_succeed_and_leave_a_whole_file() {
        let dir = folder("two-windows");
        let path = dir.join("launcher.json");
        let writers: Vec<_> = ["Ann", "영희"]
            .into_iter()
            .map(|name| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let remembered = Remembered {
                        name: name.into(),
                        servers: (0..MAX_SERVERS)
                            .map(|i| server(&format!("10.0.0.{i}"), name))
                            .collect(),
                        language: None,
                    };
                    for _ in 0..300 {
                        save(&path, &remembered).expect("every save succeeds");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let (remembered, warning) = load(&path);
        assert_eq!(warning, None);
        assert!(["Ann", "영희"].contains(&remembered.name.as_str()));
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
