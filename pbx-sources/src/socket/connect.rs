//! Passive mode: connect to the PBX, read, reconnect with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{Batch, ConnectOptions, SocketStats, keepalive, pump};

/// The wait before attempt `failures + 1`: `base · 2^(failures-1)`, capped, with up to 25 %
/// jitter taken off so many sideloaders do not reconnect in step.
fn backoff(options: &ConnectOptions, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let full = options
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(options.backoff_cap);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    full.saturating_sub(full.mul_f64(f64::from(nanos % 250) / 1000.0))
}

/// Connects and reads until aborted.
pub(super) async fn run(options: ConnectOptions, tx: mpsc::Sender<Batch>, stats: Arc<SocketStats>) {
    let mut failures: u32 = 0;
    loop {
        let attempt = tokio::time::timeout(
            options.connect_timeout,
            TcpStream::connect(&options.connect),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => {
                stats.connections.fetch_add(1, Ordering::Relaxed);
                keepalive(&stream);
                tracing::info!(pbx = %options.connect, "CDR socket: connected to the PBX");
                let before = stats.lines.load(Ordering::Relaxed);
                let started = tokio::time::Instant::now();
                let (why, peer_fault) =
                    pump(stream, options.max_line, options.idle_timeout, &tx).await;
                if peer_fault {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(pbx = %options.connect, reason = %why, "CDR socket: connection dropped; reconnecting");
                } else {
                    tracing::info!(pbx = %options.connect, reason = %why, "CDR socket: connection ended; reconnecting");
                }
                if tx.is_closed() {
                    return;
                }
                // A connection that carried data or lasted is a success: start the backoff over.
                let received = stats.lines.load(Ordering::Relaxed) > before;
                if received || started.elapsed() >= options.backoff_cap {
                    failures = 0;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(pbx = %options.connect, error = %e, "CDR socket: cannot connect to the PBX");
            }
            Err(_) => {
                tracing::warn!(pbx = %options.connect, timeout = ?options.connect_timeout, "CDR socket: connecting to the PBX timed out");
            }
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(backoff(&options, failures)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter() {
        let o = ConnectOptions::new("pbx:5000", "j");
        for (f, full) in [(1, 500), (2, 1000), (3, 2000), (10, 30_000), (40, 30_000)] {
            let d = backoff(&o, f).as_millis();
            assert!(d <= full && d * 4 >= full * 3, "{f}: {d} vs {full}");
        }
    }
}
