//! [`scratch`]: a fresh directory for one test.

use std::path::PathBuf;

/// A fresh, empty scratch directory for one test: `<tmp>/pbx-<test binary>-<pid>-<name>`
/// (removed first if a former run left it). Unique per test binary and process; `name` tells
/// the tests of one binary apart.
///
/// ```
/// let dir = pbx_testkit::scratch("example");
/// std::fs::write(dir.join("f"), "x").unwrap();
/// assert!(pbx_testkit::scratch("example").read_dir().unwrap().next().is_none()); // fresh again
/// ```
pub fn scratch(name: &str) -> PathBuf {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "test".to_owned());
    let dir = std::env::temp_dir().join(format!("pbx-{binary}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
