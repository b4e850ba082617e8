//! SIPp agents for the call tests (`tests/sipp_calls.rs`): phones registered as extensions,
//! callers, and the carrier simulator on the gateway's address, all running at once in the
//! background against one test PBX.
//!
//! How a SIPp UAS can register first: SIPp maps every incoming message to a call by its
//! Call-ID, and the PBX's INVITE to a phone has a Call-ID of its own, not the REGISTER's. So a
//! phone is SIPp in client mode running `call_phone.xml` (REGISTER with digest, then wait),
//! with the callee behaviour as its out-of-call scenario (`-oocsf call_uas_*.xml`): the INVITE
//! is handled there. The out-of-call scenario sets the global variable `done` as its last
//! step; the main scenario waits for it, so SIPp's exit status covers the callee side too (a
//! failed callee leaves `done` unset and SIPp fails on its global timeout).
//! The carrier is the same with `call_gateway.xml` (an OPTIONS to the PBX from
//! 127.0.0.1:15080 instead of the REGISTER).
//!
//! Events: the scenarios report to the test through `tests/sipp/notify.sh` (SIPp's
//! `<exec command="[notify] ..."/>`): one UDP datagram per event to a socket of the test
//! (`registered`, `ready`, `invite <relay ip> <relay port>`, `answered <relay ip> <relay port>`,
//! `done`). Readiness of a phone is its `registered` event (the REGISTER's 200), never a sleep;
//! the relay ports in the SDP the PBX sent are how the test's RTP finds the relay.
//!
//! Every SIPp also binds its own media port (`-mp`, free) and advertises `-key rtp_port`
//! (that port unless the test puts its own RTP socket there, see [`super::rtp`]).
//!
//! Depends on: `sipp` (Debian `sip-tester`), bash (`notify.sh` uses `/dev/udp`).

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use super::sipp::{SippProcess, SippResult, SippSpec, KILL_AFTER};
use super::{free_port, password, DOMAIN, PBX_SIP};

/// Address of the gateway `carrier` in the test PBX: the carrier simulator listens there and
/// calls in from there (trusted by source address).
pub const GATEWAY_SIP: &str = "127.0.0.1:15080";
/// The gateway's port, for SIPp's `-p`.
pub const GATEWAY_PORT: u16 = 15080;
/// How long an agent may take to report an event (registration, INVITE, answer).
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one receive on the event socket blocks before the process is checked again.
const EVENT_SLICE: Duration = Duration::from_millis(200);

/// SIP transport of an agent (SIPp `-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    /// `-t u1`: one UDP socket.
    Udp,
    /// `-t t1`: one TCP connection (to the PBX; also listens on `-p`).
    Tcp,
}

impl SipTransport {
    fn sipp_mode(self) -> &'static str {
        match self {
            SipTransport::Udp => "u1",
            SipTransport::Tcp => "t1",
        }
    }
}

/// Events a scenario reported through `notify.sh`, in arrival order.
#[derive(Debug)]
pub struct Events {
    socket: UdpSocket,
    /// Received but not yet consumed by [`Events::next_named`].
    pending: VecDeque<Vec<String>>,
    /// Everything received, for failure messages.
    history: Vec<String>,
}

impl Events {
    /// A fresh event socket on 127.0.0.1.
    pub fn bind() -> Events {
        let socket =
            UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind event socket: {e}"));
        Events {
            socket,
            pending: VecDeque::new(),
            history: Vec::new(),
        }
    }

    /// The value of SIPp's `-key notify`: `notify.sh` and this socket's port.
    pub fn notify_key(&self) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/notify.sh");
        let port = self
            .socket
            .local_addr()
            .unwrap_or_else(|e| panic!("event socket address: {e}"))
            .port();
        format!("{} {port}", script.display())
    }

    /// Receives for at most `slice`; queues the event if one came (and says whether one did).
    fn receive(&mut self, slice: Duration) -> bool {
        let slice = slice.max(Duration::from_millis(1));
        self.socket
            .set_read_timeout(Some(slice))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
        let mut buf = [0u8; 512];
        if let Ok((n, _)) = self.socket.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.history.push(text.clone());
            self.pending
                .push_back(text.split_whitespace().map(str::to_owned).collect());
            return true;
        }
        false
    }

    /// Removes and returns the first queued event named `name` (its words after the name),
    /// dropping the events queued before it.
    fn take(&mut self, name: &str) -> Option<Vec<String>> {
        while let Some(event) = self.pending.pop_front() {
            if event.first().map(String::as_str) == Some(name) {
                return Some(event[1..].to_vec());
            }
        }
        None
    }
}

/// One background SIPp (phone, caller or carrier) with its event socket.
#[derive(Debug)]
pub struct Agent {
    /// For messages: "phone 1000", "caller 1001", "carrier".
    name: String,
    process: Option<SippProcess>,
    events: Events,
    /// The media port SIPp advertises in its SDP (`-key rtp_port`).
    rtp_port: u16,
}

/// What to start: see the constructors of [`Agent`].
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// For messages.
    pub name: String,
    /// Main scenario.
    pub scenario: String,
    /// Out-of-call scenario (`-oocsf`): the callee behaviour of phones and the carrier.
    pub ooc: Option<String>,
    /// `-t`.
    pub transport: SipTransport,
    /// `-p`; a free port if `None`.
    pub local_port: Option<u16>,
    /// `-auth_uri` (the digest `uri` without `sip:`).
    pub auth_uri: String,
    /// The SDP's media port (`-key rtp_port`); SIPp's own `-mp` port if `None`.
    pub rtp_port: Option<u16>,
    /// More SIPp arguments (`-s`, `-au`, `-ap`, `-key ...`).
    pub args: Vec<String>,
}

impl AgentSpec {
    /// A phone registered as `ext` (digest with `pw<ext>`) that handles the PBX's INVITE with
    /// the out-of-call scenario `ooc` (`call_uas_*.xml`).
    pub fn phone(ext: u32, ooc: &str, transport: SipTransport) -> AgentSpec {
        AgentSpec {
            name: format!("phone {ext} ({transport:?}, {ooc})"),
            scenario: "call_phone.xml".into(),
            ooc: Some(ooc.into()),
            transport,
            local_port: None,
            auth_uri: DOMAIN.into(),
            rtp_port: None,
            args: [
                "-key",
                "ext",
                &ext.to_string(),
                "-au",
                &ext.to_string(),
                "-ap",
                &password(ext),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    /// A caller from extension `ext` dialling `dialled` with the scenario `scenario`
    /// (`call_uac_*.xml`): its INVITE is authenticated on 407 with `pw<ext>`, digest `uri` =
    /// the Request-URI `sip:<dialled>@switchboard.test`.
    pub fn caller(ext: u32, dialled: &str, scenario: &str, transport: SipTransport) -> AgentSpec {
        AgentSpec {
            name: format!("caller {ext} -> {dialled} ({transport:?}, {scenario})"),
            scenario: scenario.into(),
            ooc: None,
            transport,
            local_port: None,
            auth_uri: format!("{dialled}@{DOMAIN}"),
            rtp_port: None,
            args: [
                "-s",
                dialled,
                "-key",
                "caller",
                &ext.to_string(),
                "-au",
                &ext.to_string(),
                "-ap",
                &password(ext),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    /// The carrier simulator on 127.0.0.1:15080 (UDP), answering the PBX's outbound INVITE
    /// with the out-of-call scenario `ooc` (`call_gw_uas.xml`).
    pub fn carrier(ooc: &str) -> AgentSpec {
        AgentSpec {
            name: format!("carrier ({ooc})"),
            scenario: "call_gateway.xml".into(),
            ooc: Some(ooc.into()),
            transport: SipTransport::Udp,
            local_port: Some(GATEWAY_PORT),
            auth_uri: DOMAIN.into(),
            rtp_port: None,
            args: ["-key", "ext", "carrier"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// The carrier calling in from 127.0.0.1:15080 (no authentication) to `did`, calling
    /// number `from`, with `scenario` (`call_gw_uac.xml`).
    pub fn carrier_call(from: &str, did: &str, scenario: &str) -> AgentSpec {
        AgentSpec {
            name: format!("carrier call {from} -> {did} ({scenario})"),
            scenario: scenario.into(),
            ooc: None,
            transport: SipTransport::Udp,
            local_port: Some(GATEWAY_PORT),
            auth_uri: format!("{did}@{DOMAIN}"),
            rtp_port: None,
            args: ["-s", did, "-key", "caller", from]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// Advertise `port` in the SDP instead of SIPp's own media port (the test's RTP socket).
    pub fn with_rtp_port(mut self, port: u16) -> AgentSpec {
        self.rtp_port = Some(port);
        self
    }
}

impl Agent {
    /// Starts the agent without waiting for anything (callers).
    pub fn spawn(spec: AgentSpec) -> Agent {
        let events = Events::bind();
        let media_port = free_port();
        let rtp_port = spec.rtp_port.unwrap_or(media_port);
        let mut args = spec.args.clone();
        for a in [
            "-t".to_string(),
            spec.transport.sipp_mode().into(),
            "-mi".into(),
            "127.0.0.1".into(),
            "-mp".into(),
            media_port.to_string(),
            "-key".into(),
            "rtp_port".into(),
            rtp_port.to_string(),
            "-key".into(),
            "notify".into(),
            events.notify_key(),
        ] {
            args.push(a);
        }
        if let Some(ooc) = &spec.ooc {
            args.push("-oocsf".into());
            args.push(super::sipp::scenario_path(ooc).display().to_string());
        }
        let local_port = spec.local_port.unwrap_or_else(free_port);
        let process = SippProcess::spawn(&SippSpec {
            scenario: &spec.scenario,
            remote: PBX_SIP,
            local_port,
            auth_uri: &spec.auth_uri,
            args: &args,
        });
        Agent {
            name: spec.name,
            process: Some(process),
            events,
            rtp_port,
        }
    }

    /// Starts a phone (see [`AgentSpec::phone`]) and waits until its registration succeeded.
    pub fn phone(spec: AgentSpec) -> Agent {
        let mut agent = Agent::spawn(spec);
        agent.expect("registered");
        agent
    }

    /// Starts the carrier simulator (see [`AgentSpec::carrier`]) and waits until the PBX
    /// answered its OPTIONS (it is bound on 127.0.0.1:15080).
    pub fn carrier(spec: AgentSpec) -> Agent {
        let mut agent = Agent::spawn(spec);
        agent.expect("ready");
        agent
    }

    /// SIPp's SIP port.
    pub fn sip_port(&self) -> u16 {
        self.process().local_port()
    }

    /// The media port this agent advertises in its SDP.
    pub fn rtp_port(&self) -> u16 {
        self.rtp_port
    }

    fn process(&self) -> &SippProcess {
        self.process
            .as_ref()
            .unwrap_or_else(|| panic!("{}: already finished", self.name))
    }

    /// Waits (bounded) for the event `name` from this agent's scenarios and returns its words
    /// after the name. Panics with SIPp's traces if SIPp exits first or nothing comes in time.
    #[track_caller]
    pub fn expect(&mut self, name: &str) -> Vec<String> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(words) = self.events.take(name) {
                return words;
            }
            let now = Instant::now();
            let exited = self.process.as_mut().and_then(SippProcess::exited);
            if exited.is_some() || now >= deadline {
                // One last look: events sent just before SIPp exited (notify.sh runs in
                // a child process of SIPp, so it may land a little after SIPp's exit).
                while self.events.receive(EVENT_SLICE) {}
                if let Some(words) = self.events.take(name) {
                    return words;
                }
                let history = self.events.history.join(" | ");
                let result = self.take_process().kill();
                panic!(
                    "{}: no `{name}` event within {EVENT_TIMEOUT:?} (events so far: {history})\n{result}",
                    self.name
                );
            }
            self.events.receive(EVENT_SLICE.min(deadline - now));
        }
    }

    /// The address the relay offered this agent, from an `invite`/`answered` event
    /// (`<ip> <port>`).
    #[track_caller]
    pub fn expect_relay(&mut self, event: &str) -> SocketAddr {
        let words = self.expect(event);
        let text = words.join(":");
        text.parse()
            .unwrap_or_else(|e| panic!("{}: bad `{event}` event {words:?}: {e}", self.name))
    }

    fn take_process(&mut self) -> SippProcess {
        self.process
            .take()
            .unwrap_or_else(|| panic!("{}: already finished", self.name))
    }

    /// Waits (bounded) for SIPp to exit and returns its verdict.
    pub fn finish(mut self) -> SippResult {
        let process = self.take_process();
        process.wait(KILL_AFTER)
    }

    /// Waits for SIPp to exit and panics with its traces unless every call succeeded.
    #[track_caller]
    pub fn assert_success(self) -> SippResult {
        let name = self.name.clone();
        let result = self.finish();
        assert!(result.success(), "{name} failed:\n{result}");
        result
    }

    /// Kills SIPp at once (a test gave up on it) and returns its traces.
    pub fn abort(mut self) -> SippResult {
        self.take_process().kill()
    }
}

/// Extension 1000 registered over `transport`, answering INVITEs with `scenario`.
pub fn phone_1000(scenario: &str, transport: SipTransport) -> Agent {
    Agent::phone(AgentSpec::phone(1000, scenario, transport))
}

/// Extension 1001 calling `dialled` over UDP with the caller `scenario`.
pub fn call_from_1001(dialled: &str, scenario: &str) -> Agent {
    Agent::spawn(AgentSpec::caller(
        1001,
        dialled,
        scenario,
        SipTransport::Udp,
    ))
}

/// Waits for the caller; if it failed, kills the callees (they would wait for their global
/// timeout) and panics with everyone's traces; otherwise every callee must succeed too.
#[track_caller]
pub fn finish(caller: Agent, callees: Vec<Agent>) -> SippResult {
    let result = caller.finish();
    if !result.success() {
        let traces: Vec<String> = callees
            .into_iter()
            .map(|callee| callee.abort().to_string())
            .collect();
        panic!(
            "caller failed:\n{result}\n===== callees =====\n{}",
            traces.join("\n=====\n")
        );
    }
    for callee in callees {
        callee.assert_success();
    }
    result
}
