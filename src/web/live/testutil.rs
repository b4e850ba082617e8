//! Test helpers of the live-call, registrations, status and metrics tests: a web state over
//! a temporary `switchboard.db` with an event bus and a call registry, its live task
//! started, an admin and a viewer API token, and a one-request client for the router.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use tower::ServiceExt as _;

use crate::cdr::testkit::Sim;
use crate::config::WebSettings;
use crate::db::Db;
use crate::runtime::Lifecycle;
use crate::switch::bus::EventBus;
use crate::switch::call::CallRegistry;
use crate::web::password::{new_api_token, token_digest};
use crate::web::{router, PasswordPolicy, Role, WebOptions, WebServices, WebState};

/// See the module docs.
pub(crate) struct TestWeb {
    /// Holds `switchboard.db` (and whatever the test puts next to it).
    pub(crate) dir: tempfile::TempDir,
    pub(crate) state: WebState,
    pub(crate) router: Router,
    pub(crate) bus: EventBus,
    pub(crate) calls: CallRegistry,
    pub(crate) lifecycle: Lifecycle,
    /// Bearer token of an admin.
    pub(crate) admin: String,
    /// Bearer token of a viewer.
    pub(crate) viewer: String,
}

/// The options a test may change before the state is built.
pub(crate) struct Setup {
    pub(crate) settings: WebSettings,
    /// Give the state the event bus (live calls).
    pub(crate) with_bus: bool,
    /// Further services, given the data directory.
    pub(crate) services: Box<dyn FnOnce(&Path) -> WebServices + Send>,
    pub(crate) cdr: Option<crate::cdr::pipeline::CdrHandle>,
    /// The bus to use (e.g. one a CDR pipeline also reads); a new one when `None`.
    pub(crate) bus: Option<EventBus>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            settings: WebSettings::default(),
            with_bus: true,
            services: Box::new(|_| WebServices::default()),
            cdr: None,
            bus: None,
        }
    }
}

/// A web state with the bus, its live task started, and two tokens.
pub(crate) async fn web() -> TestWeb {
    web_with(Setup::default()).await
}

/// [`web`] with `setup`.
pub(crate) async fn web_with(setup: Setup) -> TestWeb {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let calls = CallRegistry::new();
    let bus = setup.bus.unwrap_or_default();
    let mut options = WebOptions::new(db, setup.settings, calls.clone(), setup.cdr);
    options.passwords = PasswordPolicy::fast_for_tests();
    options.services = (setup.services)(dir.path());
    if setup.with_bus {
        options.services.bus = Some(bus.clone());
    }
    let state = WebState::new(options);
    let lifecycle = Lifecycle::new();
    super::start(&state, &lifecycle);
    let mut tokens = Vec::new();
    for (name, role) in [("ops", Role::Admin), ("wallboard", Role::Viewer)] {
        let secret = new_api_token().expect("token");
        state
            .store()
            .create_token(name, &token_digest(&secret), role, "test", 0)
            .await
            .expect("create token");
        tokens.push(secret);
    }
    let viewer = tokens.pop().unwrap_or_default();
    let admin = tokens.pop().unwrap_or_default();
    TestWeb {
        dir,
        router: router(state.clone()),
        state,
        bus,
        calls,
        lifecycle,
        admin,
        viewer,
    }
}

impl TestWeb {
    /// One request; `bearer` authenticates it. Returns status, headers and body text.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req.body(Body::empty()).expect("request");
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// [`Self::call`] for a JSON answer.
    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self.call(method, path, bearer).await;
        let value = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("JSON {e}: {body}"))
        };
        (status, value)
    }

    /// Publishes the simulator's pending events on the bus, in order.
    pub(crate) async fn publish(&self, sim: &mut Sim) {
        for e in sim.take() {
            self.bus.publish_at(e.snapshot, e.kind, e.at).await;
        }
    }
}
