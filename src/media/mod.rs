//! Media: RTP/RTCP relay, port pool, SDP rewriting, DTMF (being written).
