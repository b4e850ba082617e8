#!/bin/sh
# Regenerates every prompt shipped in this directory. The generated files are committed,
# so neither builds nor CI run this; run it by hand after changing a text below.
#
# Needs espeak-ng (text to speech) and sox (Debian: apt-get install espeak-ng sox).
# Output: WAV, G.711 mu-law, 8000 Hz, mono, which the media layer plays without
# resampling (see ../README.md for the formats it accepts).
#
# Usage: dialplan/sounds/generate.sh        (from anywhere; writes next to this script)

set -eu

cd "$(dirname "$0")"
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "generate.sh: $tool not found (apt-get install espeak-ng sox)" >&2
        exit 1
    }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# sox flags used throughout: -R repeatable output (same input, same bytes), -D no dither
# (dither noise is audible once squeezed into 8-bit mu-law).
ULAW="-r 8000 -c 1 -e u-law"

# speak NAME "text": spoken prompt NAME.wav. The speech is resampled to 8 kHz, leading and
# trailing silence are trimmed, peaks normalised to -3 dBFS, and 0.1 s / 0.3 s of silence
# added before / after so that the first syllable is not clipped when a phone starts
# playing late and prompts played back to back do not run into each other.
speak() {
    espeak-ng -v en-us -s 150 -w "$tmp/$1.wav" "$2"
    sox -R -D "$tmp/$1.wav" $ULAW "$1.wav" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
        gain -n -3 pad 0.1 0.3
    echo "$1.wav: $2"
}

speak welcome "Thank you for calling switchboard."
speak ivr-menu "For sales, press 1. For support, press 2. To dial an extension, press 9. For the operator, press 0."
speak invalid "That is not a valid choice."
speak goodbye "Goodbye."
speak closed "Our office is closed. Office hours are Monday to Friday, nine to five."
speak echo-test "This is the echo test. Speak and you will hear yourself. Press pound to end."
speak queue-unavailable "Support is not available right now. Please try again later."
speak all-busy "Everyone is busy. Please try again later."
speak enter-ext "Please enter the extension number, then press pound."

# beep.wav: a quarter second of 1 kHz at -6 dBFS with 10 ms ramps (no clicks), played
# before Record.
sox -R -D -n $ULAW beep.wav synth 0.25 sine 1000 fade q 0.01 0.25 0.01 gain -6
echo "beep.wav: 1 kHz tone, 0.25 s"

# moh.wav: music on hold, played in a loop. Four soft chords of two seconds each
# (C major, A minor, F major, G major; three sine voices per chord), each faded in and
# out so that the chords, and the end of the loop into its start, join without clicks.
chord() {
    # chord OUT f1 f2 f3
    sox -R -D -n -r 8000 -c 3 "$tmp/$1.wav" \
        synth 2 sine "$2" sine "$3" sine "$4" \
        remix 1-3 fade q 0.4 2 0.6 gain -n -12
}
chord c 261.63 329.63 392.00
chord am 220.00 261.63 329.63
chord f 174.61 220.00 261.63
chord g 196.00 246.94 293.66
sox -R -D "$tmp/c.wav" "$tmp/am.wav" "$tmp/f.wav" "$tmp/g.wav" $ULAW moh.wav
echo "moh.wav: chord loop, 8 s"

du -ch ./*.wav | tail -n 1
