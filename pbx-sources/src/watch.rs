//! Watching files for change by polling their metadata — one thread per period for the whole
//! process, not a task per file.
//!
//! A CDR file or directory source wakes the engine when its file changes
//! ([`crate::file::FileSource::watch`], [`crate::folder::DirectorySource::watch`]). A fleet
//! serves a thousand sites in one process; a task per watched path, each sleeping 200 ms,
//! made 5 000 wake-ups a second while nothing happened. Here every path watched with the
//! same period shares one thread: one wake-up per period, a `stat` per path. A thread, not a
//! tokio task: it belongs to no runtime, so a runtime that shuts down (each Python
//! `Sideloader` has its own) cannot take the other runtimes' watches with it, and its `stat`s
//! never block an async worker.
//!
//! A path's signature is its inode, length and modification time; a change notifies its
//! handle, and, with a `settle` time, notifies it once more `settle` after the change (so a
//! rule "unchanged for `settle`" is checked again). A handle that is dropped is forgotten at
//! the next tick; when no path is left the thread ends, and the next watch starts one again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

/// Inode, length, modification time.
type Signature = (u64, u64, Option<SystemTime>);

struct Watched {
    path: PathBuf,
    notify: Weak<Notify>,
    last: Option<Signature>,
    settle: Duration,
    again: Option<Instant>,
}

#[derive(Default)]
struct Group {
    entries: Vec<Watched>,
    ticking: bool,
}

/// The watched paths by period.
static GROUPS: Mutex<BTreeMap<Duration, Group>> = Mutex::new(BTreeMap::new());

fn groups() -> std::sync::MutexGuard<'static, BTreeMap<Duration, Group>> {
    GROUPS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn signature(path: &std::path::Path) -> Option<Signature> {
    let m = std::fs::metadata(path).ok()?;
    Some((inode(&m), m.len(), m.modified().ok()))
}

/// The inode number of a file (0 where there is none).
pub(crate) fn inode(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Polls `path`'s metadata every `every`, notifying the returned handle on a change and once
/// more `settle` after it (`Duration::ZERO`: not again). Needs no runtime.
pub(crate) fn watch_metadata(path: PathBuf, every: Duration, settle: Duration) -> Arc<Notify> {
    let every = every.max(Duration::from_millis(1));
    let notify = Arc::new(Notify::new());
    let entry = Watched {
        last: signature(&path),
        path,
        notify: Arc::downgrade(&notify),
        settle,
        again: None,
    };
    let mut g = groups();
    let group = g.entry(every).or_default();
    group.entries.push(entry);
    if !group.ticking {
        let spawned = std::thread::Builder::new()
            .name("pbx-watch".into())
            .spawn(move || tick(every));
        match spawned {
            Ok(_) => group.ticking = true,
            // The engine still reads on its poll interval; only the early wake-up is lost.
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the file watcher thread; files are read on the poll interval only (a served CDR file every 30 s at least)")
            }
        }
    }
    notify
}

fn tick(every: Duration) {
    loop {
        std::thread::sleep(every);
        // Checked without the lock held; paths watched meanwhile join the group's list.
        let mut entries = std::mem::take(&mut groups().entry(every).or_default().entries);
        let now = Instant::now();
        entries.retain_mut(|w| {
            let Some(n) = w.notify.upgrade() else {
                return false;
            };
            let sig = signature(&w.path);
            if sig != w.last {
                w.last = sig;
                n.notify_one();
                w.again = (!w.settle.is_zero()).then(|| now + w.settle);
            } else if w.again.is_some_and(|t| now >= t) {
                w.again = None;
                n.notify_one();
            }
            true
        });
        let mut g = groups();
        let group = g.entry(every).or_default();
        group.entries.append(&mut entries);
        if group.entries.is_empty() {
            // Cleared under the lock, so a watch that comes next starts a new thread.
            group.ticking = false;
            return;
        }
    }
}

/// How many paths are watched every `every`; `None` while the watcher is checking them (its
/// list is out then).
#[cfg(all(test, feature = "runtime"))]
pub(crate) fn watched(every: Duration) -> Option<usize> {
    let g = groups();
    match g.get(&every) {
        None => Some(0),
        Some(group) if group.entries.is_empty() && group.ticking => None,
        Some(group) => Some(group.entries.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_thread_notices_changes_of_many_paths_and_forgets_dropped_handles() {
        let dir = std::env::temp_dir().join(format!("pbx-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let every = Duration::from_millis(17);
        let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("f{i}"))).collect();
        for p in &paths {
            std::fs::write(p, "a").unwrap();
        }
        let handles: Vec<Arc<Notify>> = paths
            .iter()
            .map(|p| watch_metadata(p.clone(), every, Duration::ZERO))
            .collect();
        // The thread takes the list out while it checks it: look between two checks.
        let mut listed = 0;
        for _ in 0..100 {
            listed = groups()[&every].entries.len();
            if listed == 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(listed, 3);
        std::fs::write(&paths[1], "ab").unwrap();
        tokio::time::timeout(Duration::from_secs(5), handles[1].notified())
            .await
            .expect("the changed file notifies");
        // The unchanged ones did not.
        let quiet = tokio::time::timeout(Duration::from_millis(60), handles[0].notified()).await;
        assert!(quiet.is_err(), "an unchanged file does not notify");
        drop(handles);
        for _ in 0..200 {
            tokio::time::sleep(every).await;
            let g = groups();
            if g.get(&every)
                .is_none_or(|g| g.entries.is_empty() && !g.ticking)
            {
                break;
            }
        }
        let g = groups();
        let group = g.get(&every).unwrap();
        assert!(group.entries.is_empty(), "dropped handles are forgotten");
        assert!(!group.ticking, "the thread ends when nothing is watched");
        drop(g);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_watch_outlives_the_runtime_that_started_the_watcher() {
        let dir = std::env::temp_dir().join(format!("pbx-watch-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let every = Duration::from_millis(19);
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        // The first runtime starts the watcher, then shuts down (a Python `Sideloader` dropped).
        let first = runtime();
        let kept_a = first.block_on(async { watch_metadata(a.clone(), every, Duration::ZERO) });
        let second = runtime();
        let watch_b = second.block_on(async { watch_metadata(b.clone(), every, Duration::ZERO) });
        drop(first);
        std::fs::write(&b, "bb").unwrap();
        second
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(5), watch_b.notified()).await
            })
            .expect("the second runtime's watch still notifies");
        drop((kept_a, watch_b));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
