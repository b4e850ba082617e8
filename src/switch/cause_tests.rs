use super::*;

/// RFC 3398 §7.2.4.1 (ISUP cause → SIP response), row by row; 16 has no response ("---").
const RFC3398_Q850_TO_SIP: &[(u16, Option<u16>)] = &[
    (1, Some(404)),
    (2, Some(404)),
    (3, Some(404)),
    (16, None),
    (17, Some(486)),
    (18, Some(408)),
    (19, Some(480)),
    (20, Some(480)),
    (21, Some(403)),
    (22, Some(410)),
    (23, Some(410)),
    (26, Some(404)),
    (27, Some(502)),
    (28, Some(484)),
    (29, Some(501)),
    (31, Some(480)),
    (34, Some(503)),
    (38, Some(503)),
    (41, Some(503)),
    (42, Some(503)),
    (47, Some(503)),
    (55, Some(403)),
    (57, Some(403)),
    (58, Some(503)),
    (65, Some(488)),
    (70, Some(488)),
    (79, Some(501)),
    (87, Some(403)),
    (88, Some(503)),
    (102, Some(504)),
    (111, Some(500)),
    (127, Some(500)),
];

/// RFC 3398 §8.2.6.1 (SIP response → ISUP cause), row by row (487, 488 and 606 have no
/// table entry and are covered separately).
const RFC3398_SIP_TO_Q850: &[(u16, u16)] = &[
    (400, 41),
    (401, 21),
    (402, 21),
    (403, 21),
    (404, 1),
    (405, 63),
    (406, 79),
    (407, 21),
    (408, 102),
    (410, 22),
    (413, 127),
    (414, 127),
    (415, 79),
    (416, 127),
    (420, 127),
    (421, 127),
    (423, 127),
    (480, 18),
    (481, 41),
    (482, 25),
    (483, 25),
    (484, 28),
    (485, 1),
    (486, 17),
    (500, 41),
    (501, 79),
    (502, 38),
    (503, 41),
    (504, 102),
    (505, 127),
    (513, 127),
    (600, 17),
    (603, 21),
    (604, 1),
];

#[test]
fn q850_to_sip_follows_rfc3398_7_2_4_1() {
    for &(cause, status) in RFC3398_Q850_TO_SIP {
        let q = Q850::from_code(cause);
        assert!(!matches!(q, Q850::Other(_)), "cause {cause} has a name");
        assert_eq!(q.to_sip_status(), status, "cause {cause} ({})", q.name());
    }
}

#[test]
fn sip_to_q850_follows_rfc3398_8_2_6_1() {
    for &(status, cause) in RFC3398_SIP_TO_Q850 {
        assert_eq!(
            Q850::from_sip_status(status).code(),
            cause,
            "status {status}"
        );
    }
}

#[test]
fn sip_to_q850_outside_the_table() {
    let cases: &[(u16, Q850)] = &[
        (200, Q850::NormalClearing),
        (487, Q850::OriginatorCancel),
        (488, Q850::IncompatibleDestination),
        (606, Q850::IncompatibleDestination),
        (491, Q850::Interworking),
        (599, Q850::NormalCircuitCongestion),
        (302, Q850::Interworking),
    ];
    for &(status, q) in cases {
        assert_eq!(Q850::from_sip_status(status), q, "status {status}");
    }
}

#[test]
fn rejection_status_always_gives_a_final_failure() {
    assert_eq!(Q850::NormalClearing.rejection_status(), 480);
    assert_eq!(Q850::ExchangeRoutingError.rejection_status(), 483);
    assert_eq!(Q850::UserBusy.rejection_status(), 486);
    assert_eq!(Q850::OriginatorCancel.rejection_status(), 487);
    assert_eq!(Q850::Other(99).rejection_status(), 480);
    for q in Q850::ALL {
        let s = q.rejection_status();
        assert!((400..700).contains(&s), "{q}: {s}");
    }
}

#[test]
fn asterisk_names_and_codes() {
    let cases: &[(Q850, u16, &str)] = &[
        (Q850::NormalClearing, 16, "NORMAL_CLEARING"),
        (Q850::UserBusy, 17, "USER_BUSY"),
        (Q850::NoUserResponse, 18, "NO_USER_RESPONSE"),
        (Q850::NoAnswer, 19, "NO_ANSWER"),
        (Q850::CallRejected, 21, "CALL_REJECTED"),
        (Q850::Unallocated, 1, "UNALLOCATED"),
        (Q850::NoRouteDestination, 3, "NO_ROUTE_DESTINATION"),
        (Q850::NumberChanged, 22, "NUMBER_CHANGED"),
        (Q850::DestinationOutOfOrder, 27, "DESTINATION_OUT_OF_ORDER"),
        (Q850::InvalidNumberFormat, 28, "INVALID_NUMBER_FORMAT"),
        (Q850::FacilityRejected, 29, "FACILITY_REJECTED"),
        (Q850::NormalUnspecified, 31, "NORMAL_UNSPECIFIED"),
        (
            Q850::NormalCircuitCongestion,
            34,
            "NORMAL_CIRCUIT_CONGESTION",
        ),
        (Q850::NetworkOutOfOrder, 38, "NETWORK_OUT_OF_ORDER"),
        (Q850::NormalTemporaryFailure, 41, "NORMAL_TEMPORARY_FAILURE"),
        (Q850::SwitchCongestion, 42, "SWITCH_CONGESTION"),
        (Q850::RequestedChanUnavail, 44, "REQUESTED_CHAN_UNAVAIL"),
        (
            Q850::BearerCapabilityNotAvail,
            58,
            "BEARERCAPABILITY_NOTAVAIL",
        ),
        (Q850::ServiceUnavailable, 63, "SERVICE_UNAVAILABLE"),
        (
            Q850::BearerCapabilityNotImpl,
            65,
            "BEARERCAPABILITY_NOTIMPL",
        ),
        (
            Q850::IncompatibleDestination,
            88,
            "INCOMPATIBLE_DESTINATION",
        ),
        (Q850::RecoveryOnTimerExpire, 102, "RECOVERY_ON_TIMER_EXPIRE"),
        (Q850::Interworking, 127, "INTERWORKING"),
        (Q850::OriginatorCancel, 487, "ORIGINATOR_CANCEL"),
        (Q850::MediaTimeout, 604, "MEDIA_TIMEOUT"),
    ];
    for &(q, code, name) in cases {
        assert_eq!(q.code(), code);
        assert_eq!(q.name(), name);
        assert_eq!(Q850::from_code(code), q);
        assert_eq!(Q850::from_name(&name.to_ascii_lowercase()), Some(q));
    }
    assert_eq!(Q850::from_code(99), Q850::Other(99));
    assert_eq!(Q850::Other(99).name(), "UNKNOWN");
    assert!(Q850::Interworking.is_standard());
    assert!(!Q850::MediaTimeout.is_standard());
}

#[test]
fn names_and_codes_are_unique() {
    for (i, a) in Q850::ALL.iter().enumerate() {
        for b in &Q850::ALL[i + 1..] {
            assert_ne!(a.code(), b.code(), "{a} / {b}");
            assert_ne!(a.name(), b.name());
        }
    }
}

#[test]
fn hangup_side_to_endtype() {
    use Direction::{Inbound, Outbound};
    let cases = [
        (HangupSide::Caller, Inbound, EndType::Remote),
        (HangupSide::Caller, Outbound, EndType::Local),
        (HangupSide::Callee, Inbound, EndType::Local),
        (HangupSide::Callee, Outbound, EndType::Remote),
        (HangupSide::Switch, Inbound, EndType::Local),
        (HangupSide::Switch, Outbound, EndType::Local),
        (HangupSide::Device, Inbound, EndType::Device),
        (HangupSide::Device, Outbound, EndType::Device),
    ];
    for (side, dir, want) in cases {
        assert_eq!(side.end_type(dir), want, "{side:?} on {dir:?}");
    }
    assert_eq!(EndType::Remote.code(), 2);
}

#[test]
fn hangup_cause_constructors() {
    let c = HangupCause::from_sip(486, HangupSide::Callee);
    assert_eq!((c.q850, c.sip_status), (Q850::UserBusy, Some(486)));
    let c = HangupCause::from_q850_with_status(Q850::NoAnswer, HangupSide::Switch);
    assert_eq!(c.sip_status, Some(480));
    assert_eq!(
        HangupCause::normal(HangupSide::Caller).to_string(),
        "NORMAL_CLEARING(16) by caller"
    );
}
