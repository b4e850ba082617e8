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
//! (source check, statistics, DTMF, destination lookup; no allocation inside unless a tap is
//! set) and bumps
//! atomic output counters after sending — no `Vec`/`Bytes` is created per packet. DTMF
//! events are `try_send` on the bounded queue the session was given, so a slow consumer never
//! blocks forwarding; drops are counted ([`LegStats::dtmf_dropped`]).
//!
//! **Leg modes** ([`LegMode`], [`RelaySession::set_mode`]): a two-pair session starts with
//! both legs in Bridge (the above). A leg in Echo gets its own RTP back out of its own socket
//! (to the latched source), so its phone hears itself; RTCP is counted but never echoed (a
//! phone must not get its own reports back). A leg in Local keeps latching, counting and
//! DTMF decoding, but its packets go nowhere: the switch plays to that phone through
//! [`RelaySession::output`] instead. Packets are forwarded from one phone to the other only
//! while both legs are in Bridge; packets for a leg in Echo or Local from the other phone are
//! dropped (not counted as drops: that is the mode's purpose).
//!
//! **One-pair sessions** ([`RelaySession::start_echo`], [`RelaySession::start_local`]): calls
//! the switch answers itself (echo test, prompts) have leg A only, starting in Echo or Local;
//! statistics, latching, DTMF decoding and the media timeout work as for a two-leg relay
//! (leg B stays empty).
//!
//! **Playing and recording**: [`MediaOutput::send_rtp`] sends RTP the switch made (prompts,
//! tones) out of a leg's RTP socket to its phone, counted in the leg's output statistics. A
//! tap ([`RelaySession::set_tap`]) receives a copy of every audio payload from a leg's phone
//! ([`TapPacket`]; not telephone-event, comfort noise or RTCP) whatever the mode, with
//! `try_send`: a slow recorder loses copies (counted in [`LegStats::tap_dropped`]), never
//! stalls the relay. [`RelaySession::codec`] says which codec to play to a leg.
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
use super::sdp::{AudioStream, Direction, PayloadType};
use crate::runtime::Lifecycle;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Receive buffer per socket task: larger than any audio RTP packet on an Ethernet path.
pub const MAX_PACKET: usize = 2048;

/// A process-wide counter on a cache line of its own (the two counters are bumped from
/// different socket tasks; sharing a line would make every bump a cross-core miss).
#[repr(align(64))]
struct GlobalCounter(AtomicU64);

/// RTP packets accepted from phones by every relay session since the process started.
static RTP_PACKETS_IN: GlobalCounter = GlobalCounter(AtomicU64::new(0));
/// RTP packets sent to phones by every relay session since the process started.
static RTP_PACKETS_OUT: GlobalCounter = GlobalCounter(AtomicU64::new(0));

/// RTP packets (received from phones, sent to phones) by every relay session of the
/// process so far (`/metrics`). Relaxed reads: a scrape needs no ordering.
pub fn rtp_packet_totals() -> (u64, u64) {
    (
        RTP_PACKETS_IN.0.load(Ordering::Relaxed),
        RTP_PACKETS_OUT.0.load(Ordering::Relaxed),
    )
}

/// One RTP packet accepted from a phone (process-wide count; one relaxed add).
pub(crate) fn count_global_rtp_in() {
    RTP_PACKETS_IN.0.fetch_add(1, Ordering::Relaxed);
}

#[path = "relay_output.rs"]
mod output;
#[path = "relay_tasks.rs"]
mod tasks;
pub use output::MediaOutput;
use tasks::{pump, watchdog};

/// What the relay does with one leg's packets (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LegMode {
    /// Forwarded to the other leg's phone (while that leg bridges too).
    #[default]
    Bridge,
    /// RTP sent back to the phone it came from (echo test).
    Echo,
    /// Received (latched, counted, DTMF decoded) but not forwarded: the switch plays to it.
    Local,
}

/// A copy of one audio RTP payload from a phone, for recording ([`RelaySession::set_tap`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapPacket {
    /// RTP payload type of the packet.
    pub payload_type: u8,
    /// RTP sequence number (for reordering/loss handling).
    pub seq: u16,
    /// RTP timestamp (for gaps: silence suppression, loss).
    pub timestamp: u32,
    /// The payload (encoded audio, as sent by the phone).
    pub payload: bytes::Bytes,
}

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
    /// The leg's current mode.
    pub mode: LegMode,
    /// Tap copies lost because the tap's queue was full.
    pub tap_dropped: u64,
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

impl OutCounters {
    /// One RTP packet of `bytes` sent.
    fn count_rtp(&self, bytes: usize) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        RTP_PACKETS_OUT.0.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
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
    /// Leg B's pair; `None` in a one-pair session.
    pair_b: Option<PortPair>,
    config: RelayConfig,
    events: mpsc::Sender<MediaEvent>,
    /// Wakes the watchdog when arming or directions change.
    wake: Notify,
    epoch: Instant,
    started: SystemTime,
}

impl Inner {
    /// The pair of `leg`; in a one-pair session both legs name the only pair.
    fn pair(&self, leg: Leg) -> &PortPair {
        match (leg, &self.pair_b) {
            (Leg::B, Some(b)) => b,
            _ => &self.pair_a,
        }
    }

    /// The legs with a pair of their own.
    fn legs(&self) -> &'static [Leg] {
        if self.pair_b.is_none() {
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
        Self::launch(a, Some(b), LegMode::Bridge, config, events, lifecycle)
    }

    /// Starts an echo session on `pair` (leg A only, in [`LegMode::Echo`]): RTP from the phone
    /// goes back to it (see the module docs). [`Self::local_rtp`] gives the pair's address for
    /// either leg.
    pub fn start_echo(
        pair: PortPair,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        Self::launch(pair, None, LegMode::Echo, config, events, lifecycle)
    }

    /// Starts a one-pair session on `pair` with leg A in [`LegMode::Local`]: for calls the
    /// switch answers and plays to (prompts, IVR); [`Self::set_mode`] can turn it to Echo.
    pub fn start_local(
        pair: PortPair,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        Self::launch(pair, None, LegMode::Local, config, events, lifecycle)
    }

    fn launch(
        pair_a: PortPair,
        pair_b: Option<PortPair>,
        mode_a: LegMode,
        config: RelayConfig,
        events: mpsc::Sender<MediaEvent>,
        lifecycle: &Lifecycle,
    ) -> RelaySession {
        let inner = Arc::new(Inner {
            shared: Mutex::new(Shared::with_mode(pair_b.is_none(), mode_a)),
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

    /// Sets what happens to `leg`'s packets (and to the other phone's packets for it).
    pub fn set_mode(&self, leg: Leg, mode: LegMode) {
        self.inner.lock().legs[leg.index()].mode = mode;
    }

    /// The current mode of `leg`.
    pub fn mode(&self, leg: Leg) -> LegMode {
        self.inner.lock().legs[leg.index()].mode
    }

    /// A handle that sends RTP to `leg`'s phone out of the leg's own RTP socket (prompts,
    /// tones); it does not keep the session's ports alive.
    pub fn output(&self, leg: Leg) -> MediaOutput {
        MediaOutput::relay(Arc::downgrade(&self.inner), leg, self.cancel.clone())
    }

    /// Sends a copy of every audio payload from `leg`'s phone to `tap` (`None` removes it).
    /// Copies are `try_send`: a full queue loses them (counted), a closed one removes the tap.
    pub fn set_tap(&self, leg: Leg, tap: Option<mpsc::Sender<TapPacket>>) {
        self.inner.lock().legs[leg.index()].tap = tap;
    }

    /// The audio codec to use towards `leg`'s phone: the pinned one ([`Self::set_codec`]),
    /// else the codec of the phone's last audio packet, else the first audio codec both legs'
    /// SDPs share (in a one-pair session: the first audio codec of the leg's SDP).
    pub fn codec(&self, leg: Leg) -> Option<PayloadType> {
        self.inner.lock().codec(leg)
    }

    /// Pins the codec [`Self::codec`] reports for `leg` (e.g. the one our own SDP answer
    /// chose); `None` unpins it.
    pub fn set_codec(&self, leg: Leg, codec: Option<PayloadType>) {
        self.inner.lock().legs[leg.index()].pinned_codec = codec;
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
