//! [`CheckpointError`]: checkpoint stores: a checkpoint of the wrong shape, unreadable, moved
//! by another writer, or ahead of its source.

use super::corrupt_where;
use std::path::PathBuf;

/// Checkpoint stores: a checkpoint of the wrong shape, unreadable, moved by another writer, or
/// ahead of its source. Folded into [`crate::Error`] as
/// `pbx_sources::DeliveryError::Checkpoint`; its `kind()`, `is_transient()` and `is_config()`
/// answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A source was given a checkpoint that is not one of its positions: saved by another
    /// source kind, or corrupt. Never read as "start from the beginning", which would deliver
    /// every call again.
    #[error(
        "checkpoint {checkpoint:?} is not {expected}: was it saved by another source kind? it is corrupt otherwise; fix or remove it deliberately"
    )]
    BadCheckpoint {
        /// The checkpoint as saved.
        checkpoint: String,
        /// The form this source writes (`a row id (an integer)`, …).
        expected: &'static str,
    },
    /// A checkpoint store holds something no store wrote (a file that is not a checkpoint
    /// file, an empty or unprintable PostgreSQL row, a key this program does not write). It
    /// is never read as "no checkpoint": starting from zero would send every call again.
    /// Every checkpoint store reports it with this variant.
    #[error("checkpoint {} is corrupt ({reason}); fix or remove it deliberately", corrupt_where(store, key.as_deref()))]
    CorruptCheckpoint {
        /// The store: `file PATH` or `table NAME`.
        store: String,
        /// The key, when one entry is corrupt (the whole store otherwise).
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// Another instance moved the checkpoint since this store last read it: saving would move
    /// it backwards (or over another instance's progress), so it was not saved. Reload and
    /// carry on from the stored value (or stop: two instances are running).
    #[error(
        "checkpoint `{key}` was moved by another instance (stored {stored:?}, this instance expected {expected:?}); not saved"
    )]
    CheckpointConflict {
        /// The source name.
        key: String,
        /// What this instance last read or wrote.
        expected: Option<String>,
        /// What the table holds now.
        stored: Option<String>,
    },
    /// The checkpoint lies beyond the socket journal's end: the journal lost data it had
    /// fsynced.
    #[error(
        "checkpoint {checkpoint} is past the end of the CDR journal in {} (offset {end}); the journal was damaged",
        dir.display()
    )]
    CheckpointAhead {
        /// The checkpoint.
        checkpoint: String,
        /// The journal directory.
        dir: PathBuf,
        /// The journal's end offset.
        end: u64,
    },
}
