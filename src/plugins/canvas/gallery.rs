//! Saving drawings as PNG files: the file format, safe names from what peers chose, and the
//! gallery folder that keeps the newest drawings.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Drawings the gallery keeps; older ones are deleted.
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

/// `room_word_drawer_time.png`, every part made safe; `word` once it is known.
pub fn file_name(room: &str, word: Option<&str>, drawer: &str, unix_secs: u64) -> String {
    let mut parts = vec![file_part(room)];
    if let Some(word) = word {
        parts.push(file_part(word));
    }
    parts.push(file_part(drawer));
    parts.push(unix_secs.to_string());
    format!("{}.png", parts.join("_"))
}

/// The default gallery folder, in the user's data directory.
pub fn default_folder() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "catchmind").map(|dirs| dirs.data_dir().join("gallery"))
}

/// Writes a PNG into `folder` (created if needed), then deletes all but the newest
/// [`GALLERY_LIMIT`] PNGs there. Returns the file's path.
pub fn save(folder: &Path, name: &str, png: &[u8]) -> Result<PathBuf, SaveError> {
    let write_err = |path: &Path, source| SaveError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(|e| write_err(folder, e))?;
    let path = folder.join(name);
    std::fs::write(&path, png).map_err(|e| write_err(&path, e))?;
    prune(folder, GALLERY_LIMIT);
    Ok(path)
}

/// Keeps the newest `keep` PNG files in `folder` (by modification time, then name).
fn prune(folder: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut pngs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    if pngs.len() <= keep {
        return;
    }
    pngs.sort();
    for (_, old) in &pngs[..pngs.len() - keep] {
        let _ = std::fs::remove_file(old);
    }
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
        let name = file_name("lobby", Some("사과"), "../철수", 1_700_000_000);
        assert_eq!(name, "lobby_사과_철수_1700000000.png");
        assert!(!name.contains('/') && !name.contains(".."));
    }

    #[test]
    fn png_round_trips_and_the_gallery_keeps_the_newest() {
        let pixels: Vec<u8> = (0..4 * 3 * 2).map(|i| (i * 10) as u8).collect();
        let png_bytes = encode_png(&pixels, 3, 2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut out).unwrap();
        assert_eq!(out, pixels);

        let folder = std::env::temp_dir().join(format!("catchmind-gallery-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        for i in 0..5 {
            save(&folder, &format!("d{i}.png"), &png_bytes).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        prune(&folder, 3);
        let mut left: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["d2.png", "d3.png", "d4.png"]);
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
