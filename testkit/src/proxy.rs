//! [`serve_resetting_proxy`]: a network that cuts connections.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Rng;

/// A TCP proxy to `backend` that resets one connection in ten (RST, `SO_LINGER` 0) after
/// a random number of request bytes — mid-request or between requests, so some calls are
/// stored and their answer lost.
///
/// # Panics
/// When no loopback port can be bound.
pub fn serve_resetting_proxy(runtime: &tokio::runtime::Runtime, backend: SocketAddr) -> SocketAddr {
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let mut rng = Rng(99);
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let budget = if rng.below(10) == 0 {
                200 + rng.below(40_000) as usize
            } else {
                usize::MAX
            };
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(backend).await else {
                    return;
                };
                // Linger 0 only makes the close a reset; it never blocks the thread (the
                // reason tokio deprecates `set_linger`).
                #[allow(deprecated)]
                let _ = client.set_linger(Some(Duration::ZERO));
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 4096];
                    let mut sent = 0usize;
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let n = n.min(budget - sent);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        sent += n;
                        if sent >= budget {
                            // Let the server act on what it got, then reset.
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            return;
                        }
                    }
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::select! {
                    () = up => {}
                    () = down => {}
                }
                // Dropping the halves closes the client socket with RST (linger 0).
            });
        }
    });
    addr
}
