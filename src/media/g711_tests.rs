//! G.711 table tests: known code points, round trips over every code, bounded quantisation
//! error over every 16-bit sample.

use super::*;

#[test]
fn known_ulaw_vectors() {
    for (code, linear) in [
        (0xFFu8, 0i16),
        (0x7F, 0),
        (0x00, -32124),
        (0x80, 32124),
        (0xF0, 120),
        (0x70, -120),
    ] {
        assert_eq!(ulaw_decode(code), linear, "decode {code:#04x}");
    }
    assert_eq!(ulaw_encode(0), 0xFF);
    assert_eq!(ulaw_encode(i16::MAX), 0x80);
    assert_eq!(ulaw_encode(i16::MIN), 0x00);
}

#[test]
fn known_alaw_vectors() {
    for (code, linear) in [(0xD5u8, 8i16), (0x55, -8), (0xAA, 32256), (0x2A, -32256)] {
        assert_eq!(alaw_decode(code), linear, "decode {code:#04x}");
    }
    assert_eq!(alaw_encode(0), 0xD5);
    assert_eq!(alaw_encode(-1), 0x55);
    assert_eq!(alaw_encode(i16::MAX), 0xAA);
    assert_eq!(alaw_encode(i16::MIN), 0x2A);
}

#[test]
fn every_code_survives_decode_then_encode() {
    for code in 0..=255u8 {
        assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        if code != 0x7F {
            // µ-law has two zeros; 0x7F (negative zero) comes back as 0xFF.
            assert_eq!(ulaw_encode(ulaw_decode(code)), code, "µ-law {code:#04x}");
        }
    }
}

#[test]
fn quantisation_error_is_bounded_and_sign_is_kept() {
    for x in i16::MIN..=i16::MAX {
        let bound = i32::from(x).abs() / 16 + 16;
        for (law, y) in [
            ("µ", ulaw_decode(ulaw_encode(x))),
            ("A", alaw_decode(alaw_encode(x))),
        ] {
            let err = (i32::from(y) - i32::from(x)).abs();
            assert!(err <= bound, "{law}-law {x} -> {y}");
            assert!(
                i32::from(x) * i32::from(y) >= 0 || x.abs() < 16,
                "{law}-law sign {x} {y}"
            );
        }
    }
}
