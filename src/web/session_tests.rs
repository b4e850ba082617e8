//! Session expiry and removal; the address limiter's window and lock (explicit `now`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;

#[test]
fn sessions_expire_and_are_removed() {
    let sessions = Sessions::new(Duration::from_secs(60));
    let t0 = Instant::now();
    let (id, s) = sessions.create("alice", t0).expect("create");
    assert_eq!(id.len(), 64);
    assert_ne!(s.csrf, id);
    assert_eq!(sessions.get(&id, t0 + Duration::from_secs(59)), Some(s));
    assert_eq!(sessions.get(&id, t0 + Duration::from_secs(60)), None);
    assert!(
        sessions.is_empty(),
        "an expired session is dropped on lookup"
    );
}

#[test]
fn logout_and_account_removal() {
    let sessions = Sessions::new(Duration::from_secs(60));
    let now = Instant::now();
    let (a1, _) = sessions.create("alice", now).expect("create");
    let (a2, _) = sessions.create("alice", now).expect("create");
    let (b, _) = sessions.create("bob", now).expect("create");
    sessions.remove(&b);
    assert_eq!(sessions.get(&b, now), None);
    sessions.remove_account("alice", Some(&a1));
    assert!(sessions.get(&a1, now).is_some());
    assert_eq!(sessions.get(&a2, now), None);
}

#[test]
fn address_limiter_locks_after_max_failures_in_window() {
    let limiter = AddressLimiter::new(3, Duration::from_secs(60), Duration::from_secs(300));
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let t0 = Instant::now();
    assert_eq!(limiter.failure(ip, t0), None);
    // The first failure leaves the window before the third one.
    assert_eq!(limiter.failure(ip, t0 + Duration::from_secs(50)), None);
    assert_eq!(limiter.failure(ip, t0 + Duration::from_secs(70)), None);
    assert_eq!(limiter.locked(ip, t0 + Duration::from_secs(70)), None);
    let t = t0 + Duration::from_secs(80);
    assert_eq!(limiter.failure(ip, t), Some(Duration::from_secs(300)));
    assert_eq!(
        limiter.locked(ip, t + Duration::from_secs(100)),
        Some(Duration::from_secs(200))
    );
    assert_eq!(limiter.locked(ip, t + Duration::from_secs(300)), None);
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(limiter.locked(other, t), None);
}

#[test]
fn address_limiter_success_clears() {
    let limiter = AddressLimiter::new(2, Duration::from_secs(60), Duration::from_secs(60));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let now = Instant::now();
    assert_eq!(limiter.failure(ip, now), None);
    limiter.success(ip);
    assert_eq!(limiter.failure(ip, now), None);
}
