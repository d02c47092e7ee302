//! Active mode: the listener and one task per connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{Batch, ListenOptions, SocketStats, keepalive, pump};

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn allowed(allow: &[IpAddr], peer: SocketAddr) -> bool {
    let ip = canonical(peer.ip());
    allow.is_empty() || allow.iter().any(|a| canonical(*a) == ip)
}

/// Accepts until aborted; dropping this future (abort) drops every connection task.
pub(super) async fn serve(
    listener: TcpListener,
    options: ListenOptions,
    tx: mpsc::Sender<Batch>,
    stats: Arc<SocketStats>,
) {
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait a little, keep serving.
                tracing::warn!(error = %e, "CDR listener: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !allowed(&options.allow_peers, peer) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, "CDR listener: refused a connection from a peer not in allow_peers");
            continue;
        }
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                %peer,
                max = options.max_connections,
                "CDR listener: refused a connection: too many open connections"
            );
            continue;
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        keepalive(&stream);
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        let stats = Arc::clone(&stats);
        let (max_line, idle) = (options.max_line, options.idle_timeout);
        connections.spawn(async move {
            let _permit = permit;
            tracing::debug!(%peer, "CDR listener: connection accepted");
            let (why, peer_fault) = pump(stream, max_line, Some(idle), &tx).await;
            if peer_fault {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, reason = %why, "CDR listener: connection dropped");
            } else {
                tracing::debug!(%peer, reason = %why, "CDR listener: connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_mapped_ipv4() {
        let allow = ["10.0.0.5".parse().unwrap()];
        assert!(allowed(&allow, "[::ffff:10.0.0.5]:4000".parse().unwrap()));
        assert!(allowed(&allow, "10.0.0.5:4000".parse().unwrap()));
        assert!(!allowed(&allow, "10.0.0.6:4000".parse().unwrap()));
        assert!(allowed(&[], "10.0.0.6:4000".parse().unwrap()));
    }
}
