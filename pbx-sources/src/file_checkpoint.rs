//! Checkpoint stores: a file, written atomically.

use crate::{CheckpointError, FileError};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use pbx_core::{Checkpoint, CheckpointStore};

use crate::Error;

/// Checkpoints in one JSON file (`{"key": "checkpoint", …}`), replaced atomically on every
/// save: write a temporary file beside it, fsync, rename over, fsync the directory.
///
/// A file that is not of that shape — garbage, `{}`, a value that is not a non-empty string, or
/// (with [`FileCheckpointStore::expecting_keys`]) a key this program does not write — is
/// [`CheckpointError::CorruptCheckpoint`]: never read as "no checkpoint", which would deliver
/// everything again.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use pbx_core::{Checkpoint, CheckpointStore};
/// let dir = std::env::temp_dir().join(format!("pbx-doc-{}", std::process::id()));
/// let store = pbx_sources::file_checkpoint::FileCheckpointStore::new(dir.join("checkpoint.json"));
/// store.save("cdr", &Checkpoint::new("42")).await.unwrap();
/// assert_eq!(store.load("cdr").await.unwrap(), Some(Checkpoint::new("42")));
/// # std::fs::remove_dir_all(dir).unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
    /// The keys this program writes (see [`FileCheckpointStore::expecting_keys`]).
    known_keys: Option<fn(&str) -> bool>,
    /// The exclusive lock, once taken ([`FileCheckpointStore::locked`]).
    held: Option<crate::file_lock::FileLock>,
}

/// The largest checkpoint file read: checkpoints are a few hundred bytes; a larger file (or
/// `/dev/zero`) is not read past this and is [`CheckpointError::CorruptCheckpoint`].
pub const MAX_CHECKPOINT_BYTES: usize = 1024 * 1024;

impl FileCheckpointStore {
    /// A store in `path` (created, with its folder, on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpointStore {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
            known_keys: None,
            held: None,
        }
    }

    /// Takes an exclusive lock on the file (on `<path>.lock` beside it, see
    /// [`crate::file_lock`]) for as long as the store lives: a second process pointed at the
    /// same file is refused instead of overwriting this one's checkpoints.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("pbx-doc-lock-{}", std::process::id()));
    /// use pbx_sources::file_checkpoint::FileCheckpointStore;
    /// let first = FileCheckpointStore::new(dir.join("checkpoint.json")).locked().unwrap();
    /// let second = FileCheckpointStore::new(dir.join("checkpoint.json")).locked();
    /// assert_eq!(second.unwrap_err().kind().code(), "in_use");
    /// # drop(first);
    /// # std::fs::remove_dir_all(dir).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`FileError::InUse`] when another process holds it; [`FileError::Io`] when the lock file
    /// cannot be created.
    pub fn locked(mut self) -> Result<Self, Error> {
        if self.held.is_none() {
            self.held = Some(crate::file_lock::lock_exclusive(
                &self.path,
                "checkpoint file",
            )?);
        }
        Ok(self)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Only keys `known` accepts may be in the file: one holding another key (`{"foo": "bar"}`) is
    /// [`CheckpointError::CorruptCheckpoint`], not "no checkpoint yet" — which would start delivery
    /// again from the first record.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use pbx_core::CheckpointStore;
    /// let dir = std::env::temp_dir().join(format!("pbx-doc-keys-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("checkpoint.json"), r#"{"foo": "bar"}"#).unwrap();
    /// let store = pbx_sources::file_checkpoint::FileCheckpointStore::new(dir.join("checkpoint.json"))
    ///     .expecting_keys(|k| k == "cdr" || k.starts_with("backfill:"));
    /// let err = store.load("cdr").await.unwrap_err();
    /// assert!(err.to_string().contains("fix or remove it deliberately"), "{err}");
    /// # std::fs::remove_dir_all(dir).unwrap();
    /// # });
    /// ```
    pub fn expecting_keys(mut self, known: fn(&str) -> bool) -> Self {
        self.known_keys = Some(known);
        self
    }

    /// Runs the file work `f` on tokio's blocking pool (it reads, writes and fsyncs), so a
    /// slow disk does not stall the runtime's threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path))
            .await
            .map_err(|e| io(&self.path, std::io::Error::other(e)))?
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::File(FileError::Io {
        what: "checkpoint file",
        path: path.to_owned(),
        source,
    })
}

/// The file's checkpoints; none when it does not exist. Anything but a non-empty mapping of
/// `known` names to non-empty checkpoints is [`CheckpointError::CorruptCheckpoint`].
fn read(
    path: &Path,
    known_keys: Option<fn(&str) -> bool>,
) -> Result<BTreeMap<String, String>, Error> {
    let corrupt = |reason: String| {
        Error::Checkpoint(CheckpointError::CorruptCheckpoint {
            store: format!("file {}", path.display()),
            key: None,
            reason,
        })
    };
    let text = match crate::bounded::read_file_limited(path, MAX_CHECKPOINT_BYTES) {
        Ok(t) => t,
        Err(Error::File(FileError::ReadFile { source, .. })) => {
            return match source.kind() {
                std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
                std::io::ErrorKind::InvalidData => Err(corrupt(source.to_string())),
                _ => Err(io(path, source)),
            };
        }
        Err(Error::File(FileError::FileTooLarge { limit, .. })) => {
            return Err(corrupt(format!(
                "it is over the limit of {limit} bytes, not a checkpoint file"
            )));
        }
        Err(e) => return Err(e),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let serde_json::Value::Object(entries) = value else {
        return Err(corrupt(
            "not a mapping of checkpoint names to checkpoints".into(),
        ));
    };
    // Every save writes at least one entry: an empty mapping was not written by a store.
    if entries.is_empty() {
        return Err(corrupt("it holds no checkpoint".into()));
    }
    let mut all = BTreeMap::new();
    for (key, value) in entries {
        if key.trim().is_empty() || known_keys.is_some_and(|known| !known(&key)) {
            return Err(corrupt(format!(
                "{key:?} is not the name of a checkpoint this program writes"
            )));
        }
        match value {
            serde_json::Value::String(cp)
                if !cp.trim().is_empty() && !cp.chars().any(char::is_control) =>
            {
                all.insert(key, cp);
            }
            other => {
                return Err(corrupt(format!(
                    "the checkpoint {key:?} is {other}, not a position"
                )));
            }
        }
    }
    Ok(all)
}

fn write(path: &Path, all: &BTreeMap<String, String>) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(path, e))?;
    let tmp = temporary_path(path);
    let body = serde_json::to_vec_pretty(all).map_err(|e| io(path, std::io::Error::other(e)))?;
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(path, e))
}

/// A temporary name beside `path` that no other writer uses: `<name>.<pid>.<n>.tmp` (the
/// process id and a per-process counter), so two writers never share a temporary file.
fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[async_trait]
impl CheckpointStore for FileCheckpointStore {
    type Error = Error;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Error> {
        let _guard = self.lock.lock().await;
        let (key, known) = (key.to_owned(), self.known_keys);
        self.blocking(move |path| Ok(read(path, known)?.get(&key).map(Checkpoint::new)))
            .await
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        let _guard = self.lock.lock().await;
        let (key, value, known) = (key.to_owned(), checkpoint.to_string(), self.known_keys);
        self.blocking(move |path| {
            let mut all = read(path, known)?;
            all.insert(key, value);
            write(path, &all)
        })
        .await
    }
}
