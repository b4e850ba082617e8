//! Custom CDR fields (mod_cti `fields`, seed 001): evaluates the configured
//! [`FieldSpec`]s against a record.
//!
//! A variable name resolves first to the record's own field of that name, then to the
//! record's channel variables. Own fields are every scalar field of [`LegRecord`] /
//! [`BridgeRecord`] by its name, plus these derived names:
//!
//! | name | value |
//! |---|---|
//! | `start`, `answer`, `end` | UTC ISO-8601 with ms (`2026-11-22T23:45:01.123Z`) |
//! | `start_stamp`, `answer_stamp`, `end_stamp` | local `YYYY-MM-DD HH:MM:SS` (FreeSWITCH) |
//! | `start_epoch`, `answer_epoch`, `end_epoch` | whole seconds since the epoch (FreeSWITCH) |
//! | `rtp_last_audio_codec_string` (leg) | alias of `codec` (FreeSWITCH) |
//! | `hangup_cause_q850` (leg) | alias of `q850` (FreeSWITCH) |
//! | `sip_term_status` (leg) | alias of `sip_code` (FreeSWITCH) |
//! | `rtp_in_packets` … `rtp_out_jitter_ms` (leg) | the RTP counters |
//! | `rtp_audio_in_packet_count`, `rtp_audio_out_packet_count` (leg) | FreeSWITCH aliases |
//!
//! An own field that is unset (`answer` of an unanswered call, `sip_code` without a SIP
//! failure) resolves to nothing; it does not fall through to a variable of the same name.
//! In a template a missing variable is the empty string; a `number:` field whose text is
//! not a finite number (or is empty) is NULL.
//!
//! Depends on: `crate::config` (field specs), `super::model`, `super::time`.

use crate::config::{FieldKind, FieldPart, FieldSpec};

use super::model::{BridgeRecord, LegRecord, Millis};
use super::time;

/// The value of one custom field, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A text column value.
    Text(String),
    /// A numeric column value.
    Number(f64),
    /// SQL NULL (a `number:` field whose text is not a number).
    Null,
}

/// Something custom fields can be evaluated against: a name gives a value or nothing.
pub trait Lookup {
    /// The value called `name` (a record field, or a channel variable), if any.
    fn get(&self, name: &str) -> Option<String>;
}

/// Evaluates `specs` against `record`: `(column, value)` pairs in the specs' order.
pub fn values(specs: &[FieldSpec], record: &dyn Lookup) -> Vec<(String, FieldValue)> {
    specs
        .iter()
        .map(|spec| (spec.column.clone(), value(spec, record)))
        .collect()
}

/// One field's value.
fn value(spec: &FieldSpec, record: &dyn Lookup) -> FieldValue {
    let mut text = String::new();
    for part in &spec.template {
        match part {
            FieldPart::Literal(l) => text.push_str(l),
            FieldPart::Var(name) => {
                if let Some(v) = record.get(name) {
                    text.push_str(&v);
                }
            }
        }
    }
    match spec.kind {
        FieldKind::Text => FieldValue::Text(text),
        FieldKind::Number => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => FieldValue::Number(n),
            _ => FieldValue::Null,
        },
    }
}

/// The time-derived names shared by both record kinds (`start`, `start_stamp`,
/// `start_epoch`, and the same for `answer` and `end`).
fn time_field(name: &str, start: Millis, answer: Option<Millis>, end: Option<Millis>) -> TimeHit {
    let (base, render): (&str, fn(Millis) -> String) = if let Some(b) = name.strip_suffix("_stamp")
    {
        (b, time::local_datetime)
    } else if let Some(b) = name.strip_suffix("_epoch") {
        (b, |ms| ms.div_euclid(1_000).to_string())
    } else {
        (name, time::iso_utc)
    };
    let at = match base {
        "start" => Some(start),
        "answer" => answer,
        "end" => end,
        _ => return TimeHit::NotTime,
    };
    TimeHit::Time(at.map(render))
}

/// Result of [`time_field`]: the name is a time name (with its value if set) or not.
enum TimeHit {
    Time(Option<String>),
    NotTime,
}

fn opt<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(T::to_string)
}

impl Lookup for LegRecord {
    fn get(&self, name: &str) -> Option<String> {
        if let TimeHit::Time(v) = time_field(name, self.start, self.answer, self.end) {
            return v;
        }
        let s = |v: &String| Some(v.clone());
        match name {
            "uuid" => s(&self.uuid),
            "node_id" => s(&self.node_id),
            "status" => Some(self.status.as_str().to_owned()),
            "direction" => s(&self.direction),
            "account" => s(&self.account),
            "caller_id_number" => s(&self.caller_id_number),
            "caller_id_name" => s(&self.caller_id_name),
            "callee_id_number" => s(&self.callee_id_number),
            "destination_number" => s(&self.destination_number),
            "originator" => self.originator.clone(),
            "bridge_uuid" => self.bridge_uuid.clone(),
            "call_source" => s(&self.call_source),
            "source_name" => s(&self.source_name),
            "source_number" => s(&self.source_number),
            "dial_number" => s(&self.dial_number),
            "line_group" => s(&self.line_group),
            "context" => s(&self.context),
            "channel_name" => s(&self.channel_name),
            "sip_call_id" => self.sip_call_id.clone(),
            "duration" => Some(self.duration.to_string()),
            "billsec" => Some(self.billsec.to_string()),
            "duration_ms" => Some(self.duration_ms.to_string()),
            "billsec_ms" => Some(self.billsec_ms.to_string()),
            "hangup_cause" => s(&self.hangup_cause),
            "q850" | "hangup_cause_q850" => opt(&self.q850),
            "sip_code" | "sip_term_status" => opt(&self.sip_code),
            "hangup_side" => s(&self.hangup_side),
            "codec" | "rtp_last_audio_codec_string" => self.codec.clone(),
            "rtp_in_packets" | "rtp_audio_in_packet_count" => Some(self.rtp.in_packets.to_string()),
            "rtp_in_lost" => Some(self.rtp.in_lost.to_string()),
            "rtp_in_jitter_ms" => Some(self.rtp.in_jitter_ms.to_string()),
            "rtp_out_packets" | "rtp_audio_out_packet_count" => {
                Some(self.rtp.out_packets.to_string())
            }
            "rtp_out_lost" => Some(self.rtp.out_lost.to_string()),
            "rtp_out_jitter_ms" => Some(self.rtp.out_jitter_ms.to_string()),
            "linkedid" => s(&self.linkedid),
            "accountcode" => s(&self.accountcode),
            "amaflags" => s(&self.amaflags),
            "userfield" => s(&self.userfield),
            _ => self.variables.get(name).cloned(),
        }
    }
}

impl Lookup for BridgeRecord {
    fn get(&self, name: &str) -> Option<String> {
        if let TimeHit::Time(v) = time_field(name, self.start, self.answer, self.end) {
            return v;
        }
        let s = |v: &String| Some(v.clone());
        match name {
            "node_id" => s(&self.node_id),
            "clid" => s(&self.clid),
            "src" => s(&self.src),
            "dst" => s(&self.dst),
            "dcontext" => s(&self.dcontext),
            "channel" => s(&self.channel),
            "dstchannel" => s(&self.dstchannel),
            "lastapp" => s(&self.lastapp),
            "lastdata" => s(&self.lastdata),
            "duration" => Some(self.duration.to_string()),
            "billsec" => Some(self.billsec.to_string()),
            "duration_ms" => Some(self.duration_ms.to_string()),
            "billsec_ms" => Some(self.billsec_ms.to_string()),
            "disposition" => Some(self.disposition.as_str().to_owned()),
            "amaflags" => s(&self.amaflags),
            "accountcode" => s(&self.accountcode),
            "peeraccount" => s(&self.peeraccount),
            "uniqueid" => s(&self.uniqueid),
            "peer_uniqueid" => s(&self.peer_uniqueid),
            "linkedid" => s(&self.linkedid),
            "sequence" => Some(self.sequence.to_string()),
            "userfield" => s(&self.userfield),
            _ => self.variables.get(name).cloned(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Record builders (shared with the CSV tests) and the field evaluation tests.

    use std::collections::BTreeMap;

    use super::*;
    use crate::cdr::model::{Disposition, LegStatus, RtpSummary};
    use crate::config::parse_field;

    /// A final, answered inbound leg: start `start`, answered 2.5 s later, 65.25 s long.
    pub(crate) fn leg_record(uuid: &str, start: Millis) -> LegRecord {
        LegRecord {
            uuid: uuid.to_owned(),
            node_id: "1.2.3".to_owned(),
            status: LegStatus::Hangup,
            direction: "inbound".to_owned(),
            account: "1000".to_owned(),
            caller_id_number: "1000".to_owned(),
            caller_id_name: "Alice, \"A\"".to_owned(),
            callee_id_number: "1001".to_owned(),
            destination_number: "1001".to_owned(),
            originator: None,
            bridge_uuid: Some("b-uuid".to_owned()),
            call_source: "dialplan".to_owned(),
            source_name: "1000".to_owned(),
            source_number: String::new(),
            dial_number: "1001".to_owned(),
            line_group: String::new(),
            context: "internal".to_owned(),
            channel_name: "SIP/1000-0001".to_owned(),
            sip_call_id: Some("call-1@host".to_owned()),
            start,
            answer: Some(start + 2_500),
            end: Some(start + 65_250),
            duration: 65,
            billsec: 62,
            duration_ms: 65_250,
            billsec_ms: 62_750,
            hangup_cause: "NORMAL_CLEARING".to_owned(),
            q850: Some(16),
            sip_code: None,
            hangup_side: "remote".to_owned(),
            codec: Some("PCMU".to_owned()),
            rtp: RtpSummary {
                in_packets: 3_100,
                in_lost: 2,
                in_jitter_ms: 1.5,
                out_packets: 3_120,
                out_lost: 0,
                out_jitter_ms: 0.0,
            },
            linkedid: "a-linked".to_owned(),
            accountcode: "sales".to_owned(),
            amaflags: "DOCUMENTATION".to_owned(),
            userfield: "note".to_owned(),
            variables: BTreeMap::from([
                ("queue_name".to_owned(), "support".to_owned()),
                ("billsec".to_owned(), "999".to_owned()),
                ("score".to_owned(), " 4.5 ".to_owned()),
                ("sip_h_X-Id".to_owned(), "xyz".to_owned()),
            ]),
        }
    }

    /// A final answered bridge record between `SIP/1000-0001` and `SIP/1001-0002`.
    pub(crate) fn bridge_record(uniqueid: &str, sequence: u64, start: Millis) -> BridgeRecord {
        BridgeRecord {
            node_id: "1.2.3".to_owned(),
            clid: "\"Alice\" <1000>".to_owned(),
            src: "1000".to_owned(),
            dst: "1001".to_owned(),
            dcontext: "internal".to_owned(),
            channel: "SIP/1000-0001".to_owned(),
            dstchannel: "SIP/1001-0002".to_owned(),
            lastapp: "Dial".to_owned(),
            lastdata: "SIP/1001,30".to_owned(),
            start,
            answer: Some(start + 3_000),
            end: Some(start + 10_999),
            duration: 10,
            billsec: 7,
            duration_ms: 10_999,
            billsec_ms: 7_999,
            disposition: Disposition::Answered,
            amaflags: "DOCUMENTATION".to_owned(),
            accountcode: "sales".to_owned(),
            peeraccount: "support".to_owned(),
            uniqueid: uniqueid.to_owned(),
            peer_uniqueid: "b-uuid".to_owned(),
            linkedid: uniqueid.to_owned(),
            sequence,
            userfield: "x;y".to_owned(),
            variables: BTreeMap::from([("campaign".to_owned(), "spring".to_owned())]),
        }
    }

    fn specs(list: &[&str]) -> Vec<FieldSpec> {
        list.iter()
            .map(|s| parse_field(s).unwrap_or_else(|e| panic!("{s}: {e}")))
            .collect()
    }

    const T: Millis = 1_795_391_101_123;

    #[test]
    fn leg_fields_resolve_record_first_then_variables() {
        let rec = leg_record("a-uuid", T);
        let got = values(
            &specs(&[
                "number:billsec",
                "number:duration",
                "rtp_last_audio_codec_string",
                "queue_name",
                "x_id:sip_h_X-Id",
                "both:${queue_name}/${codec}!",
                "number:score",
                "number:bad:queue_name",
                "missing_var",
                "number:absent:missing_var",
                "number:sip:sip_code",
                "number:q:hangup_cause_q850",
                "ans:answer",
                "ans_epoch:answer_epoch",
                "number:lost:rtp_in_lost",
            ]),
            &rec,
        );
        let want = [
            ("billsec", FieldValue::Number(62.0)),
            ("duration", FieldValue::Number(65.0)),
            (
                "rtp_last_audio_codec_string",
                FieldValue::Text("PCMU".into()),
            ),
            ("queue_name", FieldValue::Text("support".into())),
            ("x_id", FieldValue::Text("xyz".into())),
            ("both", FieldValue::Text("support/PCMU!".into())),
            ("score", FieldValue::Number(4.5)),
            ("bad", FieldValue::Null),
            ("missing_var", FieldValue::Text(String::new())),
            ("absent", FieldValue::Null),
            ("sip", FieldValue::Null),
            ("q", FieldValue::Number(16.0)),
            ("ans", FieldValue::Text("2026-11-22T23:45:03.623Z".into())),
            ("ans_epoch", FieldValue::Text("1795391103".into())),
            ("lost", FieldValue::Number(2.0)),
        ];
        let want: Vec<(String, FieldValue)> =
            want.into_iter().map(|(c, v)| (c.to_owned(), v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unset_own_fields_do_not_fall_through_to_variables() {
        let mut rec = leg_record("a-uuid", T);
        rec.answer = None;
        rec.codec = None;
        rec.variables.insert("codec".into(), "G722".into());
        rec.variables.insert("answer".into(), "later".into());
        assert_eq!(rec.get("codec"), None);
        assert_eq!(rec.get("answer"), None);
        assert_eq!(rec.get("answer_stamp"), None);
        assert_eq!(rec.get("start_stamp"), Some(time::local_datetime(T)));
        assert_eq!(rec.get("status"), Some("hangup".into()));
        assert_eq!(rec.get("no_such"), None);
    }

    #[test]
    fn bridge_fields_resolve() {
        let rec = bridge_record("a-uuid", 7, T);
        let got = values(
            &specs(&[
                "number:billsec",
                "disp:disposition",
                "route:${src}->${dst}",
                "campaign",
                "number:seq:sequence",
                "end_at:end_stamp",
                "codec_here:codec",
            ]),
            &rec,
        );
        let want = [
            ("billsec", FieldValue::Number(7.0)),
            ("disp", FieldValue::Text("ANSWERED".into())),
            ("route", FieldValue::Text("1000->1001".into())),
            ("campaign", FieldValue::Text("spring".into())),
            ("seq", FieldValue::Number(7.0)),
            ("end_at", FieldValue::Text(time::local_datetime(T + 10_999))),
            ("codec_here", FieldValue::Text(String::new())),
        ];
        let want: Vec<(String, FieldValue)> =
            want.into_iter().map(|(c, v)| (c.to_owned(), v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn numbers_refuse_non_finite_values() {
        let mut rec = leg_record("a-uuid", T);
        for (text, want) in [
            ("NaN", FieldValue::Null),
            ("inf", FieldValue::Null),
            ("1e3", FieldValue::Number(1000.0)),
            ("-2", FieldValue::Number(-2.0)),
            ("", FieldValue::Null),
        ] {
            rec.variables.insert("v".into(), text.into());
            assert_eq!(values(&specs(&["number:v"]), &rec)[0].1, want, "{text:?}");
        }
    }
}
