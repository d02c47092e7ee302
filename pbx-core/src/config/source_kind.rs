//! [`SourceKind`]: the `source.kind` of a configuration, as a value.

/// Which kind of CDR source a [`SourceConfig`](super::SourceConfig) is: the YAML's `source.kind`. `Display` writes
/// the code (see [`crate::vocab`]).
///
/// ```
/// use pbx_core::config::{SourceConfig, SourceKind};
/// let file = SourceConfig::File { path: "cdr.log".into() };
/// assert_eq!(file.kind(), SourceKind::File);
/// assert_eq!(SourceKind::PostgresCallLog.code(), "postgres_cl");
/// assert_eq!("socket_listen".parse::<SourceKind>()?, SourceKind::SocketListen);
/// assert!(SourceKind::SocketListen.is_text());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// [`SourceConfig::PostgresCdrOutput`](super::SourceConfig::PostgresCdrOutput).
    PostgresCdrOutput,
    /// [`SourceConfig::PostgresCallLog`](super::SourceConfig::PostgresCallLog).
    PostgresCallLog,
    /// [`SourceConfig::PostgresTable`](super::SourceConfig::PostgresTable).
    PostgresTable,
    /// [`SourceConfig::MssqlTable`](super::SourceConfig::MssqlTable).
    MssqlTable,
    /// [`SourceConfig::SocketListen`](super::SourceConfig::SocketListen).
    SocketListen,
    /// [`SourceConfig::SocketConnect`](super::SourceConfig::SocketConnect).
    SocketConnect,
    /// [`SourceConfig::File`](super::SourceConfig::File).
    File,
    /// [`SourceConfig::Directory`](super::SourceConfig::Directory).
    Directory,
}

crate::vocab::vocabulary!(
    /// The kind as written in the YAML's `source.kind`: `postgres_cdroutput`, `postgres_cl`,
    /// `postgres_table`, `mssql_table`, `socket_listen`, `socket_connect`, `file` or
    /// `directory`.
    SourceKind, "source.kind",
    {
        Self::PostgresCdrOutput => "postgres_cdroutput",
        Self::PostgresCallLog => "postgres_cl",
        Self::PostgresTable => "postgres_table",
        Self::MssqlTable => "mssql_table",
        Self::SocketListen => "socket_listen",
        Self::SocketConnect => "socket_connect",
        Self::File => "file",
        Self::Directory => "directory",
    },
    all: [
        Self::PostgresCdrOutput, Self::PostgresCallLog, Self::PostgresTable, Self::MssqlTable,
        Self::SocketListen, Self::SocketConnect, Self::File, Self::Directory,
    ],
    display: code
);

impl SourceKind {
    /// Whether the source reads CDR text lines (a socket, a file, a directory of files)
    /// rather than database rows.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            SourceKind::SocketListen
                | SourceKind::SocketConnect
                | SourceKind::File
                | SourceKind::Directory
        )
    }
}
