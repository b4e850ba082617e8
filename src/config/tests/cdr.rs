//! `[cdr]`: defaults, every key read, the field syntax, and located errors.

use std::time::Duration;

use super::*;

fn cdr(c: &Config) -> &CdrSettings {
    &c.cdr
}

#[test]
fn cdr_defaults_when_absent_or_empty() {
    let c = load_ok(&[("a.toml", SIP)]);
    assert_eq!(cdr(&c), &CdrSettings::default());
    let c = load_ok(&[("a.toml", &format!("{SIP}[cdr]\n"))]);
    assert_eq!(cdr(&c), &CdrSettings::default());
}

#[test]
fn cdr_values_are_read() {
    let text = r#"
[cdr]
enabled = false
modes = ["leg"]
cel = false
legs = "a"
unanswered = false
congestion = true
realtime = true
details = true
fields = ["rtp_last_audio_codec_string", "number:billsec", "jsipid:sip_h_X-jssipid",
          "both:${a}-${b}", "number:score:call.score", "queue_name"]
node_id = "10.2.7"
max_backlog = 5000

[cdr.csv]
layouts = ["leg", "ipsc"]
keep_days = 0

[cdr.webhook]
url = "http://127.0.0.1:8080/cdr?k=1"
timeout_secs = 2
backoff_ms = 250
max_backoff_secs = 30
"#;
    let c = load_ok(&[("a.toml", SIP), ("b.toml", text)]);
    let s = cdr(&c);
    assert!(!s.enabled && s.leg && !s.bridge && !s.cel);
    assert_eq!(s.legs, LegsFilter::A);
    assert!(!s.unanswered && s.congestion && s.realtime && s.details);
    assert_eq!((s.node_id.as_str(), s.max_backlog), ("10.2.7", 5_000));
    let var = |v: &str| FieldPart::Var(v.to_owned());
    let field = |column: &str, kind, template| FieldSpec {
        column: column.to_owned(),
        kind,
        template,
    };
    assert_eq!(
        s.fields,
        [
            field(
                "rtp_last_audio_codec_string",
                FieldKind::Text,
                vec![var("rtp_last_audio_codec_string")]
            ),
            field("jsipid", FieldKind::Text, vec![var("sip_h_X-jssipid")]),
            field(
                "both",
                FieldKind::Text,
                vec![var("a"), FieldPart::Literal("-".into()), var("b")]
            ),
            field("score", FieldKind::Number, vec![var("call.score")]),
            field("queue_name", FieldKind::Text, vec![var("queue_name")]),
        ]
    );
    // `number:billsec` repeats a built-in column: dropped with a warning naming it.
    match c.warnings.as_slice() {
        [ConfigWarning::CdrFieldIsBuiltin {
            at: loc,
            value,
            column,
        }] => {
            assert_eq!(at(loc), ("b.toml".to_owned(), 11, 42));
            assert_eq!(
                (value.as_str(), column.as_str()),
                ("number:billsec", "billsec")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.csv,
        Some(CsvSettings {
            layouts: vec![CsvLayout::Leg, CsvLayout::Ipsc],
            dir: "cdr-csv".into(),
            keep_days: 0,
        })
    );
    let w = s.webhook.clone().unwrap_or_else(|| panic!("webhook"));
    assert_eq!(w.url, "http://127.0.0.1:8080/cdr?k=1");
    assert_eq!(
        (w.timeout, w.backoff, w.max_backoff),
        (
            Duration::from_secs(2),
            Duration::from_millis(250),
            Duration::from_secs(30)
        )
    );
    let e = w.endpoint().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (e.host.as_str(), e.port, e.path.as_str()),
        ("127.0.0.1", 8080, "/cdr?k=1")
    );
}

#[test]
fn csv_and_webhook_defaults() {
    let text = "[cdr]\n[cdr.csv]\nlayouts = [\"bridge\"]\n[cdr.webhook]\nurl = \"http://h/\"\n";
    let c = load_ok(&[("a.toml", &format!("{SIP}{text}"))]);
    assert_eq!(
        c.cdr.csv,
        Some(CsvSettings {
            layouts: vec![CsvLayout::Bridge],
            dir: "cdr-csv".into(),
            keep_days: 90,
        })
    );
    assert_eq!(
        c.cdr.webhook,
        Some(WebhookSettings {
            url: "http://h/".into(),
            timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        })
    );
    assert!(c.cdr.leg && c.cdr.bridge);
}

#[test]
fn bad_cdr_values_are_located() {
    // (text after [sip], expected error Display after "a.toml:")
    let cases: &[(&str, &str)] = &[
        ("[cdr]\nbogus = 1\n", "4:1: unknown field `bogus`"),
        ("[cdr]\nmodes = []\n", "4:9: cdr.modes must not be empty"),
        ("[cdr]\nmodes = [\"legs\"]\n", "4:10: unknown variant `legs`, expected `leg` or `bridge`"),
        (
            "[cdr]\nmodes = [\"leg\", \"leg\"]\n",
            "4:17: duplicate cdr.modes entry \"leg\" (first defined at a.toml:4:10)",
        ),
        ("[cdr]\nlegs = \"c\"\n", "4:8: unknown variant `c`, expected one of `a`, `b`, `ab`"),
        ("[cdr]\nenabled = \"yes\"\n", "4:11: invalid type: string \"yes\", expected a boolean"),
        (
            "[cdr]\nmodes = [\"bridge\"]\nrealtime = true\n",
            "5:12: cdr.realtime = true needs \"leg\" in cdr.modes",
        ),
        (
            "[cdr]\nfields = [\"Bad\"]\n",
            "4:11: cdr.fields: \"Bad\": column \"Bad\" is not a safe SQL identifier \
             ([a-z_][a-z0-9_]*, at most 63 characters); name the column explicitly as \
             column:variable",
        ),
        (
            "[cdr]\nfields = [\"x_id:sip h\"]\n",
            "4:11: cdr.fields: \"x_id:sip h\": variable name \"sip h\" may only contain \
             letters, digits, '_', '.' and '-'",
        ),
        (
            "[cdr]\nfields = [\"both:${a}${b\"]\n",
            "4:11: cdr.fields: \"both:${a}${b\": \"${\" without a closing \"}\"",
        ),
        (
            "[cdr]\nfields = [\"${a}${b}\"]\n",
            "4:11: cdr.fields: \"${a}${b}\": a template needs a column: write column:${a}${b}",
        ),
        (
            "[cdr]\nfields = [\"src:caller\"]\n",
            "4:11: cdr.fields: \"src:caller\": column \"src\" is a built-in CDR column; store \
             it under another name (column:variable)",
        ),
        (
            "[cdr]\nfields = [\"order:x\"]\n",
            "4:11: cdr.fields: \"order:x\": column \"order\" is an SQL keyword; choose another name",
        ),
        ("[cdr]\nfields = [\"number:\"]\n", "4:11: cdr.fields: \"number:\": empty column or variable name"),
        ("[cdr]\nfields = [\":x\"]\n", "4:11: cdr.fields: \":x\": empty column or variable name"),
        (
            "[cdr]\nfields = [\"q:queue\",\n  \"number:q:score\"]\n",
            "5:3: duplicate cdr.fields column q (first defined at a.toml:4:11)",
        ),
        ("[cdr]\nnode_id = \"\"\n", "4:11: cdr.node_id must not be empty"),
        (
            "[cdr]\nnode_id = \"1/2\"\n",
            "4:11: cdr.node_id \"1/2\" may only contain letters, digits, '_', '-' and '.' (at \
             most 64 characters)",
        ),
        ("[cdr]\nmax_backlog = 10\n", "4:15: cdr.max_backlog = 10 is out of range (1000..=10000000)"),
        ("[cdr.csv]\nlayouts = []\n", "4:11: cdr.csv.layouts must not be empty"),
        ("[cdr.csv]\nlayouts = [\"xml\"]\n", "4:12: unknown variant `xml`, expected one of `leg`, `ipsc`, `bridge`"),
        ("[cdr.csv]\ndir = \"x\"\n", "3:1: missing field `layouts`"),
        (
            "[cdr]\nmodes = [\"bridge\"]\n[cdr.csv]\nlayouts = [\"bridge\", \"ipsc\"]\n",
            "6:22: cdr.csv layout \"ipsc\" needs \"leg\" in cdr.modes",
        ),
        (
            "[cdr.csv]\nlayouts = [\"leg\", \"leg\"]\n",
            "4:19: duplicate cdr.csv.layouts entry \"leg\" (first defined at a.toml:4:12)",
        ),
        ("[cdr.csv]\nlayouts = [\"leg\"]\ndir = \" \"\n", "5:7: cdr.csv.dir must not be empty"),
        (
            "[cdr.csv]\nlayouts = [\"leg\"]\nkeep_days = 100000\n",
            "5:13: cdr.csv.keep_days = 100000 is out of range (0..=36500)",
        ),
        (
            "[cdr.webhook]\nurl = \"https://x.example/cdr\"\n",
            "4:7: cdr.webhook.url: \"https://x.example/cdr\" https is not supported, only \
             http:// URLs are (put a local TLS-terminating proxy in front of an https endpoint)",
        ),
        (
            "[cdr.webhook]\nurl = \"ftp://x/\"\n",
            "4:7: cdr.webhook.url: \"ftp://x/\" must be http://host[:port]/path",
        ),
        (
            "[cdr.webhook]\nurl = \"http://x:0/\"\n",
            "4:7: cdr.webhook.url: \"http://x:0/\" has an invalid port (1..=65535)",
        ),
        ("[cdr.webhook]\ntimeout_secs = 5\n", "3:1: missing field `url`"),
        (
            "[cdr.webhook]\nurl = \"http://x/\"\ntimeout_secs = 0\n",
            "5:16: cdr.webhook.timeout_secs = 0 is out of range (1..=300)",
        ),
        (
            "[cdr.webhook]\nurl = \"http://x/\"\nbackoff_ms = 90000\nmax_backoff_secs = 60\n",
            "5:14: cdr.webhook.backoff_ms (90000) must not exceed cdr.webhook.max_backoff_secs \
             (in ms) (60000)",
        ),
    ];
    for (extra, want) in cases {
        let dir = write_dir(&[("a.toml", &format!("{SIP}{extra}"))], true);
        let errs = Config::load(dir.path())
            .err()
            .unwrap_or_else(|| panic!("{extra:?} loaded"));
        let prefix = dir.path().join("sip-profiles");
        let got = messages(&errs, Some(&prefix));
        assert_eq!(got.len(), 1, "{extra:?}: {got:?}");
        assert!(
            got[0].starts_with(&format!("a.toml:{want}")),
            "{extra:?}:\n got  {}\n want a.toml:{want}",
            got[0]
        );
    }
}

#[test]
fn cdr_errors_are_all_collected_and_tables_may_not_repeat() {
    let text = "[cdr]\nmodes = []\nnode_id = \"a b\"\nfields = [\"Bad\", \"ok\", \"ok\"]\n\
                [cdr.webhook]\nurl = \"https://h/\"\n";
    let errs = load_err(&[("a.toml", SIP), ("b.toml", text)]);
    let lines: Vec<usize> = errs
        .errors
        .iter()
        .map(|e| {
            let s = e.to_string();
            let after = s.split("b.toml:").nth(1).unwrap_or_else(|| panic!("{s}"));
            after
                .split(':')
                .next()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("{s}"))
        })
        .collect();
    assert_eq!(lines, [2, 4, 4, 3, 6], "{errs}");

    let errs = load_err(&[("a.toml", &format!("{SIP}[cdr]\n")), ("b.toml", "[cdr]\n")]);
    assert!(
        matches!(errs.errors.as_slice(), [ConfigError::Duplicate { what, .. }] if what == "[cdr] table"),
        "{errs}"
    );
}

#[test]
fn field_syntax() {
    let text = |s: &str| FieldPart::Literal(s.to_owned());
    let var = |s: &str| FieldPart::Var(s.to_owned());
    let cases = [
        (
            "queue_name",
            "queue_name",
            FieldKind::Text,
            vec![var("queue_name")],
        ),
        ("number:talk", "talk", FieldKind::Number, vec![var("talk")]),
        (
            "col:sip_h_X-Id",
            "col",
            FieldKind::Text,
            vec![var("sip_h_X-Id")],
        ),
        ("number:c2:v.x", "c2", FieldKind::Number, vec![var("v.x")]),
        ("c:${a}${b}", "c", FieldKind::Text, vec![var("a"), var("b")]),
        (
            "c:<${a}:${b}>",
            "c",
            FieldKind::Text,
            vec![text("<"), var("a"), text(":"), var("b"), text(">")],
        ),
        ("number:_n:${a}", "_n", FieldKind::Number, vec![var("a")]),
    ];
    for (input, column, kind, template) in cases {
        assert_eq!(
            parse_field(input),
            Ok(FieldSpec {
                column: column.to_owned(),
                kind,
                template
            }),
            "{input}"
        );
    }
    let long = "c".repeat(64);
    for (input, err) in [
        ("", FieldError::Empty),
        ("c:", FieldError::Empty),
        ("c:${}", FieldError::Empty),
        ("9c:x", FieldError::BadColumn("9c".into())),
        (long.as_str(), FieldError::BadColumn(long.clone())),
        ("c:a b", FieldError::BadVariable("a b".into())),
        ("c:${a b}", FieldError::BadVariable("a b".into())),
        ("select", FieldError::KeywordColumn("select".into())),
    ] {
        assert_eq!(parse_field(input), Err(err), "{input:?}");
    }
}

#[test]
fn webhook_urls() {
    let ok = [
        ("http://h", ("h", 80, "/")),
        ("http://h:8080", ("h", 8080, "/")),
        (
            "HTTP://Example.com/a/b?c=d",
            ("Example.com", 80, "/a/b?c=d"),
        ),
        ("http://h?x=1", ("h", 80, "/?x=1")),
        ("http://[::1]:9000/cdr", ("::1", 9000, "/cdr")),
        ("http://10.0.0.1/", ("10.0.0.1", 80, "/")),
    ];
    for (url, (host, port, path)) in ok {
        let u = parse_http_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            (host, port, path),
            "{url}"
        );
    }
    let v6 = parse_http_url("http://[::1]/").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (v6.authority(), v6.host_header()),
        ("[::1]:80".into(), "[::1]".into())
    );
    let h = parse_http_url("http://h:81/").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (h.authority(), h.host_header()),
        ("h:81".into(), "h:81".into())
    );
    for (url, problem) in [
        ("https://h/", UrlProblem::Https),
        ("HTTPS://h/", UrlProblem::Https),
        ("h/", UrlProblem::NotHttp),
        ("http://", UrlProblem::BadHost),
        ("http:///x", UrlProblem::BadHost),
        ("http://-h/", UrlProblem::BadHost),
        ("http://[zz]/", UrlProblem::BadHost),
        ("http://h:/", UrlProblem::BadPort),
        ("http://h:+80/", UrlProblem::BadPort),
        ("http://h:70000/", UrlProblem::BadPort),
        ("http://u:p@h/", UrlProblem::Credentials),
        ("http://h/a b", UrlProblem::BadCharacter),
    ] {
        assert_eq!(parse_http_url(url), Err(problem), "{url}");
    }
}

/// The cases of the webhook client's former URL parser, now served by `parse_http_url`.
#[test]
fn webhook_url_edge_cases() {
    let ok = [
        ("http://example.com/cdr", ("example.com", 80, "/cdr")),
        ("HTTP://example.com", ("example.com", 80, "/")),
        (
            "http://10.0.0.5:8080/hooks/cdr?x=1",
            ("10.0.0.5", 8080, "/hooks/cdr?x=1"),
        ),
        // A fragment is never sent (RFC 3986 §3.5), a query alone gets the path `/`.
        ("http://h:81?x=1#frag", ("h", 81, "/?x=1")),
        ("http://h/p#frag", ("h", 80, "/p")),
        ("http://h#frag", ("h", 80, "/")),
        ("http://h/p?q=1#a/b?c", ("h", 80, "/p?q=1")),
        ("http://h?query", ("h", 80, "/?query")),
        ("http://[::1]:9000/a", ("::1", 9000, "/a")),
        ("http://[fe80::1]/", ("fe80::1", 80, "/")),
        ("http://h:65535/", ("h", 65535, "/")),
    ];
    for (url, (host, port, path)) in ok {
        let u = parse_http_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            (host, port, path),
            "{url}"
        );
    }
    for (url, problem) in [
        ("https://h/x", UrlProblem::Https),
        ("ftp://h/x", UrlProblem::NotHttp),
        ("h/x", UrlProblem::NotHttp),
        ("http://", UrlProblem::BadHost),
        ("http://#frag", UrlProblem::BadHost),
        ("http://:80/x", UrlProblem::BadHost),
        ("http://[::1/", UrlProblem::BadHost),
        ("http://h:0/", UrlProblem::BadPort),
        ("http://[::1]:0/", UrlProblem::BadPort),
        ("http://h:65536/", UrlProblem::BadPort),
        ("http://h:x/", UrlProblem::BadPort),
        // An empty port is refused here (the former client parser read it as 80).
        ("http://h:/p", UrlProblem::BadPort),
        ("http://u:p@h/", UrlProblem::Credentials),
        ("http://u@h:8080/", UrlProblem::Credentials),
        ("http://h/a b", UrlProblem::BadCharacter),
        ("http://h/\r\nX: y", UrlProblem::BadCharacter),
        ("http://h/#a b", UrlProblem::BadCharacter),
    ] {
        assert_eq!(parse_http_url(url), Err(problem), "{url:?}");
    }
    let host_header = |url: &str| parse_http_url(url).map(|u| u.host_header()).ok();
    assert_eq!(host_header("http://h/x").as_deref(), Some("h"));
    assert_eq!(host_header("http://h:8080/x").as_deref(), Some("h:8080"));
    assert_eq!(
        host_header("http://[::1]:8080/").as_deref(),
        Some("[::1]:8080")
    );
    let authority = |url: &str| parse_http_url(url).map(|u| u.authority()).ok();
    assert_eq!(authority("http://h/x#f").as_deref(), Some("h:80"));
    assert_eq!(
        authority("http://[::1]:8080/").as_deref(),
        Some("[::1]:8080")
    );
}
