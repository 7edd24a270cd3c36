//! Saving drawings as PNG files: the file format, safe names from what peers chose, and the
//! gallery folder that keeps the newest drawings the game saved there (and nothing else).

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Drawings the gallery keeps; older ones the game saved are deleted.
pub const GALLERY_LIMIT: usize = 500;
/// Longest part of a file name taken from a peer (room, word, drawer), in characters.
const NAME_PART_CHARS: usize = 32;

#[derive(Debug, Error)]
pub enum SaveError {
    #[error("cannot encode the PNG: {0}")]
    Encode(#[from] png::EncodingError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no data folder found for the gallery; choose one with --gallery DIR")]
    NoFolder,
}

impl crate::i18n::Describe for SaveError {
    fn describe(&self) -> String {
        match self {
            SaveError::Encode(e) => crate::t!("err-save-encode", why = e.to_string()),
            SaveError::Write { path, source } => {
                crate::t!(
                    "err-save-write",
                    path = path.display().to_string(),
                    why = source.to_string()
                )
            }
            SaveError::NoFolder => crate::t!("err-save-no-folder"),
        }
    }
}

/// Encodes tightly packed 8-bit RGBA pixels as a PNG.
pub fn encode_png(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, SaveError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(bytes)
}

/// Makes text from a peer safe inside a file name: no separators, no "..", no control or
/// reserved characters, at most [`NAME_PART_CHARS`] characters, never empty.
pub fn file_part(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '.' => '_',
            c if c.is_control() || c.is_whitespace() => '_',
            c => c,
        })
        .take(NAME_PART_CHARS)
        .collect();
    let trimmed = cleaned.trim_matches('_');
    if trimmed.is_empty() {
        "drawing".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `room_word_drawer_2026-12-07_14-03-22.png`, every part made safe; `word` once it is known;
/// `stamp` from [`local_stamp`].
pub fn file_name(room: &str, word: Option<&str>, drawer: &str, stamp: &str) -> String {
    let mut parts = vec![file_part(room)];
    if let Some(word) = word {
        parts.push(file_part(word));
    }
    parts.push(file_part(drawer));
    parts.push(file_part(stamp));
    format!("{}.png", parts.join("_"))
}

/// The local date and time as a file name takes it: `2026-12-07_14-03-22`.
pub fn local_stamp() -> String {
    chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string()
}

/// The default gallery folder, in the user's data directory.
pub fn default_folder() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "catchmind").map(|dirs| dirs.data_dir().join("gallery"))
}

/// The file, in a gallery folder, listing the drawings the game saved there, oldest first: the
/// only files it ever deletes (the folder may be the player's own, `--gallery ~/Pictures`).
pub const RECORD_FILE: &str = "catchmind-gallery.txt";
const RECORD_HEADER: &str = "# Drawings Catch Mind saved in this folder, oldest first. Beyond 500 it deletes the\n# oldest of these files, and never any other file.\n";
/// A larger record is not ours: it is left alone and nothing is pruned.
const MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// Names tried when the first is taken (`name_2.png`, ...): a file is never overwritten.
const MAX_NAME_TRIES: u32 = 100;

/// Writes a PNG into `folder` (created if needed) under `name`, or `name_2`, `name_3`... if a
/// file already has it (nothing is ever overwritten), records it, then deletes the oldest
/// drawings the game recorded beyond [`GALLERY_LIMIT`]. Returns the file's path.
pub fn save(folder: &Path, name: &str, png: &[u8]) -> Result<PathBuf, SaveError> {
    save_keeping(folder, name, png, GALLERY_LIMIT)
}

fn save_keeping(folder: &Path, name: &str, png: &[u8], keep: usize) -> Result<PathBuf, SaveError> {
    use std::io::Write;
    let write_err = |path: &Path, source| SaveError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(|e| write_err(folder, e))?;
    let stem = name.strip_suffix(".png").unwrap_or(name);
    let mut tries = (1..=MAX_NAME_TRIES).map(|n| match n {
        1 => format!("{stem}.png"),
        n => format!("{stem}_{n}.png"),
    });
    let (path, file) = loop {
        let Some(candidate) = tries.next() else {
            let path = folder.join(name);
            return Err(write_err(&path, std::io::ErrorKind::AlreadyExists.into()));
        };
        let path = folder.join(&candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => break (path, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(&path, e)),
        }
    };
    // The file is closed at the block's end, before a failed one is removed (Windows removes
    // no open file).
    let written = {
        let mut file = file;
        file.write_all(png).and_then(|()| file.sync_all())
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(write_err(&path, e));
    }
    if let Some(saved) = path.file_name().and_then(|n| n.to_str()) {
        record_and_prune(folder, saved, keep);
    }
    Ok(path)
}

/// The names the record lists, oldest first: plain `.png` file names only (a line naming
/// another folder or file kind is ignored, whoever wrote it).
fn read_record(folder: &Path) -> Option<Vec<String>> {
    let path = folder.join(RECORD_FILE);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > MAX_RECORD_BYTES => return None,
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vec::new()),
        Err(_) => return None,
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter(|line| is_plain_png_name(line))
            .map(str::to_owned)
            .collect(),
    )
}

fn is_plain_png_name(name: &str) -> bool {
    name.ends_with(".png")
        && !name.starts_with('.')
        && !name.contains(['/', '\\', ':'])
        && !name.chars().any(char::is_control)
}

/// Adds `saved` to the folder's record, deletes the oldest recorded drawings beyond `keep`
/// (and forgets those already gone), and writes the record back whole.
fn record_and_prune(folder: &Path, saved: &str, keep: usize) {
    let Some(mut names) = read_record(folder) else {
        return;
    };
    names.retain(|name| name != saved && folder.join(name).is_file());
    names.push(saved.to_owned());
    if names.len() > keep {
        let old: Vec<String> = names.drain(..names.len() - keep).collect();
        for name in old {
            let _ = std::fs::remove_file(folder.join(name));
        }
    }
    let mut text = String::from(RECORD_HEADER);
    for name in &names {
        text.push_str(name);
        text.push('\n');
    }
    let _ = crate::files::write_whole(&folder.join(RECORD_FILE), text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_peers_cannot_escape_the_folder() {
        assert_eq!(file_part("../../etc/passwd"), "etc_passwd");
        assert_eq!(file_part("a/b\\c"), "a_b_c");
        assert_eq!(file_part(".."), "drawing");
        assert_eq!(file_part(""), "drawing");
        assert_eq!(file_part("사과 나무"), "사과_나무");
        assert_eq!(file_part(&"가".repeat(100)).chars().count(), NAME_PART_CHARS);
        let name = file_name("lobby", Some("사과"), "../철수", "2026-12-07_14-03-22");
        assert_eq!(name, "lobby_사과_철수_2026-12-07_14-03-22.png");
        assert!(!name.contains('/') && !name.contains(".."));
    }

    fn scratch(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("catchmind-gallery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        folder
    }

    fn tiny_png() -> Vec<u8> {
        encode_png(&[255; 4], 1, 1).unwrap()
    }

    #[test]
    fn png_round_trips() {
        let pixels: Vec<u8> = (0..4 * 3 * 2).map(|i| (i * 10) as u8).collect();
        let png_bytes = encode_png(&pixels, 3, 2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut out).unwrap();
        assert_eq!(out, pixels);
    }

    #[test]
    fn the_gallery_keeps_its_newest_drawings_and_never_deletes_what_it_did_not_write() {
        let folder = scratch("foreign");
        std::fs::create_dir_all(&folder).unwrap();
        // The player's own pictures, one named as the game would name a drawing.
        let theirs = ["holiday.png", "lobby_Ann_2026-01-01_10-00-00.png"];
        for name in theirs {
            std::fs::write(folder.join(name), b"their photo").unwrap();
        }
        let png = tiny_png();
        for i in 0..GALLERY_LIMIT + 100 {
            save(&folder, &format!("lobby_d{i}.png"), &png).unwrap();
        }
        for name in theirs {
            assert_eq!(
                std::fs::read(folder.join(name)).unwrap(),
                b"their photo",
                "{name} is the player's"
            );
        }
        let ours: Vec<String> = read_record(&folder).unwrap();
        assert_eq!(ours.len(), GALLERY_LIMIT);
        assert_eq!(
            ours.first().map(String::as_str),
            Some("lobby_d100.png"),
            "the oldest went first"
        );
        let pngs = std::fs::read_dir(&folder)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
            .count();
        assert_eq!(pngs, GALLERY_LIMIT + theirs.len());
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_name_already_taken_gets_a_number_rather_than_overwriting() {
        let folder = scratch("taken");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("a.png"), b"theirs").unwrap();
        let png = tiny_png();
        let first = save_keeping(&folder, "a.png", &png, 2).unwrap();
        let second = save_keeping(&folder, "a.png", &png, 2).unwrap();
        assert_eq!(first.file_name().unwrap(), "a_2.png");
        assert_eq!(second.file_name().unwrap(), "a_3.png");
        assert_eq!(std::fs::read(folder.join("a.png")).unwrap(), b"theirs");
        // Beyond the two kept, the oldest of the game's own goes, and only that.
        save_keeping(&folder, "b.png", &png, 2).unwrap();
        assert!(!folder.join("a_2.png").exists());
        assert!(folder.join("a.png").exists() && folder.join("a_3.png").exists());
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_record_naming_other_files_deletes_nothing_outside_the_folder() {
        let folder = scratch("record");
        let outside = scratch("record-outside");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("keep.png"), b"x").unwrap();
        std::fs::write(folder.join("notes.txt"), b"x").unwrap();
        let record = format!(
            "../{}/keep.png\nnotes.txt\n{}\n",
            outside.file_name().unwrap().to_str().unwrap(),
            outside.join("keep.png").display()
        );
        std::fs::write(folder.join(RECORD_FILE), record).unwrap();
        let png = tiny_png();
        for i in 0..3 {
            save_keeping(&folder, &format!("d{i}.png"), &png, 1).unwrap();
        }
        assert!(outside.join("keep.png").exists() && folder.join("notes.txt").exists());
        assert_eq!(read_record(&folder).unwrap(), ["d2.png"]);
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn file_names_carry_a_readable_local_time() {
        let stamp = local_stamp();
        let bytes = stamp.as_bytes();
        assert_eq!(stamp.len(), 19, "{stamp}");
        assert!(
            bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' && bytes[10] == b'_',
            "{stamp}"
        );
        assert_eq!(
            file_name("lobby", None, "Ann", &stamp),
            format!("lobby_Ann_{stamp}.png")
        );
    }
}
