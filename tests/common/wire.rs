//! Raw SIP on the wire, independent of the crate's own parser: building requests from text,
//! exchanging single UDP datagrams, and a small response parser for assertions.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A unique token for branches, tags and Call-IDs (pid, time, counter).
pub fn token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Turns a readable message template into wire bytes: lines joined with CRLF, and the
/// placeholders `{via}` (our `ip:port`), `{branch}`, `{tag}`, `{callid}` filled in.
pub fn render(template: &str, local: SocketAddr) -> Vec<u8> {
    let text = template
        .replace("{via}", &local.to_string())
        .replace("{branch}", &format!("z9hG4bK{}", token()))
        .replace("{tag}", &token())
        .replace("{callid}", &token());
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split('\n') {
        out.push_str(line.trim_end_matches('\r'));
        out.push_str("\r\n");
    }
    // The template ends with the empty line closing the headers; drop the extra CRLF added
    // after it so that the message ends with exactly CRLFCRLF (plus any body).
    if out.ends_with("\r\n\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    out.into_bytes()
}

/// A SIP response as seen on the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header lines in order, names as received.
    pub headers: Vec<(String, String)>,
    /// Body bytes after the blank line.
    pub body: Vec<u8>,
    /// The whole message as text, for failure messages.
    pub raw: String,
}

/// Long form of a compact header name (RFC 3261 §7.3.3), lower-cased.
fn long_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let long = match lower.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "k" => "supported",
        "s" => "subject",
        _ => return lower,
    };
    long.to_string()
}

impl Response {
    /// Parses one response (status line, headers, body); `None` if it is not a response.
    pub fn parse(bytes: &[u8]) -> Option<Response> {
        let raw = String::from_utf8_lossy(bytes).into_owned();
        let (head, body) = match raw.find("\r\n\r\n") {
            Some(i) => (&raw[..i], bytes.get(i + 4..).unwrap_or_default().to_vec()),
            None => (raw.as_str(), Vec::new()),
        };
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let rest = status_line.strip_prefix("SIP/2.0 ")?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code.parse().ok()?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // RFC 3261 §7.3.1 folding: continuation of the previous header
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        Some(Response {
            status,
            reason: reason.to_string(),
            headers,
            body,
            raw: raw.clone(),
        })
    }

    /// Values of every header line called `name` (case-insensitive, compact forms understood).
    pub fn all(&self, name: &str) -> Vec<&str> {
        let want = long_name(name);
        self.headers
            .iter()
            .filter(|(n, _)| long_name(n) == want)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Value of the first header line called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }
}

/// Sends `template` (see [`render`]) in one datagram from a fresh socket to `to` and waits up
/// to `wait` for a response. Returns the response, or `None` if nothing came back.
pub fn udp_exchange(to: &str, template: &str, wait: Duration) -> Option<Response> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind UDP: {e}"));
    let local = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    udp_send_bytes(&socket, to, &render(template, local), wait)
}

/// Sends raw `bytes` from `socket` to `to` and waits up to `wait` for one response datagram.
pub fn udp_send_bytes(
    socket: &UdpSocket,
    to: &str,
    bytes: &[u8],
    wait: Duration,
) -> Option<Response> {
    socket
        .send_to(bytes, to)
        .unwrap_or_else(|e| panic!("send to {to}: {e}"));
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65_536];
    loop {
        // Always wait on the socket until the deadline: an ICMP "port unreachable" (nobody
        // listens yet) surfaces at once as ConnectionRefused and must not end the wait early.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        socket
            .set_read_timeout(Some(left))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                let got = buf.get(..n).unwrap_or_default();
                return Some(Response::parse(got).unwrap_or_else(|| {
                    panic!("not a SIP response: {:?}", String::from_utf8_lossy(got))
                }));
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
            Err(e) => panic!("recv from {to}: {e}"),
        }
    }
}

/// A well-formed OPTIONS to the PBX itself.
pub const OPTIONS: &str = "OPTIONS sip:127.0.0.1:15060 SIP/2.0
Via: SIP/2.0/UDP {via};branch={branch};rport
Max-Forwards: 70
From: <sip:probe@switchboard.test>;tag={tag}
To: <sip:127.0.0.1:15060>
Call-ID: {callid}
CSeq: 1 OPTIONS
Content-Length: 0
";

/// Sends one OPTIONS to `to` over UDP and returns the status line of the answer, if any came
/// within `wait`.
pub fn probe_options(to: &str, wait: Duration) -> Option<String> {
    udp_exchange(to, OPTIONS, wait).map(|r| format!("{} {}", r.status, r.reason))
}
