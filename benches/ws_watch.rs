//! A watcher of the live-call WebSocket for `benches/dashboard_load.sh`: logs in, opens
//! `/api/v1/calls/live`, reads for a while and reports what a dashboard receives:
//! messages/s, bytes/s, the largest message and batch (upserts + removes), and the delay
//! between a call's change and the delta carrying it (call arrival: `started_ms`; answer:
//! `answered_ms`; both stamped by the PBX on the same host's clock).
//!
//!   ws_watch <host:port> <user> <password> <seconds>
//!
//! Standard library only (no crate), so the script builds it with `rustc -O` in seconds:
//! a minimal HTTP/1.1 login, the RFC 6455 client handshake and frame reader (the server's
//! frames are unmasked; the client's pongs and close are masked, §5.3), and a JSON scanner
//! that only knows the shapes of the live-call messages. Also a `harness = false` bench
//! target, so `cargo check --all-targets` keeps it compiling.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `POST /api/v1/login`; returns the session cookie value.
fn login(addr: &str, user: &str, password: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    let body = format!("{{\"name\":\"{user}\",\"password\":\"{password}\"}}");
    let req = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "login refused: {}",
            answer.lines().next().unwrap_or("")
        ));
    }
    answer
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .find_map(|l| {
            let v = l.split_once(':')?.1.trim();
            let v = v.strip_prefix("sb_session=")?;
            Some(v.split(';').next().unwrap_or(v).to_owned())
        })
        .ok_or_else(|| "no session cookie".to_owned())
}

/// The WebSocket handshake (RFC 6455 §4.1); returns the reader positioned after it.
fn open(addr: &str, path: &str, cookie: &str) -> Result<BufReader<TcpStream>, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: sb_session={cookie}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).map_err(|e| e.to_string())?;
    if !status.starts_with("HTTP/1.1 101") {
        return Err(format!("upgrade refused: {}", status.trim()));
    }
    loop {
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            return Ok(r);
        }
    }
}

/// A masked client frame (§5.3; the mask need not be unpredictable for this tool).
fn send_frame(s: &mut TcpStream, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
    let mask = [0x5a, 0x17, 0xc3, 0x81];
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65_536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f)
}

/// Reads one frame: (fin, opcode, payload).
fn read_frame(r: &mut BufReader<TcpStream>) -> std::io::Result<(bool, u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h)?;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut mask = [0u8; 4];
    if h[1] & 0x80 != 0 {
        r.read_exact(&mut mask)?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if h[1] & 0x80 != 0 {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((h[0] & 0x80 != 0, h[0] & 0x0f, payload))
}

/// The text of the JSON array value of `key` (brackets included), strings respected.
fn array_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(&format!("\"{key}\":["))? + key.len() + 3;
    let bytes = text.as_bytes();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The top-level objects of a JSON array text.
fn objects(array: &str) -> Vec<&str> {
    let (mut out, mut depth, mut in_str, mut esc, mut from) = (Vec::new(), 0i32, false, false, 0);
    for (i, &b) in array.as_bytes().iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' => {
                depth += 1;
                if depth == 2 {
                    from = i;
                }
            }
            b'[' => depth += 1,
            b'}' => {
                if depth == 2 {
                    out.push(&array[from..=i]);
                }
                depth -= 1;
            }
            b']' => depth -= 1,
            _ => {}
        }
    }
    out
}

/// A number field of a call object (`null` or absent: `None`).
fn number(obj: &str, key: &str) -> Option<i64> {
    let at = obj.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = obj[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// The call id: the first field of a call object.
fn call_id(obj: &str) -> Option<&str> {
    let rest = obj.strip_prefix("{\"id\":\"")?;
    Some(&rest[..rest.find('"')?])
}

#[derive(Default)]
struct Stats {
    messages: u64,
    bytes: u64,
    largest_message: usize,
    largest_batch: usize,
    upserts: u64,
    removes: u64,
    snapshot_calls: usize,
    snapshot_bytes: usize,
    seq_gaps: u64,
    arrival_delay: Vec<i64>,
    answer_delay: Vec<i64>,
}

fn percentile(v: &mut [i64], p: f64) -> i64 {
    if v.is_empty() {
        return -1;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p) as usize]
}

fn run(addr: &str, user: &str, password: &str, secs: u64) -> Result<(), String> {
    let cookie = login(addr, user, password)?;
    let started = Instant::now();
    let mut r = open(addr, "/api/v1/calls/live", &cookie)?;
    let mut w = r.get_ref().try_clone().map_err(|e| e.to_string())?;
    let deadline = started + Duration::from_secs(secs);
    let mut st = Stats::default();
    let mut seen = std::collections::HashSet::new();
    let mut answered = std::collections::HashSet::new();
    let mut last_seq: Option<u64> = None;
    let mut partial: Vec<u8> = Vec::new();
    while Instant::now() < deadline {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        r.get_ref()
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let (fin, opcode, payload) = match read_frame(&mut r) {
            Ok(f) => f,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => return Err(format!("read: {e}")),
        };
        match opcode {
            0x9 => send_frame(&mut w, 0xA, &payload).map_err(|e| e.to_string())?,
            0x8 => return Err("the server closed the socket".into()),
            0x1 | 0x0 => {
                partial.extend_from_slice(&payload);
                if !fin {
                    continue;
                }
                let at = now_ms();
                let text =
                    String::from_utf8(std::mem::take(&mut partial)).map_err(|e| e.to_string())?;
                st.messages += 1;
                st.bytes += text.len() as u64;
                st.largest_message = st.largest_message.max(text.len());
                let seq = number(&text, "seq").map(|s| s as u64);
                let is_snapshot = text.starts_with("{\"type\":\"snapshot\"");
                let calls = if is_snapshot {
                    array_of(&text, "calls")
                } else {
                    array_of(&text, "upsert")
                };
                let objs = calls.map(objects).unwrap_or_default();
                if is_snapshot {
                    st.snapshot_calls = objs.len();
                    st.snapshot_bytes = text.len();
                } else {
                    if let (Some(prev), Some(seq)) = (last_seq, seq) {
                        st.seq_gaps += u64::from(seq != prev + 1);
                    }
                    let removes =
                        array_of(&text, "remove").map_or(0, |a| a.matches('"').count() / 2);
                    st.removes += removes as u64;
                    st.upserts += objs.len() as u64;
                    st.largest_batch = st.largest_batch.max(objs.len() + removes);
                }
                last_seq = seq;
                for obj in objs {
                    let Some(id) = call_id(obj) else { continue };
                    if seen.insert(id.to_owned()) && !is_snapshot {
                        if let Some(t) = number(obj, "started_ms") {
                            st.arrival_delay.push(at - t);
                        }
                    }
                    if let Some(t) = number(obj, "answered_ms") {
                        if answered.insert(id.to_owned()) && !is_snapshot {
                            st.answer_delay.push(at - t);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let _ = send_frame(&mut w, 0x8, &1000u16.to_be_bytes());
    let wall = started.elapsed().as_secs_f64();
    let (n_arr, n_ans) = (st.arrival_delay.len(), st.answer_delay.len());
    println!(
        "watcher: {wall:.1} s, snapshot {} calls ({} bytes), {} messages ({:.1}/s), {:.1} kB/s, \
         largest message {} bytes, largest batch {} calls, upserts {} removes {}, seq gaps {}",
        st.snapshot_calls,
        st.snapshot_bytes,
        st.messages,
        st.messages as f64 / wall,
        st.bytes as f64 / wall / 1000.0,
        st.largest_message,
        st.largest_batch,
        st.upserts,
        st.removes,
        st.seq_gaps
    );
    println!(
        "watcher: change -> delta delay ms: arrival p50 {} p99 {} max {} (n {n_arr}); \
         answer p50 {} p99 {} max {} (n {n_ans})",
        percentile(&mut st.arrival_delay, 0.5),
        percentile(&mut st.arrival_delay, 0.99),
        percentile(&mut st.arrival_delay, 1.0),
        percentile(&mut st.answer_delay, 0.5),
        percentile(&mut st.answer_delay, 0.99),
        percentile(&mut st.answer_delay, 1.0),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` runs every bench target with `--bench`: nothing to do without a PBX.
    if args.len() != 5 {
        eprintln!("usage: ws_watch <host:port> <user> <password> <seconds> (see benches/dashboard_load.sh)");
        return ExitCode::SUCCESS;
    }
    let secs = args[4].parse().unwrap_or(30);
    match run(&args[1], &args[2], &args[3], secs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_watch: {e}");
            ExitCode::FAILURE
        }
    }
}
