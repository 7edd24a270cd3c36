//! Files the game owns, written so that nothing is ever half-written or raced.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` whole: a temporary file of a unique name beside it, then a rename,
/// so a crash mid-write or another window writing at the same time leaves a whole file.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}
