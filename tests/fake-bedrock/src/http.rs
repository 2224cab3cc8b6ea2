//! HTTP/1.1 on a raw socket: reading requests (Content-Length or chunked bodies,
//! `Expect: 100-continue`, keep-alive) and writing responses and chunks, with the hooks the
//! fault scripts need (watching for the peer going away while sleeping or gated).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const MAX_HEAD: usize = 1 << 20;
pub(crate) const MAX_BODY: usize = 64 << 20;

/// One request as read off the socket (header names lower-cased).
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) raw_path: String,
    pub(crate) raw_query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client asked to close the connection after this response.
    pub(crate) close: bool,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection: the two halves and the bytes read but not consumed yet.
pub(crate) struct Conn {
    pub(crate) rd: OwnedReadHalf,
    pub(crate) wr: OwnedWriteHalf,
    pub(crate) buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

async fn fill(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(16 * 1024);
    rd.read_buf(buf).await
}

/// Completes when the peer closes (EOF or error); incoming data is buffered.
pub(crate) async fn peer_gone(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) {
    loop {
        match fill(rd, buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.len() > MAX_BODY {
                    return;
                }
            }
        }
    }
}

/// The request line and headers of a head: (request without body, HTTP version).
fn parse_head(head: &str) -> io::Result<(Request, String)> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if !m.is_empty() && t.starts_with('/') => {
            (m.to_string(), t.to_string(), v.to_string())
        }
        _ => return Err(bad("bad request line")),
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let req = Request {
        method,
        raw_path,
        raw_query,
        headers,
        body: Vec::new(),
        close: false,
    };
    Ok((req, version))
}

impl Conn {
    pub(crate) fn new(stream: TcpStream) -> Conn {
        let (rd, wr) = stream.into_split();
        Conn {
            rd,
            wr,
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> io::Result<usize> {
        fill(&mut self.rd, &mut self.buf).await
    }

    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("line too long"));
            }
            if self.fill().await? == 0 {
                return Err(bad("eof in line"));
            }
        }
    }

    async fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(bad("eof in body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// `Ok(None)`: clean EOF between requests.
    pub(crate) async fn read_request(&mut self) -> io::Result<Option<Request>> {
        let Some(head) = self.read_head().await? else {
            return Ok(None);
        };
        let (mut req, version) = parse_head(&head)?;
        let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
        req.close = connection.contains("close")
            || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
        if req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            self.wr.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let chunked = req
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            req.body = self.read_chunked_body().await?;
        } else if let Some(cl) = req.header("content-length") {
            let n: usize = cl.trim().parse().map_err(|_| bad("bad content-length"))?;
            if n > MAX_BODY {
                return Err(bad("body too large"));
            }
            req.body = self.read_exact(n).await?;
        }
        Ok(Some(req))
    }

    /// The request head up to (without) the blank line; `Ok(None)` on a clean EOF.
    async fn read_head(&mut self) -> io::Result<Option<String>> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("header too large"));
            }
            if self.fill().await? == 0 {
                if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                return Err(bad("eof in head"));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        Ok(Some(head))
    }

    async fn read_chunked_body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size_str = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_str, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers until an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let data = self.read_exact(size).await?;
            body.extend_from_slice(&data);
            if !self.read_line().await?.is_empty() {
                return Err(bad("missing CRLF after chunk"));
            }
        }
    }

    /// Sleep for `d`; returns true if the peer went away meanwhile.
    pub(crate) async fn sleep_or_peer_gone(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = peer_gone(&mut self.rd, &mut self.buf) => true,
        }
    }

    /// Wait for the gate; returns true if the peer went away meanwhile.
    pub(crate) async fn gate_or_peer_gone(&mut self, gate: &Notify) -> bool {
        tokio::select! {
            _ = gate.notified() => false,
            _ = peer_gone(&mut self.rd, &mut self.buf) => true,
        }
    }

    pub(crate) async fn write_chunk(&mut self, data: &[u8], terminate: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(data.len() + 16);
        if !data.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        if terminate {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        self.wr.write_all(&out).await?;
        self.wr.flush().await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Write a complete response with Content-Length. Returns whether the
/// connection may be reused.
pub(crate) async fn write_response(
    conn: &mut Conn,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> bool {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let ok = conn.wr.write_all(&bytes).await.is_ok() && conn.wr.flush().await.is_ok();
    ok && !close
}
