//! High availability: one sideloader of several delivers, the one holding the PostgreSQL
//! advisory lock `ha.lock_key`.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use tokio::sync::watch;

use super::{HaConfig, SideloaderEngine};
use crate::Error;
use crate::postgres::{Connection, try_acquire_leadership};

/// With `ha`: stands by until this instance holds the PostgreSQL advisory lock
/// `ha.lock_key` (tried every `ha.poll_secs`), then runs the engine while it does — the
/// engine reads the checkpoint only then, so it resumes where the last leader stopped.
/// Losing the lock or its connection stops delivery and fails: another instance may be
/// delivering by then, and a restart (systemd `Restart=`) comes back as a standby.
pub(super) async fn lead(
    engine: &mut SideloaderEngine,
    ha: &HaConfig,
    mut conn: Connection,
    mut stop: watch::Receiver<bool>,
    leader: &AtomicBool,
) -> Result<(), Error> {
    tracing::info!(
        lock_key = ha.lock_key,
        target = conn.target(),
        "standby: waiting for the leadership lock"
    );
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let held = match conn.client().await {
            Ok(client) => try_acquire_leadership(client, ha.lock_key).await,
            Err(e) => Err(e),
        };
        match held {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot try the leadership lock; trying again");
                conn.reset_if_lost(&e);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(ha.poll) => {}
            _ = stop.changed() => {}
        }
    }
    let session = conn.generation();
    leader.store(true, Ordering::Relaxed);
    tracing::info!(lock_key = ha.lock_key, "leader: delivering");
    let (lead_tx, lead_rx) = watch::channel(false);
    let mut run = std::pin::pin!(engine.run(lead_rx, Utc::now));
    loop {
        tokio::select! {
            result = &mut run => return result,
            _ = stop.changed() => {
                let _ = lead_tx.send(true);
                return run.await;
            }
            () = tokio::time::sleep(ha.poll) => {
                // The lock lives as long as its session: a new connection is a new session,
                // which another instance may have beaten to the lock.
                let held = match conn.client().await {
                    Ok(client) => try_acquire_leadership(client, ha.lock_key).await,
                    Err(e) => Err(e),
                };
                let lost = match held {
                    Ok(true) if conn.generation() == session => None,
                    Ok(_) => Some(None),
                    Err(e) => Some(Some(Box::new(e))),
                };
                if let Some(cause) = lost {
                    leader.store(false, Ordering::Relaxed);
                    let _ = lead_tx.send(true);
                    let _ = run.await;
                    return Err(Error::LostLeadership { cause });
                }
            }
        }
    }
}
