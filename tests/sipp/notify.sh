#!/bin/bash
# Reports a SIPp scenario event to the test that runs it: sends "WORDS..." as one UDP
# datagram to 127.0.0.1:PORT. Called from the call_*.xml scenarios through
# <exec command="[notify] ..."/>, where the harness sets `-key notify "<this file> <port>"`
# (tests/common/calls.rs). Usage: notify.sh PORT WORDS...
port="$1"
shift
printf '%s' "$*" >"/dev/udp/127.0.0.1/$port"
