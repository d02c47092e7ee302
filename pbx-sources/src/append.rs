//! Appending one whole line to a file we own (the JSON-lines call sink, the quarantine).

use std::io::Write;
use std::path::Path;

/// Appends `line` (which ends in `\n`) to `path` and syncs it; creates the file if needed. An
/// append that fails part-way is cut back, so the next line starts on a line of its own and
/// never glues to a torn one.
pub(crate) fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let before = f.metadata()?.len();
    let written = f.write_all(line).and_then(|()| f.sync_data());
    if written.is_err() && f.metadata().is_ok_and(|m| m.is_file() && m.len() > before) {
        let _ = f.set_len(before);
    }
    written
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_appended_whole() {
        let path = std::env::temp_dir().join(format!("pbx-append-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        super::append_line(&path, b"a\n").unwrap();
        super::append_line(&path, b"b\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb\n");
        let _ = std::fs::remove_file(&path);
    }
}
