//! Just enough HTTP/1.1 to relay requests and answers byte for byte: heads, and bodies
//! framed by `Content-Length`, by chunked transfer coding, or (answers only) by the end of
//! the connection.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest request or answer head accepted.
const MAX_HEAD: usize = 1 << 20;

/// A request as read from the client: its parsed head, and its body both as sent (to
/// forward) and decoded (to read an `Action=` from).
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The request target (`/bucket?encryption`).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The head as received, ending with the empty line.
    pub head: Vec<u8>,
    /// The body as received (chunk framing included).
    pub raw_body: Vec<u8>,
    /// The body without chunk framing.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The path and the query string (without `?`) of the target.
    pub fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }

    /// Whether the client asked to close the connection after this request.
    pub fn wants_close(&self) -> bool {
        self.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"))
    }
}

/// An answer as read from upstream.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Head and body as received.
    pub raw: Vec<u8>,
    /// Whether the connection must close after it (its body ran to the end of the
    /// connection, or upstream said `Connection: close`).
    pub close: bool,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The start line and the headers of a head.
fn parse_head(head: &[u8]) -> io::Result<(String, Vec<(String, String)>)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').ok_or_else(|| bad(format!("malformed header line {line:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok((start, headers))
}

/// A TCP stream with a read buffer.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn { stream, buf: Vec::new() }
    }

    /// Read more into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// A head up to and including its empty line; `None` when the stream ends before its
    /// first byte (the peer closed an idle connection).
    async fn head(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(Some(self.buf.drain(..i + 4).collect()));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("head too long"));
            }
            if !self.fill().await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside a head"))
                };
            }
        }
    }

    async fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside a body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                return Ok(self.buf.drain(..i + 2).collect());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("chunk line too long"));
            }
            if !self.fill().await? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside a chunk"));
            }
        }
    }

    async fn rest(&mut self) -> io::Result<Vec<u8>> {
        while self.fill().await? {}
        Ok(std::mem::take(&mut self.buf))
    }

    /// A chunked body: (as received, decoded).
    async fn chunked(&mut self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let (mut raw, mut body) = (Vec::new(), Vec::new());
        loop {
            let line = self.line().await?;
            raw.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            let size_text = text.trim_end().split(';').next().unwrap_or_default().trim().to_string();
            let size =
                usize::from_str_radix(&size_text, 16).map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                loop {
                    let trailer = self.line().await?;
                    raw.extend_from_slice(&trailer);
                    if trailer == b"\r\n" {
                        return Ok((raw, body));
                    }
                }
            }
            let data = self.take(size + 2).await?;
            body.extend_from_slice(&data[..size]);
            raw.extend_from_slice(&data);
        }
    }

    /// The next request; `None` when the client closed the connection between requests.
    /// Answers `100 Continue` itself when the client waits for it.
    pub async fn request(&mut self) -> io::Result<Option<Request>> {
        let Some(head) = self.head().await? else { return Ok(None) };
        let (start, headers) = parse_head(&head)?;
        let mut parts = start.split(' ');
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Err(bad(format!("malformed request line {start:?}")));
        };
        if header(&headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let (raw_body, body) = if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            self.chunked().await?
        } else {
            let n = match header(&headers, "content-length") {
                Some(n) => n.parse::<usize>().map_err(|_| bad(format!("bad Content-Length {n:?}")))?,
                None => 0,
            };
            let b = self.take(n).await?;
            (b.clone(), b)
        };
        Ok(Some(Request { method: method.to_string(), target: target.to_string(), headers, head, raw_body, body }))
    }

    /// The answer to a request made with `method` (interim `1xx` answers skipped).
    pub async fn response(&mut self, method: &str) -> io::Result<Response> {
        loop {
            let head = self.head().await?.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))?;
            let (start, headers) = parse_head(&head)?;
            let status: u16 = start
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(format!("malformed status line {start:?}")))?;
            if (100..200).contains(&status) {
                continue;
            }
            let mut close = header(&headers, "connection").is_some_and(|c| c.eq_ignore_ascii_case("close"))
                || start.starts_with("HTTP/1.0");
            let mut raw = head;
            if method == "HEAD" || status == 204 || status == 304 {
            } else if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
                raw.extend(self.chunked().await?.0);
            } else if let Some(n) = header(&headers, "content-length") {
                let n = n.parse::<usize>().map_err(|_| bad(format!("bad Content-Length {n:?}")))?;
                raw.extend(self.take(n).await?);
            } else {
                raw.extend(self.rest().await?);
                close = true;
            }
            return Ok(Response { status, raw, close });
        }
    }
}

/// A complete answer: status line, the given headers, `Content-Length`, and the body (none
/// for a HEAD request, whose answer only says how long the body would be).
pub fn answer(status: u16, headers: &[(String, String)], body: &[u8], head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}
