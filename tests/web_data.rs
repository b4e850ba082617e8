//! In-process tests of the data endpoints (issue 6): the dialplan editor over a temporary
//! dialplan directory with a real `LiveDialplan`/`Reloader`, and the CDR views, CSV export,
//! reports and charts over a temporary `cdr.db` filled with real records through
//! `cdr::store`. The axum `Router` is driven with `tower::ServiceExt::oneshot`.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use switchboard::cdr::model::Millis;
use switchboard::config::WebSettings;
use switchboard::db::Db;
use switchboard::dialplan::{Dialplan, LiveDialplan, Reloader};
use switchboard::switch::call::CallRegistry;
use switchboard::web::{self, PasswordPolicy, Role, WebOptions, WebServices, WebState};
use tower::ServiceExt as _;

/// CDR views, export, reports and charts.
#[path = "web_data/cdr.rs"]
mod cdr;
/// The dialplan editor.
#[path = "web_data/dialplan.rs"]
mod dialplan;
/// The CDR dataset.
#[path = "web_data/records.rs"]
mod records;

const ADMIN_PW: &str = "admin-password-1";
const VIEWER_PW: &str = "viewer-password-1";

/// 2026-11-22T00:00:00Z: the dataset's first leg.
const T0: Millis = 1_795_305_600_000;
const MINUTE: Millis = 60_000;

/// Legs in the dataset: one a minute for 10 hours, even ones inbound.
const LEGS: u32 = 600;

const EXTENSIONS: &str = "\
[internal]
exten => 100,1,Answer()
same => n,Hangup()
include => outbound
";
const OUTBOUND: &str = "\
[outbound]
exten => _0X.,1,Dial(SIP/gw1/${EXTEN})
";

struct App {
    _dir: tempfile::TempDir,
    state: WebState,
    router: Router,
    dialplan_dir: PathBuf,
    reloader: Reloader,
}

/// Which services the state has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum With {
    /// Dialplan and CDRs.
    Everything,
    /// No switch at all (503s).
    Nothing,
}

/// A fresh state: accounts `root` (admin) and `val` (viewer); a dialplan directory with
/// `extensions.conf` and `outbound.conf`; a `cdr.db` with the dataset ([`dataset`]).
async fn app(with: With) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let dialplan_dir = dir.path().join("dialplan");
    std::fs::create_dir(&dialplan_dir).expect("mkdir");
    std::fs::write(dialplan_dir.join("extensions.conf"), EXTENSIONS).expect("write");
    std::fs::write(dialplan_dir.join("outbound.conf"), OUTBOUND).expect("write");
    std::fs::write(dialplan_dir.join("README"), "not a dialplan file").expect("write");
    let loaded = Dialplan::load_dir(&dialplan_dir).expect("dialplan loads");
    let reloader = Reloader::new(LiveDialplan::new(Arc::new(loaded)), dialplan_dir.clone());
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    if with == With::Everything {
        let cdr_db = dir.path().join("cdr.db");
        records::fill(&cdr_db).await;
        options.services = WebServices {
            dialplan: Some(reloader.clone()),
            cdr_db: Some(cdr_db),
            ..WebServices::default()
        };
    }
    let state = WebState::new(options);
    for (name, pw, role) in [
        ("root", ADMIN_PW, Role::Admin),
        ("val", VIEWER_PW, Role::Viewer),
    ] {
        web::accounts::set_password(state.store(), state.passwords(), name, pw, Some(role), 0)
            .await
            .expect("seed account");
    }
    let router = web::router(state.clone());
    App {
        _dir: dir,
        state,
        router,
        dialplan_dir,
        reloader,
    }
}

/// How a request authenticates.
#[derive(Clone, Default)]
struct Auth {
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    body: Value,
    /// The raw body.
    text: String,
    /// How many data frames the body came in.
    chunks: usize,
}

impl App {
    async fn call(&self, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = &auth.cookie {
            req = req.header(header::COOKIE, format!("sb_session={c}"));
        }
        if let Some(c) = &auth.csrf {
            req = req.header("X-CSRF-Token", c);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let mut stream = res.into_body().into_data_stream();
        let mut bytes = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut stream), cx))
                .await
        {
            bytes.extend_from_slice(&chunk.expect("body chunk"));
            chunks += 1;
        }
        let text = String::from_utf8(bytes).expect("UTF-8 body");
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            chunks,
        }
    }

    async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.call(Method::GET, path, auth, None).await
    }

    /// Logs in and returns the session (cookie + CSRF token).
    async fn session(&self, name: &str, password: &str) -> Auth {
        let body = json!({ "name": name, "password": password });
        let r = self
            .call(Method::POST, "/api/v1/login", &Auth::default(), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cookie = r.headers[header::SET_COOKIE].to_str().expect("ascii");
        let value = cookie
            .strip_prefix("sb_session=")
            .and_then(|c| c.split(';').next())
            .expect("cookie value");
        Auth {
            cookie: Some(value.to_owned()),
            csrf: r.body["csrf_token"].as_str().map(str::to_owned),
        }
    }

    fn on_disk(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dialplan_dir.join(name)).ok()
    }

    /// The audit entries, newest first, as `(action, target, detail)`.
    async fn audit(&self) -> Vec<(String, String, Value)> {
        self.state
            .store()
            .audit_entries(20, None)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| (e.action, e.target, e.detail))
            .collect()
    }
}

/// Checks that every element is closed in order; returns the element names opened.
fn balanced(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("unterminated tag");
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        seen.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    seen
}

#[tokio::test]
async fn without_a_switch_the_data_endpoints_answer_503() {
    let app = app(With::Nothing).await;
    let admin = app.session("root", ADMIN_PW).await;
    for path in [
        "/api/v1/dialplan",
        "/api/v1/dialplan/files/outbound.conf",
        "/api/v1/cdr/legs",
        "/api/v1/cdr/bridges",
        "/api/v1/cdr/legs.csv",
        "/api/v1/cdr/calls/call-1",
        "/api/v1/reports",
        "/api/v1/reports/chart.svg",
        "/api/v1/charts/today.svg",
    ] {
        let r = app.get(path, &admin).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(r.body["error"], "unavailable", "{path}");
    }
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/outbound.conf",
            &admin,
            Some(json!({ "content": OUTBOUND })),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}
