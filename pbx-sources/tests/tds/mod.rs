//! A TDS test double: a small in-process stand-in for SQL Server, following MS-TDS (7.4) for
//! the part a keyset-paging client uses. No SQL Server can be installed on the test machines.
//!
//! - PRELOGIN → answers encryption NOT_SUP (the double speaks no TLS), so clients must
//!   connect with `encrypt=DANGER_PLAINTEXT`; a client that requires TLS gives up by itself.
//! - LOGIN7 → decodes user, (obfuscated) password and database; right ones get
//!   ENVCHANGE(database) + ENVCHANGE(collation) + LOGINACK + ENVCHANGE(packet size) + DONE,
//!   wrong ones ERROR 18456 + DONE(error) and the connection is closed, as SQL Server does.
//! - SQLBatch and RPC (`sp_executesql`, by id or name) → the statement is parsed (a tiny
//!   grammar: `SELECT TOP (n) col, … FROM [schema.]table WHERE col > v
//!   [AND ((c >= v AND c < v) OR c IS NULL)] ORDER BY col`, where `n` and `v` are integer
//!   literals or `@Pn` parameters (the range's bounds `datetime2`/`datetimeoffset` ones),
//!   run against in-memory tables, and answered with COLMETADATA + ROW… + DONE (DONEINPROC + RETURNSTATUS + DONEPROC for RPC).
//!   RPC parameters are decoded from their TYPE_INFO (INTN, fixed ints, NVARCHAR incl. PLP,
//!   VARCHAR, DATETIME2N, DATETIMEOFFSETN) and bound by the names declared in `@params`; anything else is answered with an
//!   ERROR token like SQL Server's (102 syntax, 207 column, 208 object, 137 undeclared
//!   variable).
//! - Every request is logged ([`TdsDouble::requests`]) with its SQL text and decoded
//!   parameters, so tests can prove which values travelled as parameters.
//! - Faults: [`TdsDouble::cut_next_result_after`] closes the connection part-way through the
//!   next result; [`TdsDouble::drop_connections`] closes every open connection (a restart).
//!
//! Column types: `bigint`, `int` (INTN), `nvarchar(4000)`, `varchar(8000)` (Latin1_General_CI_AS)
//! `datetime2(7)` and `datetimeoffset(7)`. Responses are split into 4096-byte packets.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The login the double accepts.
pub const USER: &str = "pbx";
/// Its password (with characters that need quoting in an ADO.NET string).
pub const PASSWORD: &str = "s3cret;pw=1";
/// The database it serves.
pub const DATABASE: &str = "cdrdb";

const PACKET_SIZE: usize = 4096;
const HEADER_LEN: usize = 8;

// Packet types (MS-TDS 2.2.3.1.1).
const PT_BATCH: u8 = 0x01;
const PT_RPC: u8 = 0x03;
const PT_REPLY: u8 = 0x04;
const PT_ATTENTION: u8 = 0x06;
const PT_TRANSACTION: u8 = 0x0E;
const PT_LOGIN7: u8 = 0x10;
const PT_PRELOGIN: u8 = 0x12;

// Tokens (2.2.7).
const TK_RETURNSTATUS: u8 = 0x79;
const TK_COLMETADATA: u8 = 0x81;
const TK_ERROR: u8 = 0xAA;
const TK_LOGINACK: u8 = 0xAD;
const TK_ROW: u8 = 0xD1;
const TK_ENVCHANGE: u8 = 0xE3;
const TK_DONE: u8 = 0xFD;
const TK_DONEPROC: u8 = 0xFE;
const TK_DONEINPROC: u8 = 0xFF;

// DONE status bits.
const DONE_ERROR: u16 = 0x0002;
const DONE_COUNT: u16 = 0x0010;
const DONE_ATTN: u16 = 0x0020;
const CMD_SELECT: u16 = 0xC1;

// Data types (2.2.5.4).
const TY_INTN: u8 = 0x26;
const TY_INT1: u8 = 0x30;
const TY_INT2: u8 = 0x34;
const TY_INT4: u8 = 0x38;
const TY_INT8: u8 = 0x7F;
const TY_DATETIME2N: u8 = 0x2A;
const TY_DATETIMEOFFSETN: u8 = 0x2B;
const TY_BIGVARCHAR: u8 = 0xA7;
const TY_NVARCHAR: u8 = 0xE7;

/// Latin1_General_CI_AS: LCID 0x0409, flags, sort id 52.
const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// A column type of a table in the double.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    BigInt,
    Int,
    NVarChar,
    VarChar,
    DateTime2,
    DateTimeOffset,
}

/// A value in a table or a decoded parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Time(NaiveDateTime),
    Zoned(DateTime<FixedOffset>),
}

/// One request as the double decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A SQLBatch: the text as sent.
    Batch { sql: String },
    /// An RPC: the procedure (`sp_executesql` when called by id 10), the statement, the
    /// parameter declarations and the parameter values by name.
    Rpc {
        procedure: String,
        sql: String,
        declarations: String,
        params: Vec<(String, Value)>,
    },
}

#[derive(Clone, Debug)]
struct Table {
    columns: Vec<(String, SqlType)>,
    rows: Vec<Vec<Value>>,
}

#[derive(Default)]
struct State {
    tables: HashMap<String, Table>,
    requests: Vec<Request>,
    logins: usize,
    failed_logins: usize,
    cut_after_rows: Option<usize>,
    stall_next: bool,
    open: usize,
    /// Tables (lower-cased, as named in `deny_select`) whose SELECT is denied (error 229).
    denied: Vec<String>,
}

/// The running double. Dropping it stops the listener and every connection.
pub struct TdsDouble {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    kill: watch::Sender<u64>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for TdsDouble {
    fn drop(&mut self) {
        self.listener.abort();
        self.kill.send_modify(|n| *n += 1);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TdsDouble {
    /// Listens on a free loopback port.
    pub async fn start() -> TdsDouble {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (kill, _) = watch::channel(0u64);
        let accept_state = Arc::clone(&state);
        let accept_kill = kill.clone();
        let listener = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let state = Arc::clone(&accept_state);
                let kill = accept_kill.subscribe();
                lock(&state).open += 1;
                tokio::spawn(async move {
                    serve(sock, &state, kill).await;
                    lock(&state).open -= 1;
                });
            }
        });
        TdsDouble {
            addr,
            state,
            kill,
            listener,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An ADO.NET connection string for this double (plaintext: it has no TLS).
    pub fn ado_url(&self) -> String {
        format!(
            "server=tcp:127.0.0.1,{};database={DATABASE};user id={USER};password='{PASSWORD}';encrypt=DANGER_PLAINTEXT",
            self.addr.port()
        )
    }

    /// The same as an `mssql://` URL.
    pub fn mssql_url(&self) -> String {
        format!(
            "mssql://{USER}:{}@127.0.0.1:{}?database={DATABASE}&encrypt=DANGER_PLAINTEXT",
            PASSWORD.replace(';', "%3B").replace('=', "%3D"),
            self.addr.port()
        )
    }

    /// Denies SELECT on `table` (as SQL Server answers a login without the grant: error 229),
    /// or grants it again.
    pub fn deny_select(&self, table: &str, deny: bool) {
        let mut state = lock(&self.state);
        let name = table.to_ascii_lowercase();
        state.denied.retain(|t| *t != name);
        if deny {
            state.denied.push(name);
        }
    }

    /// Creates (or replaces) a table; `name` is `schema.table` (`dbo.` is implied when
    /// missing).
    pub fn create_table(&self, name: &str, columns: &[(&str, SqlType)]) {
        lock(&self.state).tables.insert(
            qualified(name),
            Table {
                columns: columns.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect(),
                rows: Vec::new(),
            },
        );
    }

    /// Appends a row (values in column order).
    pub fn insert(&self, table: &str, row: Vec<Value>) {
        let mut state = lock(&self.state);
        let t = state
            .tables
            .get_mut(&qualified(table))
            .expect("no such table");
        assert_eq!(t.columns.len(), row.len(), "row width");
        t.rows.push(row);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).requests.clone()
    }

    /// Successful logins so far (a new connection each).
    pub fn logins(&self) -> usize {
        lock(&self.state).logins
    }

    /// Refused logins so far.
    pub fn failed_logins(&self) -> usize {
        lock(&self.state).failed_logins
    }

    /// The next query's result is cut after `rows` rows: the connection is closed part-way
    /// through the response, without its end.
    pub fn cut_next_result_after(&self, rows: usize) {
        lock(&self.state).cut_after_rows = Some(rows);
    }

    /// The next query gets no answer at all (a hung server).
    pub fn stall_next_query(&self) {
        lock(&self.state).stall_next = true;
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        lock(&self.state).open
    }

    /// Closes every open connection (as a server restart would) and waits until they are
    /// closed; new ones are accepted.
    pub async fn drop_connections(&self) {
        self.kill.send_modify(|n| *n += 1);
        while self.open_connections() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

fn qualified(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.contains('.') {
        name
    } else {
        format!("dbo.{name}")
    }
}

// ---------------------------------------------------------------------------------------
// Connection handling

async fn serve(mut sock: TcpStream, state: &Mutex<State>, mut kill: watch::Receiver<u64>) {
    let mut out = Writer { packet_id: 1 };
    let mut logged_in = false;
    loop {
        let message = tokio::select! {
            biased;
            _ = kill.changed() => return,
            m = read_message(&mut sock) => m,
        };
        let Ok(Some((ty, payload))) = message else {
            return;
        };
        let result = match ty {
            PT_PRELOGIN => out.send(&mut sock, &prelogin_reply(), true).await,
            PT_LOGIN7 => {
                let (tokens, ok) = login_reply(&payload, state);
                let sent = out.send(&mut sock, &tokens, true).await;
                if !ok {
                    return;
                }
                logged_in = true;
                sent
            }
            PT_BATCH | PT_RPC if logged_in => {
                if std::mem::take(&mut lock(state).stall_next) {
                    // Hung: read nothing more, answer nothing, until killed.
                    let _ = kill.changed().await;
                    return;
                }
                match run_request(ty, &payload, state) {
                    Reply::Complete(tokens) => out.send(&mut sock, &tokens, true).await,
                    Reply::Cut(tokens) => {
                        // Part of the result, then the connection goes away.
                        let _ = out.send(&mut sock, &tokens, false).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                }
            }
            PT_ATTENTION => {
                out.send(&mut sock, &done(TK_DONE, DONE_ATTN, 0, 0), true)
                    .await
            }
            PT_TRANSACTION if logged_in => out.send(&mut sock, &done(TK_DONE, 0, 0, 0), true).await,
            _ => return,
        };
        if result.is_err() {
            return;
        }
    }
}

/// Reads one message (packets up to the one with END_OF_MESSAGE); `None` at a clean EOF.
async fn read_message(sock: &mut TcpStream) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut payload = Vec::new();
    let mut ty = None;
    loop {
        let mut header = [0u8; HEADER_LEN];
        match sock.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && ty.is_none() => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if len < HEADER_LEN {
            return Err(std::io::Error::other("packet shorter than its header"));
        }
        let mut body = vec![0u8; len - HEADER_LEN];
        sock.read_exact(&mut body).await?;
        ty.get_or_insert(header[0]);
        payload.extend_from_slice(&body);
        if header[1] & 0x01 != 0 {
            return Ok(Some((ty.unwrap_or(0), payload)));
        }
    }
}

struct Writer {
    packet_id: u8,
}

impl Writer {
    /// Sends `data` as reply packets; the last one ends the message when `end` is set.
    async fn send(&mut self, sock: &mut TcpStream, data: &[u8], end: bool) -> std::io::Result<()> {
        let chunk = PACKET_SIZE - HEADER_LEN;
        let count = data.len().div_ceil(chunk).max(1);
        let mut wire = Vec::with_capacity(data.len() + count * HEADER_LEN);
        for i in 0..count {
            let part = &data[(i * chunk).min(data.len())..((i + 1) * chunk).min(data.len())];
            let last = i + 1 == count;
            wire.push(PT_REPLY);
            wire.push(u8::from(last && end));
            wire.extend_from_slice(
                &u16::try_from(part.len() + HEADER_LEN)
                    .unwrap()
                    .to_be_bytes(),
            );
            wire.extend_from_slice(&[0x00, 0x33]); // SPID 51
            wire.push(self.packet_id);
            wire.push(0);
            wire.extend_from_slice(part);
            self.packet_id = self.packet_id.wrapping_add(1);
        }
        sock.write_all(&wire).await?;
        sock.flush().await
    }
}

// ---------------------------------------------------------------------------------------
// PRELOGIN and LOGIN7

fn prelogin_reply() -> Vec<u8> {
    // Options: VERSION(6), ENCRYPTION(1), INSTOPT(1), THREADID(0), MARS(1), terminator.
    let options: [(u8, u16); 5] = [(0, 6), (1, 1), (2, 1), (3, 0), (4, 1)];
    let mut head = Vec::new();
    let mut offset = u16::try_from(options.len() * 5 + 1).unwrap();
    for (token, len) in options {
        head.push(token);
        head.extend_from_slice(&offset.to_be_bytes());
        head.extend_from_slice(&len.to_be_bytes());
        offset += len;
    }
    head.push(0xFF);
    head.extend_from_slice(&[16, 0, 0x07, 0xD0, 0, 0]); // 16.0.2000, sub-build 0
    head.push(0x02); // ENCRYPT_NOT_SUP
    head.push(0x00); // INSTOPT: accepted
    head.push(0x00); // MARS off
    head
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A LOGIN7 string: offset and length (in characters) at `at` in the fixed part.
fn login_string(p: &[u8], at: usize, password: bool) -> Option<String> {
    let off = usize::from(u16::from_le_bytes([*p.get(at)?, *p.get(at + 1)?]));
    let chars = usize::from(u16::from_le_bytes([*p.get(at + 2)?, *p.get(at + 3)?]));
    let raw = p.get(off..off + chars * 2)?;
    if password {
        // 2.2.6.4: the client swapped nibbles, then XORed with 0xA5.
        let plain: Vec<u8> = raw.iter().map(|b| (b ^ 0xA5).rotate_left(4)).collect();
        Some(utf16(&plain))
    } else {
        Some(utf16(raw))
    }
}

fn login_reply(p: &[u8], state: &Mutex<State>) -> (Vec<u8>, bool) {
    let tds_version = p.get(4..8).map_or(0x7400_0004, |b| {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    });
    let user = login_string(p, 40, false).unwrap_or_default();
    let password = login_string(p, 44, true).unwrap_or_default();
    let database = login_string(p, 68, false).unwrap_or_default();
    let mut out = Vec::new();
    if user != USER || password != PASSWORD {
        lock(state).failed_logins += 1;
        error_token(
            &mut out,
            18456,
            1,
            14,
            &format!("Login failed for user '{user}'."),
        );
        out.extend(done(TK_DONE, DONE_ERROR, 0, 0));
        return (out, false);
    }
    if !database.is_empty() && database != DATABASE {
        lock(state).failed_logins += 1;
        error_token(
            &mut out,
            4060,
            1,
            11,
            &format!(
                "Cannot open database \"{database}\" requested by the login. The login failed."
            ),
        );
        out.extend(done(TK_DONE, DONE_ERROR, 0, 0));
        return (out, false);
    }
    lock(state).logins += 1;
    env_change_text(&mut out, 1, DATABASE, "master");
    // SQL collation: new value 5 bytes, old value empty.
    let mut coll = vec![7u8, 5];
    coll.extend_from_slice(&COLLATION);
    coll.push(0);
    token_with_len(&mut out, TK_ENVCHANGE, &coll);
    // LOGINACK: interface, TDS version (big-endian on the wire), program name, version.
    let mut ack = vec![1u8];
    ack.extend_from_slice(&tds_version.to_be_bytes());
    b_varchar(&mut ack, "Microsoft SQL Server");
    ack.extend_from_slice(&[16, 0, 0x07, 0xD0]);
    token_with_len(&mut out, TK_LOGINACK, &ack);
    env_change_text(
        &mut out,
        4,
        &PACKET_SIZE.to_string(),
        &PACKET_SIZE.to_string(),
    );
    out.extend(done(TK_DONE, 0, 0, 0));
    (out, true)
}

// ---------------------------------------------------------------------------------------
// Token encoding

fn b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.push(u8::try_from(units.len()).unwrap());
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.extend_from_slice(&u16::try_from(units.len()).unwrap().to_le_bytes());
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn token_with_len(out: &mut Vec<u8>, token: u8, body: &[u8]) {
    out.push(token);
    out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_le_bytes());
    out.extend_from_slice(body);
}

fn env_change_text(out: &mut Vec<u8>, ty: u8, new: &str, old: &str) {
    let mut body = vec![ty];
    b_varchar(&mut body, new);
    b_varchar(&mut body, old);
    token_with_len(out, TK_ENVCHANGE, &body);
}

fn error_token(out: &mut Vec<u8>, number: i32, state: u8, class: u8, message: &str) {
    let mut body = Vec::new();
    body.extend_from_slice(&number.to_le_bytes());
    body.push(state);
    body.push(class);
    us_varchar(&mut body, message);
    b_varchar(&mut body, "tds-double");
    b_varchar(&mut body, "");
    body.extend_from_slice(&1i32.to_le_bytes()); // line number
    token_with_len(out, TK_ERROR, &body);
}

fn done(token: u8, status: u16, cmd: u16, rows: u64) -> Vec<u8> {
    let mut out = vec![token];
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&cmd.to_le_bytes());
    out.extend_from_slice(&rows.to_le_bytes());
    out
}

fn col_metadata(out: &mut Vec<u8>, columns: &[(String, SqlType)]) {
    out.push(TK_COLMETADATA);
    out.extend_from_slice(&u16::try_from(columns.len()).unwrap().to_le_bytes());
    for (name, ty) in columns {
        out.extend_from_slice(&0u32.to_le_bytes()); // user type
        out.extend_from_slice(&0x0001u16.to_le_bytes()); // nullable
        match ty {
            SqlType::BigInt => out.extend_from_slice(&[TY_INTN, 8]),
            SqlType::Int => out.extend_from_slice(&[TY_INTN, 4]),
            SqlType::NVarChar | SqlType::VarChar => {
                out.push(if *ty == SqlType::NVarChar {
                    TY_NVARCHAR
                } else {
                    TY_BIGVARCHAR
                });
                out.extend_from_slice(&8000u16.to_le_bytes());
                out.extend_from_slice(&COLLATION);
            }
            SqlType::DateTime2 => out.extend_from_slice(&[TY_DATETIME2N, 7]),
            SqlType::DateTimeOffset => out.extend_from_slice(&[TY_DATETIMEOFFSETN, 7]),
        }
        b_varchar(out, name);
    }
}

fn row(out: &mut Vec<u8>, columns: &[(String, SqlType)], values: &[&Value]) {
    out.push(TK_ROW);
    for ((_, ty), value) in columns.iter().zip(values) {
        match (ty, value) {
            (
                SqlType::BigInt | SqlType::Int | SqlType::DateTime2 | SqlType::DateTimeOffset,
                Value::Null,
            ) => out.push(0),
            (SqlType::NVarChar | SqlType::VarChar, Value::Null) => {
                out.extend_from_slice(&0xFFFFu16.to_le_bytes());
            }
            (SqlType::BigInt, Value::Int(i)) => {
                out.push(8);
                out.extend_from_slice(&i.to_le_bytes());
            }
            (SqlType::Int, Value::Int(i)) => {
                out.push(4);
                out.extend_from_slice(&i32::try_from(*i).unwrap().to_le_bytes());
            }
            (SqlType::NVarChar, Value::Text(s)) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                out.extend_from_slice(&u16::try_from(units.len() * 2).unwrap().to_le_bytes());
                for u in units {
                    out.extend_from_slice(&u.to_le_bytes());
                }
            }
            (SqlType::VarChar, Value::Text(s)) => {
                assert!(s.is_ascii(), "the double's varchar holds ASCII");
                out.extend_from_slice(&u16::try_from(s.len()).unwrap().to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            (SqlType::DateTime2, Value::Time(t)) => {
                out.push(8);
                datetime2(out, t);
            }
            (SqlType::DateTimeOffset, Value::Zoned(t)) => {
                // 2.2.5.5.1.8: the date and time in UTC, then the offset in minutes.
                out.push(10);
                datetime2(out, &t.naive_utc());
                let minutes = i16::try_from(t.offset().local_minus_utc() / 60).unwrap();
                out.extend_from_slice(&minutes.to_le_bytes());
            }
            (ty, v) => panic!("the double cannot store {v:?} in a {ty:?} column"),
        }
    }
}

/// Scale 7: 100 ns ticks since midnight (5 bytes), days since 0001-01-01 (3 bytes).
fn datetime2(out: &mut Vec<u8>, t: &NaiveDateTime) {
    let ticks =
        u64::from(t.num_seconds_from_midnight()) * 10_000_000 + u64::from(t.nanosecond()) / 100;
    out.extend_from_slice(&ticks.to_le_bytes()[..5]);
    let epoch = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
    let days = u32::try_from((t.date() - epoch).num_days()).unwrap();
    out.extend_from_slice(&days.to_le_bytes()[..3]);
}

// ---------------------------------------------------------------------------------------
// Requests

enum Reply {
    Complete(Vec<u8>),
    Cut(Vec<u8>),
}

struct SqlError {
    number: i32,
    class: u8,
    message: String,
}

fn sql_error(number: i32, message: impl Into<String>) -> SqlError {
    SqlError {
        number,
        class: 16,
        message: message.into(),
    }
}

struct Cursor<'a> {
    p: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SqlError> {
        let s = self
            .p
            .get(self.at..self.at + n)
            .ok_or_else(|| sql_error(8009, "the request ends early"))?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, SqlError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SqlError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, SqlError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, SqlError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }
    fn int(&mut self, n: usize) -> Result<i64, SqlError> {
        let b = self.take(n)?;
        Ok(match n {
            1 => i64::from(b[0]),
            2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            8 => i64::from_le_bytes(b.try_into().unwrap()),
            _ => return Err(sql_error(8009, format!("integer of {n} bytes"))),
        })
    }
    fn b_varchar(&mut self) -> Result<String, SqlError> {
        let n = usize::from(self.u8()?);
        Ok(utf16(self.take(n * 2)?))
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.p[self.at.min(self.p.len())..];
        self.at = self.p.len();
        s
    }
    fn done(&self) -> bool {
        self.at >= self.p.len()
    }
    /// ALL_HEADERS (2.2.5.3): skipped after checking its length.
    fn all_headers(&mut self) -> Result<(), SqlError> {
        let total = usize::try_from(self.u32()?).unwrap();
        if total < 4 {
            return Err(sql_error(8009, "bad ALL_HEADERS length"));
        }
        self.take(total - 4)?;
        Ok(())
    }
}

/// One RPC parameter value from its TYPE_INFO and data (2.2.6.6).
fn param_value(c: &mut Cursor<'_>) -> Result<Value, SqlError> {
    let ty = c.u8()?;
    match ty {
        TY_INTN => {
            let _max = c.u8()?;
            let len = usize::from(c.u8()?);
            if len == 0 {
                Ok(Value::Null)
            } else {
                Ok(Value::Int(c.int(len)?))
            }
        }
        TY_INT1 => Ok(Value::Int(c.int(1)?)),
        TY_INT2 => Ok(Value::Int(c.int(2)?)),
        TY_INT4 => Ok(Value::Int(c.int(4)?)),
        TY_INT8 => Ok(Value::Int(c.int(8)?)),
        TY_NVARCHAR | TY_BIGVARCHAR => {
            let max = c.u16()?;
            c.take(5)?; // collation
            let bytes = if max == 0xFFFF {
                // PLP: total length (or NULL), then chunks up to a zero-length one.
                let total = c.u64()?;
                if total == u64::MAX {
                    return Ok(Value::Null);
                }
                let mut data = Vec::new();
                loop {
                    let n = usize::try_from(c.u32()?).unwrap();
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(c.take(n)?);
                }
                data
            } else {
                let n = c.u16()?;
                if n == 0xFFFF {
                    return Ok(Value::Null);
                }
                c.take(usize::from(n))?.to_vec()
            };
            Ok(Value::Text(if ty == TY_NVARCHAR {
                utf16(&bytes)
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }))
        }
        TY_DATETIME2N | TY_DATETIMEOFFSETN => {
            let scale = c.u8()?;
            let len = usize::from(c.u8()?);
            if len == 0 {
                return Ok(Value::Null);
            }
            let time_len = match scale {
                0..=2 => 3,
                3 | 4 => 4,
                _ => 5,
            };
            let mut ticks = [0u8; 8];
            ticks[..time_len].copy_from_slice(c.take(time_len)?);
            let ticks = u64::from_le_bytes(ticks);
            let mut days = [0u8; 4];
            days[..3].copy_from_slice(c.take(3)?);
            let days = u32::from_le_bytes(days);
            let nanos = ticks * 10u64.pow(9 - u32::from(scale));
            let utc = NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + chrono::Duration::days(i64::from(days))
                + chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap());
            if ty == TY_DATETIME2N {
                return Ok(Value::Time(utc));
            }
            let minutes = i16::from_le_bytes([c.u8()?, c.u8()?]);
            let offset = FixedOffset::east_opt(i32::from(minutes) * 60).unwrap();
            Ok(Value::Zoned(DateTime::from_naive_utc_and_offset(
                utc, offset,
            )))
        }
        other => Err(sql_error(
            8016,
            format!("the double does not decode parameters of type 0x{other:02X}"),
        )),
    }
}

fn decode_rpc(p: &[u8]) -> Result<Request, SqlError> {
    let mut c = Cursor { p, at: 0 };
    c.all_headers()?;
    let name_len = c.u16()?;
    let procedure = if name_len == 0xFFFF {
        match c.u16()? {
            10 => "sp_executesql".to_owned(),
            id => format!("proc#{id}"),
        }
    } else {
        utf16(c.take(usize::from(name_len) * 2)?)
    };
    let _options = c.u16()?;
    let mut params = Vec::new();
    while !c.done() {
        let name = c.b_varchar()?;
        let _status = c.u8()?;
        params.push((name, param_value(&mut c)?));
    }
    if !procedure.eq_ignore_ascii_case("sp_executesql") {
        return Err(sql_error(
            2812,
            format!("Could not find stored procedure '{procedure}'."),
        ));
    }
    let mut values = params.into_iter();
    let text = |v: Option<(String, Value)>, what: &str| match v {
        Some((_, Value::Text(s))) => Ok(s),
        _ => Err(sql_error(
            214,
            format!("Procedure expects parameter '{what}' of type 'ntext/nchar/nvarchar'."),
        )),
    };
    let sql = text(values.next(), "@statement")?;
    let declarations = match values.len() {
        0 => String::new(),
        _ => text(values.next(), "@params")?,
    };
    Ok(Request::Rpc {
        procedure,
        sql,
        declarations,
        params: values.collect(),
    })
}

fn run_request(ty: u8, payload: &[u8], state: &Mutex<State>) -> Reply {
    let decoded = if ty == PT_BATCH {
        let mut c = Cursor { p: payload, at: 0 };
        c.all_headers().map(|()| Request::Batch {
            sql: utf16(c.rest()),
        })
    } else {
        decode_rpc(payload)
    };
    let is_rpc = ty == PT_RPC;
    let request = match decoded {
        Ok(r) => r,
        Err(e) => return Reply::Complete(error_reply(&e, is_rpc)),
    };
    let mut state = lock(state);
    state.requests.push(request.clone());
    let cut = state.cut_after_rows.take();
    let sql_text = match &request {
        Request::Batch { sql } | Request::Rpc { sql, .. } => sql.to_ascii_lowercase(),
    };
    if let Some(t) = state
        .denied
        .iter()
        .find(|t| sql_text.replace(['[', ']'], "").contains(t.as_str()))
    {
        let e = SqlError {
            number: 229,
            class: 14,
            message: format!(
                "The SELECT permission was denied on the object '{t}', database '{DATABASE}', schema 'dbo'."
            ),
        };
        return Reply::Complete(error_reply(&e, is_rpc));
    }
    let result = match &request {
        Request::Batch { sql } => select(sql, &HashMap::new(), &state.tables),
        Request::Rpc {
            sql,
            declarations,
            params,
            ..
        } => bind(declarations, params).and_then(|vars| select(sql, &vars, &state.tables)),
    };
    let (columns, rows) = match result {
        Ok(r) => r,
        Err(e) => return Reply::Complete(error_reply(&e, is_rpc)),
    };
    let mut out = Vec::new();
    col_metadata(&mut out, &columns);
    for (i, r) in rows.iter().enumerate() {
        if cut == Some(i) {
            return Reply::Cut(out);
        }
        let refs: Vec<&Value> = r.iter().collect();
        row(&mut out, &columns, &refs);
    }
    if cut.is_some() {
        return Reply::Cut(out);
    }
    let n = rows.len() as u64;
    if is_rpc {
        out.extend(done(TK_DONEINPROC, DONE_COUNT, CMD_SELECT, n));
        out.push(TK_RETURNSTATUS);
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend(done(TK_DONEPROC, 0, 0xE0, 0));
    } else {
        out.extend(done(TK_DONE, DONE_COUNT, CMD_SELECT, n));
    }
    Reply::Complete(out)
}

fn error_reply(e: &SqlError, rpc: bool) -> Vec<u8> {
    let mut out = Vec::new();
    error_token(&mut out, e.number, 1, e.class, &e.message);
    out.extend(done(
        if rpc { TK_DONEPROC } else { TK_DONE },
        DONE_ERROR,
        0,
        0,
    ));
    out
}

/// Binds RPC values to the names declared in `@params` (`@P1 bigint,@P2 bigint`).
fn bind(
    declarations: &str,
    params: &[(String, Value)],
) -> Result<HashMap<String, Value>, SqlError> {
    let declared: Vec<String> = declarations
        .split(',')
        .filter_map(|d| d.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut vars = HashMap::new();
    for (name, value) in params {
        let key = name.to_ascii_lowercase();
        if !declared.contains(&key) {
            return Err(sql_error(
                8145,
                format!("{name} is not a parameter for procedure sp_executesql."),
            ));
        }
        vars.insert(key, value.clone());
    }
    Ok(vars)
}

// ---------------------------------------------------------------------------------------
// The statement

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Var(String),
    Num(i64),
    Sym(char),
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, SqlError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '[' {
            let mut name = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(sql_error(
                            105,
                            "Unclosed quotation mark after the character string.",
                        ));
                    }
                    Some(']') if chars.get(i + 1) == Some(&']') => {
                        name.push(']');
                        i += 2;
                    }
                    Some(']') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        name.push(*c);
                        i += 1;
                    }
                }
            }
            toks.push(Tok::Quoted(name));
        } else if ch == '@' || ch.is_alphabetic() || ch == '_' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            toks.push(if ch == '@' {
                Tok::Var(word.to_ascii_lowercase())
            } else {
                Tok::Word(word)
            });
        } else if ch.is_ascii_digit()
            || (ch == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            toks.push(Tok::Num(text.parse().map_err(|_| {
                sql_error(8115, format!("Arithmetic overflow converting {text}"))
            })?));
        } else {
            toks.push(Tok::Sym(ch));
            i += 1;
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

fn near(t: Option<&Tok>) -> SqlError {
    let text = match t {
        None => "end of statement".to_owned(),
        Some(Tok::Word(w) | Tok::Var(w)) => w.clone(),
        Some(Tok::Quoted(q)) => q.clone(),
        Some(Tok::Num(n)) => n.to_string(),
        Some(Tok::Sym(c)) => c.to_string(),
    };
    sql_error(102, format!("Incorrect syntax near '{text}'."))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn keyword(&mut self, kw: &str) -> Result<(), SqlError> {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw) => {
                self.at += 1;
                Ok(())
            }
            t => Err(near(t)),
        }
    }
    fn sym(&mut self, c: char) -> Result<(), SqlError> {
        match self.peek() {
            Some(Tok::Sym(s)) if *s == c => {
                self.at += 1;
                Ok(())
            }
            t => Err(near(t)),
        }
    }
    fn ident(&mut self) -> Result<String, SqlError> {
        const RESERVED: [&str; 7] = ["select", "top", "from", "where", "order", "by", "drop"];
        match self.peek().cloned() {
            Some(Tok::Quoted(q)) => {
                self.at += 1;
                Ok(q)
            }
            Some(Tok::Word(w)) if !RESERVED.contains(&w.to_ascii_lowercase().as_str()) => {
                self.at += 1;
                Ok(w)
            }
            t => Err(near(t.as_ref())),
        }
    }
    fn operand(&mut self, vars: &HashMap<String, Value>) -> Result<Value, SqlError> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.at += 1;
                Ok(Value::Int(n))
            }
            Some(Tok::Var(v)) => {
                self.at += 1;
                vars.get(&v).cloned().ok_or_else(|| {
                    sql_error(137, format!("Must declare the scalar variable \"{v}\"."))
                })
            }
            t => Err(near(t.as_ref())),
        }
    }
}

type ResultSet = (Vec<(String, SqlType)>, Vec<Vec<Value>>);

/// `SELECT TOP (n) c, … FROM [s.]t WHERE k > v ORDER BY k [ASC]`.
fn select(
    sql: &str,
    vars: &HashMap<String, Value>,
    tables: &HashMap<String, Table>,
) -> Result<ResultSet, SqlError> {
    let mut p = Parser {
        toks: tokenize(sql)?,
        at: 0,
    };
    p.keyword("SELECT")?;
    p.keyword("TOP")?;
    p.sym('(')?;
    let top = p.operand(vars)?;
    p.sym(')')?;
    let mut cols = vec![p.ident()?];
    while p.peek() == Some(&Tok::Sym(',')) {
        p.at += 1;
        cols.push(p.ident()?);
    }
    p.keyword("FROM")?;
    let mut name = p.ident()?;
    if p.peek() == Some(&Tok::Sym('.')) {
        p.at += 1;
        name = format!("{name}.{}", p.ident()?);
    }
    p.keyword("WHERE")?;
    let key = p.ident()?;
    p.sym('>')?;
    let after = p.operand(vars)?;
    // `AND ((c >= v AND c < v) OR c IS NULL)`: a time range, NULL admitted.
    let mut range = None;
    if matches!(p.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("AND")) {
        p.at += 1;
        p.sym('(')?;
        p.sym('(')?;
        let column = p.ident()?;
        p.sym('>')?;
        p.sym('=')?;
        let from = p.operand(vars)?;
        p.keyword("AND")?;
        let same = p.ident()?;
        p.sym('<')?;
        let to = p.operand(vars)?;
        p.sym(')')?;
        p.keyword("OR")?;
        let null = p.ident()?;
        p.keyword("IS")?;
        p.keyword("NULL")?;
        p.sym(')')?;
        if !same.eq_ignore_ascii_case(&column) || !null.eq_ignore_ascii_case(&column) {
            return Err(sql_error(102, "the double reads one column's range only"));
        }
        range = Some((column, from, to));
    }
    p.keyword("ORDER")?;
    p.keyword("BY")?;
    let order = p.ident()?;
    if matches!(p.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ASC")) {
        p.at += 1;
    }
    if p.peek().is_some() {
        return Err(near(p.peek()));
    }

    let table = tables
        .get(&qualified(&name))
        .ok_or_else(|| sql_error(208, format!("Invalid object name '{name}'.")))?;
    let index = |c: &str| {
        table
            .columns
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(c))
            .ok_or_else(|| sql_error(207, format!("Invalid column name '{c}'.")))
    };
    let selected: Vec<usize> = cols.iter().map(|c| index(c)).collect::<Result<_, _>>()?;
    let key_i = index(&key)?;
    let order_i = index(&order)?;
    let int = |v: &Value, what: &str| match v {
        Value::Int(i) => Ok(Some(*i)),
        Value::Null => Ok(None),
        other => Err(sql_error(
            245,
            format!("Conversion failed when converting {other:?} ({what}) to data type bigint."),
        )),
    };
    let top = match int(&top, "TOP")? {
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => {
            return Err(sql_error(
                1060,
                "The number of rows in the TOP clause must be an integer.",
            ));
        }
    };
    let after = int(&after, "the comparison value")?;
    // A time compared with a time: both as UTC (a datetime2 value against a datetimeoffset
    // column is converted with offset +00:00, as SQL Server does); NULL is unknown.
    let instant = |v: &Value| -> Result<Option<NaiveDateTime>, SqlError> {
        match v {
            Value::Null => Ok(None),
            Value::Time(t) => Ok(Some(*t)),
            Value::Zoned(t) => Ok(Some(t.naive_utc())),
            other => Err(sql_error(
                241,
                format!("Conversion failed when converting date and/or time from {other:?}."),
            )),
        }
    };
    let range = match &range {
        None => None,
        Some((column, from, to)) => Some((index(column)?, instant(from)?, instant(to)?)),
    };
    let mut hits: Vec<&Vec<Value>> = Vec::new();
    for r in &table.rows {
        let k = int(&r[key_i], &key)?;
        if let Some((c, from, to)) = range {
            let at = instant(&r[c])?;
            let inside = match (at, from, to) {
                (None, _, _) => true, // `OR c IS NULL`
                (Some(at), Some(from), Some(to)) => from <= at && at < to,
                _ => false,
            };
            if !inside {
                continue;
            }
        }
        // NULL compares unknown: never selected.
        if let (Some(k), Some(a)) = (k, after)
            && k > a
        {
            hits.push(r);
        }
    }
    let mut sort_err = None;
    hits.sort_by_key(|r| match int(&r[order_i], &order) {
        Ok(v) => v,
        Err(e) => {
            sort_err.get_or_insert(e);
            None
        }
    });
    if let Some(e) = sort_err {
        return Err(e);
    }
    let columns = selected.iter().map(|i| table.columns[*i].clone()).collect();
    let rows = hits
        .into_iter()
        .take(top)
        .map(|r| selected.iter().map(|i| r[*i].clone()).collect())
        .collect();
    Ok((columns, rows))
}
