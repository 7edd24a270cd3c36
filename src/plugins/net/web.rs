//! The browser's side of the game's one port: a connection that starts with an HTTP request
//! rather than a frame is either a WebSocket upgrade (then it carries the same frames, one per
//! binary message) or a request for the page, answered from the bundle loaded at start.
//!
//! Everything here is bounded: the request's head (8 KiB, within the handshake time-out), one
//! request per connection, only GET and HEAD, only the bundle's files by exact name (nothing
//! is looked up on disk after start, so no path reaches outside it), messages no bigger than a
//! frame, and pings counted against the frame rate.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::frames::{FrameSink, FrameStream, Incoming, ReadEnd};
use super::wire::{CloseReason, FNV_START, Violation, fnv1a};
use crate::codec::MAX_FRAME_LEN;

/// The most a request's head (request line and headers) may take.
pub const MAX_HEAD: usize = 8 * 1024;

/// Where the WebSocket endpoint is.
pub const SOCKET_PATH: &str = "/ws";

/// What a new connection speaks, from its first byte.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Speaks {
    /// The game's frames: a 4-byte length, whose first byte is 0 for any frame the game
    /// takes (anything else but a letter is a frame too, and refused as too large).
    Frames,
    /// HTTP (its method's first letter): a WebSocket upgrade or a request for the page.
    Http,
}

/// Waits (at most `within`) for the first byte and says what the connection speaks; `None`
/// if it closed or said nothing in time.
pub(crate) async fn sniff(stream: &TcpStream, within: Duration) -> Option<Speaks> {
    let mut first = [0u8; 1];
    match timeout(within, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0].is_ascii_uppercase() => Some(Speaks::Http),
        Ok(Ok(1)) => Some(Speaks::Frames),
        _ => None,
    }
}

/// A request's head, as far as the server cares.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    headers: Vec<(String, String)>,
    /// Bytes read past the head (a client that did not wait for the answer).
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header_has(&self, name: &str, token: &str) -> bool {
        self.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// A WebSocket upgrade of the game's endpoint.
    pub(crate) fn is_upgrade(&self) -> bool {
        self.method == "GET"
            && self.path.split('?').next() == Some(SOCKET_PATH)
            && self.header_has("upgrade", "websocket")
            && self.header_has("connection", "upgrade")
            && self.header("sec-websocket-key").is_some()
    }
}

/// Why a request's head could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// Closed, or not complete within the time-out.
    Gone,
    TooLarge,
    Malformed,
}

/// Reads a request's head, at most [`MAX_HEAD`] bytes within `within`.
pub(crate) async fn read_head(stream: &mut TcpStream, within: Duration) -> Result<Head, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        loop {
            // Into the buffer itself: no chunk on the task's stack, which every connection's
            // task would carry.
            buf.reserve(1024);
            let searched = buf.len().saturating_sub(3);
            let n = stream.read_buf(&mut buf).await.map_err(|_| HeadError::Gone)?;
            if n == 0 {
                return Err(HeadError::Gone);
            }
            if let Some(end) = buf[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(searched + end + 4);
            }
            if buf.len() > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
        }
    };
    let end = timeout(within, read).await.map_err(|_| HeadError::Gone)??;
    if end > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        _ => return Err(HeadError::Malformed),
    }
    Ok(Head {
        method: request.method.unwrap_or_default().to_owned(),
        path: request.path.unwrap_or_default().to_owned(),
        headers: request
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
        rest: buf[end..].to_vec(),
    })
}

/// How much a WebSocket's read takes at most.
const READ_BUFFER: usize = 1024;

/// A WebSocket's limits: a message is at most a frame.
fn socket_config() -> WebSocketConfig {
    // Small buffers, not the library's 128 KiB each: every browser holds them for its whole
    // connection. The read buffer is zeroed before every read (even one that finds nothing):
    // at 8 KiB that zeroing was a quarter of the server's instructions with every bot a
    // browser (callgrind, 120 bots); a message longer than it is read in more goes.
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_LEN))
        .max_frame_size(Some(MAX_FRAME_LEN))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(4 * MAX_FRAME_LEN)
}

/// Answers an upgrade and returns the connection's frames both ways.
pub(crate) async fn upgrade(mut stream: TcpStream, head: Head) -> std::io::Result<(FrameStream, FrameSink)> {
    let key = head.header("sec-websocket-key").unwrap_or_default();
    let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(answer.as_bytes()).await?;
    let socket =
        WebSocketStream::from_partially_read(stream, head.rest, Role::Server, Some(socket_config())).await;
    Ok(split(socket))
}

/// A WebSocket's frames: each binary message is one frame's payload.
fn split<S>(socket: WebSocketStream<S>) -> (FrameStream, FrameSink)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let frames = stream.map(|message| match message {
        Ok(Message::Binary(payload)) => Ok(Incoming::Frame(payload)),
        Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Ok(Incoming::Other),
        Ok(Message::Close(_)) => Err(ReadEnd::Eof),
        Ok(Message::Text(_)) => Err(ReadEnd::Violation(CloseReason::ProtocolViolation(
            Violation::Undecodable,
        ))),
        Err(tungstenite::Error::Capacity(_)) => Err(ReadEnd::Violation(CloseReason::ProtocolViolation(
            Violation::frame_too_large(),
        ))),
        Err(tungstenite::Error::Protocol(_)) => Err(ReadEnd::Violation(CloseReason::ProtocolViolation(
            Violation::Undecodable,
        ))),
        Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => Err(ReadEnd::Eof),
        Err(_) => Err(ReadEnd::Lost),
    });
    (Box::pin(frames), Box::pin(BinarySink(sink)))
}

/// A WebSocket's sink taking frames: each payload one binary message, every error an I/O
/// error. (futures' `sink_map_err` maps only the first error and panics on the next, which
/// the close after a failed write reaches: a peer that vanished mid-write panicked the task.)
struct BinarySink<S>(S);

impl<S> futures_util::Sink<Bytes> for BinarySink<S>
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    type Error = std::io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0)
            .poll_ready(cx)
            .map_err(std::io::Error::other)
    }

    fn start_send(mut self: Pin<&mut Self>, payload: Bytes) -> std::io::Result<()> {
        Pin::new(&mut self.0)
            .start_send(Message::Binary(payload))
            .map_err(std::io::Error::other)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0)
            .poll_flush(cx)
            .map_err(std::io::Error::other)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0)
            .poll_close(cx)
            .map_err(std::io::Error::other)
    }
}

/// Where the page is when no folder is named: `web` beside the executable (an installed
/// server), else `target/web` in the current folder (where a build of the page would go).
pub fn default_root() -> Option<std::path::PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("web")));
    let built = Some(std::path::PathBuf::from("target/web"));
    [beside, built]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("index.html").is_file())
}

/// One file of the page.
struct WebFile {
    body: Bytes,
    /// The same, compressed ahead of time (`.br`, `.gz` beside it), if present.
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
    mime: &'static str,
    etag: String,
}

/// A browser client's files, read once at start.
#[derive(Default)]
pub struct WebBundle {
    files: HashMap<String, WebFile>,
}

/// The file types the page is made of.
fn mime(name: &str) -> Option<&'static str> {
    Some(match name.rsplit_once('.')?.1 {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The most one file of the bundle may weigh.
const MAX_FILE: u64 = 64 * 1024 * 1024;

impl WebBundle {
    /// Reads the page's files from `dir` (its files and those of its folders, one level down);
    /// an empty bundle if there is none.
    pub fn load(dir: &Path) -> Self {
        let mut bundle = Self::default();
        bundle.add_dir(dir, "");
        bundle
    }

    fn add_dir(&mut self, dir: &Path, prefix: &str) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let ok_name = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok_name || name.starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && prefix.is_empty() {
                self.add_dir(&entry.path(), &format!("{name}/"));
            } else if kind.is_file()
                && let Some(mime) = mime(&name)
                && entry.metadata().is_ok_and(|m| m.len() <= MAX_FILE)
                && let Ok(body) = std::fs::read(entry.path())
            {
                let read = |ext: &str| {
                    std::fs::read(dir.join(format!("{name}.{ext}")))
                        .ok()
                        .map(Bytes::from)
                };
                // FNV-1a, enough to tell two builds of a file apart for caching.
                let etag = format!("\"{:016x}\"", fnv1a(FNV_START, &body));
                let file = WebFile {
                    body: Bytes::from(body),
                    brotli: read("br"),
                    gzip: read("gz"),
                    mime,
                    etag,
                };
                self.files.insert(format!("/{prefix}{name}"), file);
            }
        }
    }

    /// Whether the page was built.
    pub fn is_built(&self) -> bool {
        self.files.contains_key("/index.html")
    }

    /// The answer to a request for the page.
    pub(crate) fn answer(&self, head: &Head) -> Response {
        if head.method != "GET" && head.method != "HEAD" {
            return Response::text(405, "only GET and HEAD are served here");
        }
        let path = head.path.split(['?', '#']).next().unwrap_or("");
        let path = if path == "/" { "/index.html" } else { path };
        let Some(file) = self.files.get(path) else {
            if !self.is_built() {
                return Response::text(503, NOT_BUILT);
            }
            return Response::text(404, "not found");
        };
        if head.header("if-none-match") == Some(file.etag.as_str()) {
            return Response {
                status: 304,
                headers: vec![("ETag", file.etag.clone())],
                body: Bytes::new(),
            };
        }
        let accepts = |coding| head.header_has("accept-encoding", coding);
        let (body, encoding) = match (&file.brotli, &file.gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (file.body.clone(), None),
        };
        // The page itself is asked again each time (cheap with its ETag); the rest is named
        // by content hash by the build, so it may be kept.
        let cache = match path {
            "/index.html" => "no-cache",
            _ if path.contains('-') => "public, max-age=31536000, immutable",
            _ => "no-cache",
        };
        let mut headers = vec![
            ("Content-Type", file.mime.to_owned()),
            ("Cache-Control", cache.to_owned()),
            ("ETag", file.etag.clone()),
            ("Vary", "Accept-Encoding".to_owned()),
            ("Content-Security-Policy", CSP.to_owned()),
        ];
        if let Some(encoding) = encoding {
            headers.push(("Content-Encoding", encoding.to_owned()));
        }
        headers.push(("Content-Length", body.len().to_string()));
        Response {
            status: 200,
            headers,
            body: if head.method == "HEAD" { Bytes::new() } else { body },
        }
    }
}

/// What `/` says when the server has no page to serve. The browser client is not built yet
/// (see README); until it is, players use the game's own client.
pub const NOT_BUILT: &str = "This server has no browser page to serve: its host builds it with ./scripts/web in the game's source folder and restarts the server (or names the folder with --web DIR); meanwhile play with the game's own client, game --client HOST.";

/// What the page may load: its own files, its own WebSocket, the wasm it compiles.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// An HTTP answer, written whole and then the connection closed.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Response {
    pub(crate) fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
            body: Bytes::from(format!("{text}\n")),
        }
    }

    /// The body's size.
    pub(crate) fn len(&self) -> usize {
        self.body.len()
    }

    fn reason(&self) -> &'static str {
        match self.status {
            101 => "Switching Protocols",
            200 => "OK",
            304 => "Not Modified",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "",
        }
    }

    /// Writes it and closes, within `within`.
    pub(crate) async fn send(self, mut stream: TcpStream, within: Duration) {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason());
        let has_length = self.headers.iter().any(|(n, _)| *n == "Content-Length");
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !has_length {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n");
        let write = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&self.body).await?;
            stream.shutdown().await
        };
        let _ = timeout(within, write).await;
        // What the peer sent beyond its head (a body, a second request) is read and dropped
        // until it closes, at most half a second and 64 KiB, so our answer ends in a close
        // rather than a reset that could lose it.
        let drain = async {
            let mut left = 64 * 1024usize;
            let mut sink = [0u8; 4096];
            while left > 0 {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        };
        let _ = timeout(Duration::from_millis(500), drain).await;
    }
}

/// The answer to a head that could not be read.
pub(crate) fn refusal(why: &HeadError) -> Option<Response> {
    match why {
        HeadError::Gone => None,
        HeadError::TooLarge => Some(Response::text(431, "request head too large")),
        HeadError::Malformed => Some(Response::text(400, "bad request")),
    }
}

/// Tells a browser's connection that it is refused: over its WebSocket (the closing frame, as
/// a native peer gets it) when it asked for one, else in an HTTP answer.
pub(crate) async fn refuse(mut stream: TcpStream, closing: Bytes, reason: &str, within: Duration) {
    let Ok(head) = read_head(&mut stream, within).await else {
        return;
    };
    if head.is_upgrade() {
        if let Ok((_, mut sink)) = upgrade(stream, head).await {
            let _ = timeout(within, async {
                let _ = sink.send(closing).await;
                let _ = SinkExt::<Bytes>::close(&mut sink).await;
            })
            .await;
        }
        return;
    }
    Response::text(503, reason).send(stream, within).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> Head {
        Head {
            method: method.into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            rest: Vec::new(),
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// A peer that vanishes while the server writes to it: every write and the close after
    /// them fail with an error, never a panic (they did: the second error panicked).
    #[test]
    fn writing_to_a_vanished_socket_fails_without_a_panic() {
        block_on(async {
            let (ours, theirs) = tokio::io::duplex(64);
            let socket = WebSocketStream::from_raw_socket(ours, Role::Server, Some(socket_config())).await;
            let (_frames, mut sink) = split(socket);
            drop(theirs);
            let payload = Bytes::from(vec![7u8; 200]);
            assert!(sink.send(payload.clone()).await.is_err());
            assert!(sink.send(payload).await.is_err());
            assert!(SinkExt::<Bytes>::close(&mut sink).await.is_err());
        });
    }

    /// A message longer than one read's buffer arrives whole.
    #[test]
    fn a_message_longer_than_the_read_buffer_arrives_whole() {
        block_on(async {
            let (ours, theirs) = tokio::io::duplex(4096);
            let server = WebSocketStream::from_raw_socket(ours, Role::Server, Some(socket_config()));
            let mut client = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
            let (mut frames, _sink) = split(server.await);
            let payload: Vec<u8> = (0..10 * READ_BUFFER).map(|i| (i % 251) as u8).collect();
            let sent = tokio::spawn(async move {
                client
                    .send(Message::Binary(payload.clone().into()))
                    .await
                    .unwrap();
                (client, payload)
            });
            let got = frames.next().await;
            let (_client, payload) = sent.await.unwrap();
            match got {
                Some(Ok(Incoming::Frame(frame))) => assert_eq!(frame.as_ref(), payload.as_slice()),
                _ => panic!("the message did not arrive"),
            }
        });
    }

    fn bundle() -> (tempfile::TempDir, WebBundle) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.path().join("game-1a2b.wasm"), [0, 97, 115, 109]).unwrap();
        std::fs::write(dir.path().join("game-1a2b.wasm.br"), [1, 2]).unwrap();
        std::fs::write(dir.path().join(".secret.txt"), "no").unwrap();
        std::fs::write(dir.path().join("notes.md"), "no").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/font.ttf"), "ttf").unwrap();
        let bundle = WebBundle::load(dir.path());
        (dir, bundle)
    }

    #[test]
    fn only_the_bundles_files_are_served_by_exact_name() {
        let (_dir, bundle) = bundle();
        assert_eq!(bundle.answer(&head("GET", "/", &[])).status, 200);
        assert_eq!(
            bundle.answer(&head("GET", "/?room=den&spectate", &[])).status,
            200
        );
        assert_eq!(bundle.answer(&head("GET", "/assets/font.ttf", &[])).status, 200);
        for path in [
            "/../Cargo.toml",
            "/..%2fCargo.toml",
            "/%2e%2e/etc/passwd",
            "//etc/passwd",
            "/etc/passwd",
            "/.secret.txt",
            "/notes.md",
            "/assets/../index.html",
            "index.html",
        ] {
            assert_eq!(bundle.answer(&head("GET", path, &[])).status, 404, "{path}");
        }
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "TRACE"] {
            assert_eq!(bundle.answer(&head(method, "/", &[])).status, 405, "{method}");
        }
    }

    #[test]
    fn files_go_with_their_type_compression_and_cache_rules() {
        let (_dir, bundle) = bundle();
        let wasm = bundle.answer(&head(
            "GET",
            "/game-1a2b.wasm",
            &[("Accept-Encoding", "gzip, br")],
        ));
        let header = |r: &Response, n: &str| r.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        assert_eq!(header(&wasm, "Content-Type").as_deref(), Some("application/wasm"));
        assert_eq!(header(&wasm, "Content-Encoding").as_deref(), Some("br"));
        assert_eq!(&wasm.body[..], [1, 2]);
        assert!(header(&wasm, "Cache-Control").unwrap().contains("immutable"));
        let plain = bundle.answer(&head("GET", "/game-1a2b.wasm", &[]));
        assert_eq!((header(&plain, "Content-Encoding"), plain.body.len()), (None, 4));
        let page = bundle.answer(&head("HEAD", "/", &[]));
        assert_eq!(
            (page.body.len(), header(&page, "Content-Length").as_deref()),
            (0, Some("15"))
        );
        assert_eq!(header(&page, "Cache-Control").as_deref(), Some("no-cache"));
        assert!(header(&page, "Content-Security-Policy").is_some());
        let etag = header(&page, "ETag").unwrap();
        let again = bundle.answer(&head("GET", "/", &[("If-None-Match", &etag)]));
        assert_eq!((again.status, again.body.len()), (304, 0));
    }

    #[test]
    fn without_a_bundle_the_page_says_how_to_build_it() {
        let bundle = WebBundle::load(Path::new("/nonexistent/catchmind-web"));
        let answer = bundle.answer(&head("GET", "/", &[]));
        assert_eq!(answer.status, 503);
        assert!(String::from_utf8_lossy(&answer.body).contains("game --client"));
    }
}
