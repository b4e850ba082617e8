//! The RTP/RTCP relay joining two call legs.
//!
//! A [`RelaySession`] owns one [`PortPair`] per leg. Leg A's pair faces phone A: the SDP sent
//! to phone A carries [`RelaySession::local_rtp`]`(Leg::A)`, and [`RelaySession::set_stream`]
//! (or [`RelaySession::set_remote`]) is fed phone A's own SDP. RTP arriving on A's even port is
//! sent out of B's even port to phone B, and vice versa; RTCP the same on the odd ports.
//!
//! **Symmetric latching** (for NATed phones): until a leg is latched, the first packet that
//! passes the source check latches the leg to its source address, and from then on packets
//! for that phone go there instead of to the SDP address, and packets from any other source
//! are dropped (counted in [`LegStats::dropped`]). The source check is [`LatchMode`]: any
//! source, or only the SDP address's IP (port may differ). A new SDP address (re-INVITE)
//! unlatches the leg; an unchanged one keeps the latch. RTP and RTCP latch independently.
//!
//! **Direction/hold**: the relay forwards whatever arrives whatever the SDP direction says —
//! the phones enforce sendonly/inactive. The direction is only tracked: it is reported in
//! [`LegStats`], and a leg whose phone said it will not send (recvonly/inactive) is exempt from
//! the media timeout until its direction changes again.
//!
//! **Hot path**: each socket has its own task that receives into a buffer allocated once at
//! task start and `send_to`s from the same buffer. Per packet it takes the session mutex once
//! (source check, statistics, DTMF, destination lookup; no allocation inside) and bumps
//! atomic output counters after sending — no `Vec`/`Bytes` is created per packet. DTMF
//! events are `try_send` on the bounded queue the session was given, so a slow consumer never
//! blocks forwarding; drops are counted ([`LegStats::dtmf_dropped`]).
//!
//! **Echo mode** ([`RelaySession::start_echo`], the switch's echo test): one pair only, leg A.
//! RTP from the phone is sent back out of the same socket to where it came from (the latched
//! source), so the phone hears itself; statistics, latching, DTMF decoding and the media
//! timeout work as for a two-leg relay (leg B stays empty). RTCP (on the odd port or muxed)
//! is received and counted but not echoed: a phone must not get its own reports back.
//!
//! **Media timeout**: after [`RelaySession::arm_timeout`] a watchdog task reports
//! [`MediaEvent::Timeout`] for a leg that received no RTP for [`RelayConfig::media_timeout`]
//! (RTCP does not count). The timeout event is sent with back-pressure (it must not be lost).
//!
//! Lifecycle: tasks run on the given [`Lifecycle`]'s tracker and stop on its shutdown token,
//! on [`RelaySession::close`], or when the session is dropped; the ports return to the pool
//! once every task has ended (the pair guards live inside the session's shared state).
//!
//! Depends on `runtime` and the sibling media modules.

use super::ports::PortPair;
use super::relay_state::Shared;
use super::sdp::{AudioStream, Direction};
use crate::runtime::Lifecycle;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Receive buffer per socket task: larger than any audio RTP packet on an Ethernet path.
pub const MAX_PACKET: usize = 2048;

/// One side of the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The first leg (conventionally the caller's).
    A,
    /// The second leg (conventionally the callee's).
    B,
}

impl Leg {
    /// The opposite leg.
    pub fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        match self {
            Leg::A => 0,
            Leg::B => 1,
        }
    }
}

/// What the relay reports to its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// An RFC 4733 DTMF event ended on `leg` (reported once per event).
    Dtmf {
        /// The leg whose phone sent the digit.
        leg: Leg,
        /// `0`-`9`, `*`, `#`, `A`-`D`, or `!` for flash.
        digit: char,
        /// Event duration in milliseconds.
        duration_ms: u32,
    },
    /// No RTP arrived on `leg` for the configured media timeout.
    Timeout {
        /// The silent leg.
        leg: Leg,
    },
}

/// Which sources may latch an unlatched leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LatchMode {
    /// The first packet from anywhere latches (works behind any NAT).
    #[default]
    AnySource,
    /// Only packets from the IP address in the leg's SDP (any port) are accepted and latch.
    SdpAddressOnly,
}

/// Relay settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// No RTP for this long after [`RelaySession::arm_timeout`] reports a timeout;
    /// `None` disables it.
    pub media_timeout: Option<Duration>,
    /// Source check before latching.
    pub latch: LatchMode,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            media_timeout: Some(Duration::from_secs(60)),
            latch: LatchMode::AnySource,
        }
    }
}

impl RelayConfig {
    /// The relay settings of `[media]`: its RTP timeout (zero disables it), latching from
    /// any source.
    pub fn from_settings(settings: &crate::config::MediaSettings) -> Self {
        Self {
            media_timeout: Some(settings.rtp_timeout).filter(|t| !t.is_zero()),
            latch: LatchMode::AnySource,
        }
    }
}

/// Statistics of one leg: "in" counts packets from the leg's phone, "out" packets sent to it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LegStats {
    /// RTP packets received from the phone (accepted).
    pub packets_in: u64,
    /// Bytes of those packets (UDP payload).
    pub bytes_in: u64,
    /// RTP packets sent to the phone.
    pub packets_out: u64,
    /// Bytes of those packets.
    pub bytes_out: u64,
    /// RTCP packets received from the phone.
    pub rtcp_in: u64,
    /// RTCP packets sent to the phone.
    pub rtcp_out: u64,
    /// Packets dropped: foreign source, not RTP, or no destination known yet.
    pub dropped: u64,
    /// Packets expected from the sequence numbers (RFC 3550 §A.3).
    pub expected: u64,
    /// Cumulative packets lost (RFC 3550 §A.3; negative with duplicates).
    pub lost: i64,
    /// Interarrival jitter in milliseconds (RFC 3550 §6.4.1).
    pub jitter_ms: f64,
    /// Payload type of the last audio packet.
    pub payload_type: Option<u8>,
    /// Codec name of that payload type, from the SDP.
    pub codec: Option<String>,
    /// Wall-clock time of the first RTP packet.
    pub first_packet: Option<SystemTime>,
    /// Wall-clock time of the last RTP packet.
    pub last_packet: Option<SystemTime>,
    /// The source address RTP is latched to.
    pub latched: Option<SocketAddr>,
    /// Direction from the leg's last SDP.
    pub direction: Direction,
    /// DTMF events lost because the event queue was full or closed.
    pub dtmf_dropped: u64,
}

/// A snapshot of both legs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RelayStats {
    /// Leg A.
    pub a: LegStats,
    /// Leg B.
    pub b: LegStats,
}

impl RelayStats {
    /// The statistics of `leg`.
    pub fn leg(&self, leg: Leg) -> &LegStats {
        match leg {
            Leg::A => &self.a,
            Leg::B => &self.b,
        }
    }
}

/// Output counters, written after each send without taking the lock.
#[derive(Debug, Default)]
struct OutCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
    rtcp: AtomicU64,
}

/// State shared by the session handle and its tasks.
#[derive(Debug)]
struct Inner {
    /// Held for a few field updates per packet, never across an await, hence a std Mutex.
    shared: Mutex<Shared>,
    /// Indexed by leg: packets sent *to* that leg's phone.
    out: [OutCounters; 2],
    /// Leg A's pair. Dropped with `Inner`, which closes the sockets and frees the ports.
    pair_a: PortPair,
    /// Leg B's pair; `None` in echo mode.
    pair_b: Option<PortPair>,
    config: RelayConfig,
    events: mpsc::Sender<MediaEvent>,
    /// Wakes the watchdog when arming or directions change.
    wake: Notify,
    epoch: Instant,
    started: SystemTime,
}

impl Inner {
    /// The pair of `leg`; in echo mode both legs name the only pair.
    fn pair(&self, leg: Leg) -> &PortPair {
        match (leg, &self.pair_b) {
            (Leg::B, Some(b)) => b,
            _ => &self.pair_a,
        }
    }

    /// Whether this is an echo session (one pair, packets sent back to their source).
    fn echo(&self) -> bool {
        self.pair_b.is_none()
    }

    /// The legs with a pair of their own.
    fn legs(&self) -> &'static [Leg] {
        if self.echo() {
            &[Leg::A]
        } else {
            &[Leg::A, Leg::B]
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Poisoning would mean a panic mid-update of counters; they remain usable.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> RelayStats {
        let shared = self.lock();
        let mut a = shared.snapshot(Leg::A, self.epoch, self.started);
        let mut b = shared.snapshot(Leg::B, self.epoch, self.started);
        drop(shared);
        for (stats, out) in [(&mut a, &self.out[0]), (&mut b, &self.out[1])] {
            stats.packets_out = out.packets.load(Ordering::Relaxed);
            stats.bytes_out = out.bytes.load(Ordering::Relaxed);
            stats.rtcp_out = out.rtcp.load(Ordering::Relaxed);
        }
        RelayStats { a, b }
    }
}

/// An RTP/RTCP relay between two legs; see the module docs.
#[derive(Debug)]
pub struct RelaySession {
    inner: Arc<Inner>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// RTP (even port) or RTCP (odd port).
#[derive(Clone, Copy, Debug)]
enum Plane {
    Rtp,
    Rtcp,
}

impl RelaySession {
    /// Starts relaying between the pairs of `a` and `b`: one task per socket plus the
    /// timeout watchdog, on `lifecycle`'s tracker. Events go to `events` (bounded).
    pub fn start(
        a: PortPair,
        b: PortPair,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        Self::launch(a, Some(b), config, events, lifecycle)
    }

    /// Starts an echo session on `pair` (leg A only): RTP from the phone goes back to it
    /// (see the module docs). [`Self::local_rtp`] gives the pair's address for either leg.
    pub fn start_echo(
        pair: PortPair,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        Self::launch(pair, None, config, events, lifecycle)
    }

    fn launch(
        pair_a: PortPair,
        pair_b: Option<PortPair>,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        let inner = Arc::new(Inner {
            shared: Mutex::new(Shared::new(pair_b.is_none())),
            out: Default::default(),
            pair_a,
            pair_b,
            config,
            events,
            wake: Notify::new(),
            epoch: Instant::now(),
            started: SystemTime::now(),
        });
        let cancel = lifecycle.shutdown.child_token();
        let mut tasks = Vec::with_capacity(5);
        for &leg in inner.legs() {
            for plane in [Plane::Rtp, Plane::Rtcp] {
                let inner = Arc::clone(&inner);
                let cancel = cancel.clone();
                tasks.push(lifecycle.tracker.spawn(pump(inner, leg, plane, cancel)));
            }
        }
        if let Some(timeout) = inner.config.media_timeout {
            let inner = Arc::clone(&inner);
            let cancel = cancel.clone();
            tasks.push(lifecycle.tracker.spawn(watchdog(inner, timeout, cancel)));
        }
        RelaySession {
            inner,
            cancel,
            tasks,
        }
    }

    /// Our RTP address for `leg` (goes into the SDP sent to that leg's phone).
    pub fn local_rtp(&self, leg: Leg) -> SocketAddr {
        let pair = self.inner.pair(leg);
        SocketAddr::new(pair.ip(), pair.rtp_port())
    }

    /// Our RTCP address for `leg`.
    pub fn local_rtcp(&self, leg: Leg) -> SocketAddr {
        let pair = self.inner.pair(leg);
        SocketAddr::new(pair.ip(), pair.rtcp_port())
    }

    /// Sets where `leg`'s phone receives RTP and RTCP (from its SDP). Unlatches the leg if
    /// the address changed.
    pub fn set_remote(&self, leg: Leg, rtp: SocketAddr, rtcp: SocketAddr) {
        let mut shared = self.inner.lock();
        let state = &mut shared.legs[leg.index()];
        state.rtp.set_sdp(rtp);
        state.rtcp.set_sdp(rtcp);
    }

    /// Applies `leg`'s phone's SDP: addresses (unless the stream is disabled), payload types
    /// (codec names, clock rates), the telephone-event type and the direction.
    pub fn set_stream(&self, leg: Leg, stream: &AudioStream) {
        self.inner.lock().set_stream(leg, stream, Instant::now());
        self.inner.wake.notify_one();
    }

    /// Starts (or restarts) the media timeout on both legs: call it when the call is answered.
    pub fn arm_timeout(&self) {
        let now = Instant::now();
        let mut shared = self.inner.lock();
        shared.armed = true;
        for leg in &mut shared.legs {
            leg.timer_since = Some(now);
            leg.timeout_fired = false;
        }
        drop(shared);
        self.inner.wake.notify_one();
    }

    /// Stops the media timeout (it can be armed again).
    pub fn disarm_timeout(&self) {
        self.inner.lock().armed = false;
        self.inner.wake.notify_one();
    }

    /// A snapshot of both legs' statistics.
    pub fn stats(&self) -> RelayStats {
        self.inner.snapshot()
    }

    /// Stops every task, waits for them, releases the ports and returns the final statistics.
    pub async fn close(mut self) -> RelayStats {
        self.cancel.cancel();
        for task in std::mem::take(&mut self.tasks) {
            // A task that panicked has already stopped; nothing more to release.
            let _ = task.await;
        }
        self.inner.snapshot()
        // `self` drops here: the last `Arc<Inner>` goes, closing sockets and freeing ports.
    }
}

impl Drop for RelaySession {
    fn drop(&mut self) {
        // The tasks notice, end, and drop their `Arc<Inner>`; the ports are freed after.
        self.cancel.cancel();
    }
}

/// The receive-and-forward loop of one socket. Allocates its buffer once; nothing per packet.
async fn pump(inner: Arc<Inner>, leg: Leg, plane: Plane, cancel: CancellationToken) {
    let mut buf = vec![0u8; MAX_PACKET].into_boxed_slice();
    // Echo: back out of the socket it came in on, towards the same phone.
    let to = if inner.echo() { leg } else { leg.other() };
    let (input, output): (&UdpSocket, &UdpSocket) = match plane {
        Plane::Rtp => (&inner.pair(leg).rtp, &inner.pair(to).rtp),
        Plane::Rtcp => (&inner.pair(leg).rtcp, &inner.pair(to).rtcp),
    };
    let out = &inner.out[to.index()];
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => break,
            r = input.recv_from(&mut buf) => r,
        };
        let (len, src) = match received {
            Ok(r) => r,
            // ICMP errors surfacing on the socket and signals are transient.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                        | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(error) => {
                tracing::warn!(?leg, ?plane, %error, "media socket failed; leg stops relaying");
                break;
            }
        };
        let packet = &buf[..len];
        let verdict = {
            let mut shared = inner.lock();
            match plane {
                Plane::Rtp => shared.on_rtp(leg, src, packet, inner.config.latch, Instant::now()),
                Plane::Rtcp => shared.on_rtcp(leg, src, inner.config.latch),
            }
        };
        if let Some(event) = verdict.event {
            if inner.events.try_send(event).is_err() {
                inner.lock().legs[leg.index()].dtmf_dropped += 1;
            }
        }
        let Some(dest) = verdict.forward_to else {
            continue;
        };
        let sent = tokio::select! {
            _ = cancel.cancelled() => break,
            r = output.send_to(packet, dest) => r,
        };
        match sent {
            Ok(n) => match plane {
                Plane::Rtp => {
                    out.packets.fetch_add(1, Ordering::Relaxed);
                    out.bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                Plane::Rtcp => {
                    out.rtcp.fetch_add(1, Ordering::Relaxed);
                }
            },
            Err(error) => tracing::trace!(?leg, ?plane, %error, %dest, "media send failed"),
        }
    }
}

/// Reports [`MediaEvent::Timeout`] for legs silent past `timeout` while armed.
async fn watchdog(inner: Arc<Inner>, timeout: Duration, cancel: CancellationToken) {
    loop {
        let deadline = inner.lock().next_deadline(timeout);
        let Some(deadline) = deadline else {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = inner.wake.notified() => continue,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = inner.wake.notified() => continue,
            _ = tokio::time::sleep_until(deadline) => {}
        }
        let expired = inner.lock().expired(timeout, Instant::now());
        for leg in expired.into_iter().flatten() {
            tracing::info!(?leg, timeout_s = timeout.as_secs_f64(), "media timeout");
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = inner.events.send(MediaEvent::Timeout { leg }) => {
                    if r.is_err() {
                        return; // nobody listens any more
                    }
                }
            }
        }
    }
}
