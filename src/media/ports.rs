//! RTP/RTCP port pairs from a configured range.
//!
//! RFC 3550 §11: RTP uses an even port and RTCP the next odd one. The pool hands out pairs
//! round-robin — the cursor moves past the last pair handed out, so a pair freed by a call
//! that just ended is the last to be reused (late packets of the old call do not land in a
//! new one). A pair whose ports another process holds is skipped. The [`PortPair`] guard owns
//! both bound sockets and its [`PortLease`]; dropping the last of them gives the ports back,
//! so no path out of a call can leak them. [`PortPool::in_use`] lets tests assert that.
//!
//! Depends on nothing else in the crate.

use super::MediaError;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::UdpSocket;

/// A pool of RTP/RTCP port pairs on one bind address. Cheap to clone (shared state).
#[derive(Clone, Debug)]
pub struct PortPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    ip: IpAddr,
    /// First even port of the range.
    first: u16,
    /// Last port of the range as configured (for error messages).
    last: u16,
    /// Number of pairs in the range.
    pairs: usize,
    /// Short, non-async critical section (a few comparisons per allocate/release), hence a
    /// std Mutex.
    state: Mutex<PoolState>,
}

#[derive(Debug)]
struct PoolState {
    /// Index of the pair the next allocation tries first (round-robin cursor).
    cursor: usize,
    /// One flag per pair: handed out and not yet released.
    used: Vec<bool>,
    /// Number of `true` entries in `used`.
    in_use: usize,
}

impl PortPool {
    /// A pool over the pairs (even, even+1) lying within `first..=last` on `ip`.
    /// An odd `first` starts at the next even port.
    pub fn new(ip: IpAddr, first: u16, last: u16) -> Result<Self, MediaError> {
        let even = first.saturating_add(first % 2);
        let pairs = if last > even {
            (usize::from(last) - usize::from(even)).div_ceil(2)
        } else {
            0
        };
        if pairs == 0 {
            return Err(MediaError::EmptyRange { first, last });
        }
        Ok(Self {
            inner: Arc::new(PoolInner {
                ip,
                first: even,
                last,
                pairs,
                state: Mutex::new(PoolState {
                    cursor: 0,
                    used: vec![false; pairs],
                    in_use: 0,
                }),
            }),
        })
    }

    /// The pool described by `[media]`: `rtp_address` (or `fallback_ip`, the SIP listener's
    /// address, when unset) and `rtp_port_min..=rtp_port_max`.
    pub fn from_settings(
        settings: &crate::config::MediaSettings,
        fallback_ip: IpAddr,
    ) -> Result<Self, MediaError> {
        let ip = settings.rtp_address.unwrap_or(fallback_ip);
        Self::new(ip, settings.rtp_port_min, settings.rtp_port_max)
    }

    /// The address the pool binds on.
    pub fn ip(&self) -> IpAddr {
        self.inner.ip
    }

    /// Number of pairs in the range.
    pub fn capacity(&self) -> usize {
        self.inner.pairs
    }

    /// Number of pairs currently handed out (for leak assertions).
    pub fn in_use(&self) -> usize {
        self.inner.lock().in_use
    }

    /// Binds the next free pair (round-robin), skipping pairs whose ports are taken by
    /// someone else. Must be called inside a Tokio runtime (the sockets are registered with it).
    pub fn allocate(&self) -> Result<PortPair, MediaError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MediaError::NoRuntime);
        }
        let inner = &self.inner;
        let mut tried = 0;
        while tried < inner.pairs {
            let Some(index) = inner.reserve_next() else {
                break;
            };
            tried += 1;
            let lease = PortLease {
                pool: Arc::clone(inner),
                index,
            };
            match bind_pair(inner.ip, lease.rtp_port()) {
                Ok(Some((rtp, rtcp))) => return Ok(PortPair { rtp, rtcp, lease }),
                // Taken by another process: the lease drops here and frees our flag.
                Ok(None) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(MediaError::PortsExhausted {
            ip: inner.ip,
            first: inner.first,
            last: inner.last,
        })
    }
}

impl PoolInner {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A poisoned lock only means another thread panicked mid-update of plain flags;
        // the flags are still consistent enough to keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the first free pair at or after the cursor as used and moves the cursor past it.
    fn reserve_next(&self) -> Option<usize> {
        let mut state = self.lock();
        let pairs = self.pairs;
        for step in 0..pairs {
            let index = (state.cursor + step) % pairs;
            if !state.used[index] {
                state.used[index] = true;
                state.in_use += 1;
                state.cursor = (index + 1) % pairs;
                return Some(index);
            }
        }
        None
    }

    fn release(&self, index: usize) {
        let mut state = self.lock();
        if let Some(flag) = state.used.get_mut(index) {
            if *flag {
                *flag = false;
                state.in_use -= 1;
            }
        }
    }
}

/// Binds RTP on `port` and RTCP on `port + 1`; `Ok(None)` when either is taken.
fn bind_pair(ip: IpAddr, port: u16) -> Result<Option<(UdpSocket, UdpSocket)>, MediaError> {
    let Some(rtp) = bind_one(ip, port)? else {
        return Ok(None);
    };
    let Some(rtcp) = bind_one(ip, port + 1)? else {
        return Ok(None);
    };
    Ok(Some((rtp, rtcp)))
}

fn bind_one(ip: IpAddr, port: u16) -> Result<Option<UdpSocket>, MediaError> {
    let socket_error = |source| MediaError::Socket { ip, port, source };
    let socket = match std::net::UdpSocket::bind(SocketAddr::new(ip, port)) {
        Ok(socket) => socket,
        Err(e) if e.kind() == ErrorKind::AddrInUse => return Ok(None),
        Err(e) => return Err(socket_error(e)),
    };
    socket.set_nonblocking(true).map_err(socket_error)?;
    UdpSocket::from_std(socket).map(Some).map_err(socket_error)
}

/// The reservation of one pair in its pool; gives the pair back when dropped.
#[derive(Debug)]
pub struct PortLease {
    pool: Arc<PoolInner>,
    index: usize,
}

impl PortLease {
    /// The even (RTP) port of the pair.
    pub fn rtp_port(&self) -> u16 {
        // index < pairs, and the range fits in u16 by construction.
        self.pool.first + (self.index as u16) * 2
    }

    /// The odd (RTCP) port of the pair.
    pub fn rtcp_port(&self) -> u16 {
        self.rtp_port() + 1
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}

/// Two bound UDP sockets (RTP on the even port, RTCP on the next) and their lease.
/// Dropping it closes the sockets and returns the ports to the pool.
#[derive(Debug)]
pub struct PortPair {
    /// Socket on the even port.
    pub rtp: UdpSocket,
    /// Socket on the odd port.
    pub rtcp: UdpSocket,
    /// The reservation; keep it alive as long as either socket is in use.
    pub lease: PortLease,
}

impl PortPair {
    /// The bind IP of the pair.
    pub fn ip(&self) -> IpAddr {
        self.lease.pool.ip
    }

    /// The even (RTP) port.
    pub fn rtp_port(&self) -> u16 {
        self.lease.rtp_port()
    }

    /// The odd (RTCP) port.
    pub fn rtcp_port(&self) -> u16 {
        self.lease.rtcp_port()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn allocates_even_odd_pairs_and_releases_on_drop() {
        let pool = PortPool::new(LOOPBACK, 41000, 41009).unwrap();
        assert_eq!(pool.capacity(), 5);
        let pair = pool.allocate().unwrap();
        assert_eq!(pair.rtp_port() % 2, 0);
        assert_eq!(pair.rtcp_port(), pair.rtp_port() + 1);
        assert_eq!(pair.rtp.local_addr().unwrap().port(), pair.rtp_port());
        assert_eq!(pair.rtcp.local_addr().unwrap().port(), pair.rtcp_port());
        assert_eq!(pool.in_use(), 1);
        drop(pair);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn round_robin_does_not_reuse_a_freed_pair_at_once() {
        let pool = PortPool::new(LOOPBACK, 41011, 41020).unwrap(); // odd start -> 41012
        let first = pool.allocate().unwrap();
        let first_port = first.rtp_port();
        assert_eq!(first_port, 41012);
        drop(first);
        let second = pool.allocate().unwrap();
        assert_ne!(second.rtp_port(), first_port);
        assert_eq!(second.rtp_port(), 41014);
    }

    #[tokio::test]
    async fn exhaustion_is_an_error_and_recovers_after_release() {
        let pool = PortPool::new(LOOPBACK, 41030, 41033).unwrap();
        let a = pool.allocate().unwrap();
        let b = pool.allocate().unwrap();
        assert!(matches!(
            pool.allocate(),
            Err(MediaError::PortsExhausted { .. })
        ));
        assert_eq!(pool.in_use(), 2);
        let freed = b.rtp_port();
        drop(b);
        assert_eq!(pool.allocate().unwrap().rtp_port(), freed);
        drop(a);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn skips_pairs_held_by_other_sockets() {
        let _squatter = std::net::UdpSocket::bind((LOOPBACK, 41041)).unwrap(); // RTCP of first pair
        let pool = PortPool::new(LOOPBACK, 41040, 41045).unwrap();
        let pair = pool.allocate().unwrap();
        assert_eq!(pair.rtp_port(), 41042);
        assert_eq!(pool.in_use(), 1, "the skipped pair was given back");
    }

    #[test]
    fn built_from_media_settings() {
        let settings = crate::config::MediaSettings::default();
        let pool = PortPool::from_settings(&settings, LOOPBACK).unwrap();
        assert_eq!((pool.ip(), pool.capacity()), (LOOPBACK, 5000));
    }

    #[test]
    fn empty_range_and_no_runtime_are_errors() {
        assert!(matches!(
            PortPool::new(LOOPBACK, 41050, 41050),
            Err(MediaError::EmptyRange { .. })
        ));
        let pool = PortPool::new(LOOPBACK, 41050, 41051).unwrap();
        assert!(matches!(pool.allocate(), Err(MediaError::NoRuntime)));
        assert_eq!(pool.in_use(), 0);
    }
}
