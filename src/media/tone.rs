//! Call-progress tones the switch plays itself (ringback while a callee rings, busy,
//! congestion/reorder), as endless 8 kHz linear sample generators.
//!
//! North American precise tones (ANSI T1.401 / the "Precise Tone Plan"):
//!
//! | tone | frequencies | cadence |
//! |---|---|---|
//! | [`Tone::Ringback`] | 440 + 480 Hz | 2 s on, 4 s off |
//! | [`Tone::Busy`] | 480 + 620 Hz | 0.5 s on, 0.5 s off |
//! | [`Tone::Congestion`] | 480 + 620 Hz | 0.25 s on, 0.25 s off |
//!
//! Every frequency is a whole number of hertz, so the waveform repeats exactly each second:
//! the phase is computed from the sample index modulo 8000, with no drift however long the
//! tone plays.
//!
//! Depends on nothing else in the crate.

use std::f32::consts::TAU;

/// Samples per second.
const RATE: u64 = 8000;
/// Peak amplitude of each of the two sine components (about -24 dBFS each, -18 dBFS
/// together: a comfortable level on a handset).
const AMPLITUDE: f32 = 2000.0;

/// A call-progress tone (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Audible ringing: 440 + 480 Hz, 2 s on, 4 s off.
    Ringback,
    /// Busy: 480 + 620 Hz, 0.5 s on, 0.5 s off.
    Busy,
    /// Congestion (reorder, fast busy): 480 + 620 Hz, 0.25 s on, 0.25 s off.
    Congestion,
}

impl Tone {
    /// The two frequencies (Hz) and the on/off cadence (ms).
    fn spec(self) -> ([u32; 2], u64, u64) {
        match self {
            Tone::Ringback => ([440, 480], 2000, 4000),
            Tone::Busy => ([480, 620], 500, 500),
            Tone::Congestion => ([480, 620], 250, 250),
        }
    }

    /// An endless generator of this tone, starting at the beginning of an "on" period.
    pub fn generator(self) -> ToneGenerator {
        let (freqs, on_ms, off_ms) = self.spec();
        ToneGenerator {
            freqs,
            on: on_ms * RATE / 1000,
            period: (on_ms + off_ms) * RATE / 1000,
            index: 0,
        }
    }
}

/// Endless 8 kHz samples of a [`Tone`]; also an [`Iterator`] that never ends.
#[derive(Clone, Debug)]
pub struct ToneGenerator {
    freqs: [u32; 2],
    /// Samples of tone per cadence period.
    on: u64,
    /// Samples per cadence period.
    period: u64,
    /// Index of the next sample since the start.
    index: u64,
}

impl ToneGenerator {
    /// The sample at `index` (since the start of the tone).
    fn sample(&self, index: u64) -> i16 {
        if index % self.period >= self.on {
            return 0;
        }
        let n = index % RATE;
        let value: f32 = self
            .freqs
            .iter()
            .map(|&f| {
                // Whole cycles dropped before converting: exact phase for any index.
                let cycle = (u64::from(f) * n) % RATE;
                (cycle as f32 / RATE as f32 * TAU).sin()
            })
            .sum();
        (value * AMPLITUDE) as i16
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for slot in out {
            *slot = self.sample(self.index);
            self.index += 1;
        }
    }

    /// Skips `samples` samples (the player does when it fell behind wall time).
    pub fn advance(&mut self, samples: u64) {
        self.index += samples;
    }
}

impl Iterator for ToneGenerator {
    type Item = i16;

    fn next(&mut self) -> Option<i16> {
        let sample = self.sample(self.index);
        self.index += 1;
        Some(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy of `samples` (mean square).
    fn power(samples: &[i16]) -> f64 {
        samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64
    }

    /// Goertzel magnitude of `freq` in `samples`.
    fn goertzel(samples: &[i16], freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt()
    }

    #[test]
    fn cadences_follow_the_table() {
        for (tone, on_ms, off_ms) in [
            (Tone::Ringback, 2000, 4000),
            (Tone::Busy, 500, 500),
            (Tone::Congestion, 250, 250),
        ] {
            let samples: Vec<i16> = tone.generator().take(2 * (on_ms + off_ms) * 8).collect();
            let on = &samples[80..on_ms * 8 - 80];
            let off = &samples[on_ms * 8..(on_ms + off_ms) * 8];
            assert!(power(on) > 1e6, "{tone:?} audible while on");
            assert_eq!(power(off), 0.0, "{tone:?} silent while off");
            let second_on = &samples[(on_ms + off_ms) * 8..(2 * on_ms + off_ms) * 8];
            assert_eq!(&samples[..on_ms * 8], second_on, "{tone:?} repeats exactly");
        }
    }

    #[test]
    fn frequencies_are_the_precise_tone_plan() {
        let mut ring = [0i16; 1600];
        Tone::Ringback.generator().fill(&mut ring);
        let (f440, f480, f620) = (
            goertzel(&ring, 440.0),
            goertzel(&ring, 480.0),
            goertzel(&ring, 620.0),
        );
        assert!(
            f440 > 50.0 * f620 && f480 > 50.0 * f620,
            "{f440} {f480} {f620}"
        );
        let busy: Vec<i16> = Tone::Busy.generator().take(1600).collect();
        assert!(goertzel(&busy, 620.0) > 50.0 * goertzel(&busy, 440.0));
    }

    #[test]
    fn advance_keeps_the_waveform_aligned() {
        let mut a = Tone::Busy.generator();
        a.advance(12_345);
        let mut b = Tone::Busy.generator();
        b.nth(12_344);
        assert_eq!(
            a.take(500).collect::<Vec<_>>(),
            b.take(500).collect::<Vec<_>>()
        );
    }
}
