//! One lazily (re)made PostgreSQL connection.

use crate::DatabaseError;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};

use crate::Error;

/// A connection that is made on first use and made again after it was lost: sources and
/// stores hold one and ask it for a client before each operation.
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// let mut conn = pbx_sources::postgres::Connection::new("postgres://pbx@127.0.0.1/pbx?sslmode=disable")?;
/// let client = conn.client().await?;
/// client.simple_query("SELECT 1").await.ok();
/// # Ok(()) }
/// ```
pub struct Connection {
    config: Config,
    target: String,
    client: Option<Arc<Client>>,
    generation: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl Connection {
    /// A connection to `url` (libpq URL or key/value string). Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] when the URL does not parse (the message never shows it: it may
    /// hold a password).
    pub fn new(url: &str) -> Result<Self, Error> {
        let mut config: Config = url.parse().map_err(|_| Error::ConnectionString {
            setting: "url",
            source: None,
            reason: "is not a PostgreSQL connection URL (postgres://user@host:port/db?sslmode=…) or key=value string".into(),
        })?;
        if config.get_application_name().is_none() {
            config.application_name("pbx");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        Ok(Self::from_config(config))
    }

    /// A connection from a ready driver configuration.
    pub fn from_config(config: Config) -> Self {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let target = format!(
            "{host}:{port}/{}",
            config.get_dbname().unwrap_or("(default database)")
        );
        Connection {
            config,
            target,
            client: None,
            generation: 0,
        }
    }

    /// `host:port/dbname`, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The client, connecting first when there is none or the last one was lost.
    ///
    /// # Errors
    /// [`DatabaseError::Connect`] or [`DatabaseError::Tls`].
    pub async fn client(&mut self) -> Result<&Client, Error> {
        Ok(self.shared().await?)
    }

    /// The client as a shared handle (for work spawned beside the caller, such as reading
    /// ahead), connecting first as [`Connection::client`] does.
    ///
    /// # Errors
    /// As [`Connection::client`].
    pub async fn shared(&mut self) -> Result<&Arc<Client>, Error> {
        let client = match self.client.take() {
            Some(c) if !c.is_closed() => c,
            _ => {
                let c = Arc::new(self.connect().await?);
                self.generation += 1;
                c
            }
        };
        Ok(self.client.insert(client))
    }

    /// How many connections were made so far: a prepared statement belongs to one.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current client, if connected (without connecting).
    pub fn current(&self) -> Option<Arc<Client>> {
        self.client.as_ref().filter(|c| !c.is_closed()).cloned()
    }

    /// Drops the client after an error that lost the connection, so the next call
    /// reconnects.
    pub fn reset_if_lost(&mut self, error: &Error) {
        if error.is_connection_lost() || self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
    }

    async fn connect(&self) -> Result<Client, Error> {
        let connect_err = |source: tokio_postgres::Error| {
            Error::Database(DatabaseError::Connect {
                service: "PostgreSQL",
                target: self.target.clone(),
                source: Box::new(source),
            })
        };
        let target = self.target.clone();
        if self.config.get_ssl_mode() == SslMode::Disable {
            let (client, conn) = self.config.connect(NoTls).await.map_err(connect_err)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(target = %target, error = %e, "PostgreSQL connection ended");
                }
            });
            Ok(client)
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?);
            let (client, conn) = self.config.connect(tls).await.map_err(connect_err)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(target = %target, error = %e, "PostgreSQL connection ended");
                }
            });
            Ok(client)
        }
    }
}

fn tls_config() -> Result<rustls::ClientConfig, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| {
            Error::Database(DatabaseError::Tls {
                service: "PostgreSQL",
                source,
            })
        })?
        .with_platform_verifier()
        .map_err(|source| {
            Error::Database(DatabaseError::Tls {
                service: "PostgreSQL",
                source,
            })
        })?
        .with_no_client_auth())
}
