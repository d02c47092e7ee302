//! Checkpoint stores: a file, written atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use pbx_core::{Checkpoint, CheckpointStore};

/// Why a checkpoint file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading or writing failed.
    #[error("checkpoint file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists but is not a checkpoint file (corrupt or truncated). It is never
    /// silently replaced: starting from zero would send every call again.
    #[error("checkpoint file {path} is corrupt ({reason}); fix or remove it deliberately")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Checkpoints in one JSON file (`{"key": "checkpoint", …}`), replaced atomically on every
/// save: write a temporary file beside it, fsync, rename over, fsync the directory.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use pbx_core::{Checkpoint, CheckpointStore};
/// let dir = std::env::temp_dir().join(format!("pbx-doc-{}", std::process::id()));
/// let store = pbx_sources::checkpoint::FileCheckpointStore::new(dir.join("checkpoint.json"));
/// store.save("cdr", &Checkpoint::new("42")).await.unwrap();
/// assert_eq!(store.load("cdr").await.unwrap(), Some(Checkpoint::new("42")));
/// # std::fs::remove_dir_all(dir).unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileCheckpointStore {
    /// A store in `path` (created, with its folder, on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpointStore {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs the file work `f` on tokio's blocking pool (it reads, writes and fsyncs), so a
    /// slow disk does not stall the runtime's threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> Result<T, CheckpointError> + Send + 'static,
    ) -> Result<T, CheckpointError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path))
            .await
            .map_err(|e| io(&self.path, std::io::Error::other(e.to_string())))?
    }
}

fn io(path: &Path, source: std::io::Error) -> CheckpointError {
    CheckpointError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<BTreeMap<String, String>, CheckpointError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io(path, e)),
    };
    serde_json::from_str(&text).map_err(|e| CheckpointError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn write(path: &Path, all: &BTreeMap<String, String>) -> Result<(), CheckpointError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(path, e))?;
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec_pretty(all).map_err(|e| io(path, std::io::Error::other(e)))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(path, e))?;
    f.write_all(&body).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(path, e))
}

#[async_trait]
impl CheckpointStore for FileCheckpointStore {
    type Error = CheckpointError;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, CheckpointError> {
        let _guard = self.lock.lock().await;
        let key = key.to_owned();
        self.blocking(move |path| Ok(read(path)?.get(&key).map(Checkpoint::new)))
            .await
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let _guard = self.lock.lock().await;
        let (key, value) = (key.to_owned(), checkpoint.to_string());
        self.blocking(move |path| {
            let mut all = read(path)?;
            all.insert(key, value);
            write(path, &all)
        })
        .await
    }
}
