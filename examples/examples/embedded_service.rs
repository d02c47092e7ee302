//! A Rust service that embeds the sideloader next to its own HTTP routes: one process, one
//! axum app — the service's `GET /hello` beside the sideloader's `/health`, `/status`,
//! `/metrics` and `/trigger/*` — and the sideloader delivering in the background until
//! Ctrl-C (the round in progress finishes, its checkpoint saved).
//!
//! ```text
//! cargo run -p pbx-sideloader --example embedded_service -- examples/config/embedded-default.yml 127.0.0.1:8080
//! curl localhost:8080/hello; curl localhost:8080/status
//! ```
//!
//! Without arguments it runs the embedded default (the bundled sample into `out/`) on
//! `127.0.0.1:8080`.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use pbx_core::config::Config;
use pbx_sources::runtime::{Sideloader, endpoints};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let text = match args.next() {
        Some(path) => std::fs::read_to_string(path)?,
        None => include_str!("../config/embedded-default.yml").to_owned(),
    };
    let listen: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:8080").parse()?;
    let config = Config::from_yaml(&text, &|name| std::env::var(name).ok())?;

    let mut sideloader = Sideloader::from_config(&config).await?;
    let app = Router::new()
        .route("/hello", get(|| async { "hello from the host service\n" }))
        .merge(endpoints::router(sideloader.handle()));

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let delivering = tokio::spawn(async move { sideloader.run(shutdown).await });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("serving /hello and the sideloader's /status on http://{listen}");
    let mut server_stop = stop.subscribe();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = server_stop.changed() => {}
            }
        })
        .await?;
    let _ = stop.send(true);
    delivering.await??;
    Ok(())
}
