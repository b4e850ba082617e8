//! G.711 µ-law and A-law (ITU-T G.711; RTP payload types 0 PCMU and 8 PCMA, RFC 3551 §4.5.14)
//! conversion between 16-bit linear PCM and 8-bit companded samples, by table lookup.
//!
//! Both directions use tables built at compile time: decoding indexes a 256-entry table,
//! encoding a table over the linear input the law actually uses (14 bits for µ-law, 13 bits
//! for A-law, G.711 §2/§3), so the 16-bit sample is shifted down first. The tables come from
//! the classic segment algorithm (the public-domain Sun `g711.c` reference); µ-law 0x7F
//! (negative zero) decodes to 0 like 0xFF, so every other byte survives decode→encode.
//!
//! Depends on nothing else in the crate.

/// µ-law bias added before the segment search (G.711 table 2: 33 in 14-bit units).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude µ-law encodes; larger values are clipped.
const ULAW_CLIP: i32 = 8159;
/// Upper ends of the eight µ-law segments (14-bit magnitude plus bias).
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Upper ends of the eight A-law segments (13-bit magnitude).
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// The first segment whose end is >= `value` (8 when beyond the last).
const fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    let mut i = 0;
    while i < 8 {
        if value <= ends[i] {
            return i as i32;
        }
        i += 1;
    }
    8
}

/// µ-law code of a 14-bit signed linear value.
const fn ulaw_from_14bit(value: i32) -> u8 {
    let (mut magnitude, mask) = if value < 0 {
        (-value, 0x7F)
    } else {
        (value, 0xFF)
    };
    if magnitude > ULAW_CLIP {
        magnitude = ULAW_CLIP;
    }
    magnitude += ULAW_BIAS >> 2;
    let seg = segment(magnitude, &ULAW_SEG_END);
    let code = if seg >= 8 {
        0x7F
    } else {
        (seg << 4) | ((magnitude >> (seg + 1)) & 0x0F)
    };
    (code ^ mask) as u8
}

/// A-law code of a 13-bit signed linear value.
const fn alaw_from_13bit(value: i32) -> u8 {
    let (magnitude, mask) = if value >= 0 {
        (value, 0xD5)
    } else {
        (-value - 1, 0x55)
    };
    let seg = segment(magnitude, &ALAW_SEG_END);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((magnitude >> 1) & 0x0F)
    } else {
        (seg << 4) | ((magnitude >> seg) & 0x0F)
    };
    (code ^ mask) as u8
}

/// Linear value of a µ-law code.
const fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code as i32;
    let t = (((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

/// Linear value of an A-law code.
const fn alaw_to_linear(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    t += match seg {
        0 => 8,
        _ => 0x108,
    };
    if seg > 1 {
        t <<= seg - 1;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_to_linear(i as u8);
        i += 1;
    }
    table
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_to_linear(i as u8);
        i += 1;
    }
    table
}

/// Indexed by the 14-bit two's complement pattern (`sample >> 2`, masked).
const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut table = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        let value = if i >= (1 << 13) {
            i as i32 - (1 << 14)
        } else {
            i as i32
        };
        table[i] = ulaw_from_14bit(value);
        i += 1;
    }
    table
}

/// Indexed by the 13-bit two's complement pattern (`sample >> 3`, masked).
const fn build_alaw_encode() -> [u8; 1 << 13] {
    let mut table = [0u8; 1 << 13];
    let mut i = 0;
    while i < (1 << 13) {
        let value = if i >= (1 << 12) {
            i as i32 - (1 << 13)
        } else {
            i as i32
        };
        table[i] = alaw_from_13bit(value);
        i += 1;
    }
    table
}

static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
static ULAW_ENCODE: [u8; 1 << 14] = build_ulaw_encode();
static ALAW_ENCODE: [u8; 1 << 13] = build_alaw_encode();

/// Encodes one 16-bit linear sample as µ-law (PCMU).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as u16 & 0x3FFF) as usize]
}

/// Decodes one µ-law (PCMU) byte to a 16-bit linear sample.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Encodes one 16-bit linear sample as A-law (PCMA).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 3) as u16 & 0x1FFF) as usize]
}

/// Decodes one A-law (PCMA) byte to a 16-bit linear sample.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

#[cfg(test)]
#[path = "g711_tests.rs"]
mod tests;
