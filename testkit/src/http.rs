//! A recording in-process HTTP/1.1 server for adapter tests: each request is recorded and
//! answered by a handler closure, which can delay the answer or cut the connection part-way
//! (TCP reset). One request per connection (`Connection: close`), so counts are exact. The
//! stand-in for the call-logger API and 3CX XAPI in `pbx-sources`' tests, failures included.
//!
//! ```
//! use pbx_testkit::http::{Reply, Server};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Server::start(|r| if r.path == "/health" { Reply::status(200) } else { Reply::status(404) }).await;
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert!(server.requests().is_empty());
//! # });
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query value of `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// The first value of `key` in a form-encoded body.
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The bearer token of the `Authorization` header.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response, after `delay`.
    Respond {
        /// The status code.
        status: u16,
        /// Headers beyond `Content-Length` and `Connection: close`.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Writes these bytes, then resets the connection.
    Cut(Vec<u8>),
}

impl Reply {
    /// An empty answer with this status.
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A JSON answer.
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply::raw_json(status, &value.to_string())
    }

    /// An answer labelled JSON with this exact body (which need not be JSON).
    pub fn raw_json(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer with one more header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// The same answer, `d` later.
    #[must_use]
    pub fn after(mut self, d: Duration) -> Reply {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = d;
        }
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running server; it stops when the test's runtime ends.
pub struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    /// Listens on a loopback port of the current runtime; `handler` answers every request.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log2, max2) = (log.clone(), max_in_flight.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (h, log, in_flight, max) = (
                    handler.clone(),
                    log2.clone(),
                    in_flight.clone(),
                    max2.clone(),
                );
                tokio::spawn(async move {
                    let _ = serve(stream, h, log, in_flight, max).await;
                });
            }
        });
        Server {
            addr,
            log,
            max_in_flight,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Requests with this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// The most requests it was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(
    stream: TcpStream,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Request>>>,
    in_flight: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await? == 0 {
            return Ok(());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (
            p.to_owned(),
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
        None => (target.clone(), Vec::new()),
    };
    let request = Request {
        method,
        path,
        query,
        headers,
        body,
    };
    log.lock().unwrap().push(request.clone());
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let reply = handler(&request);
    let mut stream = reader.into_inner();
    let result = match reply {
        Reply::Respond {
            status,
            headers,
            body,
            delay,
        } => {
            tokio::time::sleep(delay).await;
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            let r = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
            r
        }
        Reply::Cut(bytes) => {
            let r = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            let _ = stream.set_zero_linger();
            drop(stream);
            r
        }
    };
    in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}
