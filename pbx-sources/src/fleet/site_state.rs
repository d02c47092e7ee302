//! One site's state in the fleet store: its checkpoints (fenced by the lease epoch) and its
//! quarantine, as the [`CheckpointStore`] and [`Quarantine`] a site's sideloader uses.

use crate::CheckpointError;
use async_trait::async_trait;
use pbx_core::delivery::QuarantineEntry;
use pbx_core::{Checkpoint, CheckpointStore};

use super::store::{FleetStore, Lease};
use crate::Error;
use crate::delivery::Quarantine;

/// The checkpoint store of one site held under one lease: `load` reads the site's row of
/// `<prefix>_checkpoints`; `save` is refused with [`Error::LeaseLost`] once the lease is stale
/// ([`FleetStore::save_checkpoint`]), which stops the site's delivery.
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// use pbx_core::{Checkpoint, CheckpointStore};
/// use pbx_sources::fleet::{FleetStore, Lease, SiteCheckpointStore};
/// let store = FleetStore::new("postgres://pbx@db/pbx", "pbx_fleet")?;
/// let site = SiteCheckpointStore::new(store, "host-a", Lease { site: "berlin".into(), epoch: 3 });
/// site.save("cdr", &Checkpoint::new("42")).await?; // refused once epoch 3 is stale
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SiteCheckpointStore {
    store: FleetStore,
    owner: String,
    lease: Lease,
}

impl SiteCheckpointStore {
    /// The checkpoints of `lease.site`, saved by `owner` under `lease`.
    pub fn new(store: FleetStore, owner: impl Into<String>, lease: Lease) -> Self {
        SiteCheckpointStore {
            store,
            owner: owner.into(),
            lease,
        }
    }

    /// The lease it saves under.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
}

#[async_trait]
impl CheckpointStore for SiteCheckpointStore {
    type Error = Error;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Error> {
        let stored = self.store.load_checkpoint(&self.lease.site, key).await?;
        match stored {
            Some(cp) if cp.trim().is_empty() || cp.chars().any(char::is_control) => {
                Err(Error::Checkpoint(CheckpointError::CorruptCheckpoint {
                    store: format!("the fleet store (site {})", self.lease.site),
                    key: Some(key.to_owned()),
                    reason: format!("the stored value {cp:?} is not a position"),
                }))
            }
            other => Ok(other.map(Checkpoint::new)),
        }
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        self.store
            .save_checkpoint(&self.owner, &self.lease, key, checkpoint.as_str())
            .await
    }
}

/// The quarantine of one site: rows of `<prefix>_quarantine`. The engine's [`Quarantine`]
/// is synchronous, so each put waits for its insert on the runtime's blocking section
/// (`block_in_place`): it needs tokio's multi-threaded runtime (the fleet's), and refuses on
/// another with an I/O error, which stops the site rather than lose the record.
#[derive(Clone, Debug)]
pub struct SiteQuarantine {
    store: FleetStore,
    site: String,
}

impl SiteQuarantine {
    /// The quarantine of `site`.
    pub fn new(store: FleetStore, site: impl Into<String>) -> Self {
        SiteQuarantine {
            store,
            site: site.into(),
        }
    }
}

impl Quarantine for SiteQuarantine {
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()> {
        let handle = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err(std::io::Error::other(
                "the fleet quarantine needs tokio's multi-threaded runtime",
            ));
        }
        tokio::task::block_in_place(|| handle.block_on(self.store.quarantine(&self.site, entry)))
            .map_err(std::io::Error::other)
    }
}
