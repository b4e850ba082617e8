//! Processing of one REGISTER, in the order of RFC 3261 §10.3 (steps 1–8).

use std::time::{Duration, SystemTime};

use crate::sip::message::{
    new_tag, ContactValue, HeaderName, Host, Method, NameAddr, Request, Response, Uri,
};
use crate::sip::transport::Source;

use super::authn::{reject, AuthHeader};
use super::date::http_date;
use super::{Binding, Registrar, RegistrarSettings, MAX_BINDINGS_PER_AOR};

/// Option tags we support in `Require` (RFC 3261 §10.3 step 2): Path (RFC 3327).
const SUPPORTED_EXTENSIONS: [&str; 1] = ["path"];

/// What the REGISTER asks for, parsed and checked (§10.3 step 6 and the expiry rules of step 7).
#[derive(Debug)]
struct UpdateRequest {
    call_id: String,
    cseq: u32,
    /// `Contact: *` with `Expires: 0`: remove every binding.
    star: bool,
    /// Contacts with their granted expiry in seconds (0 = remove), duplicates merged.
    contacts: Vec<(NameAddr, u32)>,
    user_agent: Option<String>,
    path: Vec<String>,
}

/// Why step 7 aborted the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanError {
    /// Same Call-ID with a CSeq not above the stored one (§10.3 step 7: "the update MUST be
    /// aborted and the request fails").
    OutOfOrder,
    /// More than [`MAX_BINDINGS_PER_AOR`] bindings would result.
    TooManyBindings,
}

impl PlanError {
    fn respond(self, req: &Request) -> Response {
        match self {
            PlanError::OutOfOrder => reject(req, 500, "Server Internal Error (out-of-order CSeq)"),
            PlanError::TooManyBindings => reject(req, 403, "Forbidden (too many contacts)"),
        }
    }
}

/// The outcome of step 7: the new bindings and the database changes that produce them.
#[derive(Debug, Default)]
struct Plan {
    bindings: Vec<Binding>,
    removed: Vec<String>,
    upserts: Vec<Binding>,
}

impl Registrar {
    /// Handles a REGISTER (RFC 3261 §10.3) and returns the final response. Bindings changed
    /// by a 200 are already stored in SQLite when this returns.
    pub async fn handle(&self, req: &Request, source: &Source, now: SystemTime) -> Response {
        match self.register(req, source, now).await {
            Ok(resp) | Err(resp) => resp,
        }
    }

    async fn register(
        &self,
        req: &Request,
        source: &Source,
        now: SystemTime,
    ) -> Result<Response, Response> {
        if !matches!(req.method, Method::Register) {
            let mut resp = reject(req, 405, "Method Not Allowed");
            resp.headers.push(HeaderName::Allow, "REGISTER");
            return Err(resp);
        }
        self.check_request_uri(req)?; // step 1
        check_require(req)?; // step 2
        let user = self
            .authenticate_at(req, AuthHeader::Authorization, source, now)
            .await?; // step 3
        let aor = self.aor_of(req, &user)?; // steps 4 and 5
        let update = parse_update(req, &self.settings)?; // step 6 and expiry checks
        let bindings = {
            // Held until memory is updated: the next update of this AOR plans on our result.
            let _aor = self.aor_locks.lock(&aor).await;
            // The extension may have been deleted (web admin) while we waited for the lock;
            // its bindings were dropped under this lock, so do not re-install one.
            if !self.has_user(&user) {
                return Err(reject(req, 404, "Not Found"));
            }
            let plan = plan_update(self.snapshot(&aor), &aor, &update, source, now)
                .map_err(|e| e.respond(req))?; // step 7
            if !plan.removed.is_empty() || !plan.upserts.is_empty() {
                let upserts: Vec<_> = plan.upserts.iter().map(Binding::to_row).collect();
                // Committed (group commit) before memory changes and before the 200.
                if let Err(error) = self.writer.apply(&aor, plan.removed, upserts).await {
                    tracing::error!(%error, %aor, "cannot store registration");
                    return Err(reject(req, 500, "Database Error"));
                }
            }
            self.install(&aor, plan.bindings.clone());
            plan.bindings
        };
        // Per-request success at DEBUG: thousands per second at INFO would flood the log.
        tracing::debug!(%aor, remote = %source.remote, bindings = bindings.len(), "registered");
        Ok(ok_response(req, &bindings, &update.path, now)) // step 8
    }

    /// §10.3 step 1: the Request-URI must name our domain. An IP-address host is accepted:
    /// the request reached this host, so the address is ours.
    fn check_request_uri(&self, req: &Request) -> Result<(), Response> {
        let Uri::Sip(uri) = &req.uri else {
            // RFC 3261 §8.2.2.1
            return Err(reject(req, 416, "Unsupported URI Scheme"));
        };
        match &uri.host {
            Host::Name(name) if !self.serves_host(name) => {
                Err(reject(req, 403, "Forbidden (domain not served)"))
            }
            _ => Ok(()),
        }
    }

    /// §10.3 steps 4–5: the AOR from To must be in our domain (else 404) and belong to the
    /// authenticated user (else 403). Returns the canonical AOR.
    fn aor_of(&self, req: &Request, user: &str) -> Result<String, Response> {
        let to = req
            .headers
            .to()
            .map_err(|_| reject(req, 400, "Invalid To"))?;
        let Uri::Sip(uri) = &to.uri else {
            return Err(reject(req, 404, "Not Found"));
        };
        if let Host::Name(name) = &uri.host {
            if !self.serves_host(name) {
                return Err(reject(req, 404, "Not Found (domain not served)"));
            }
        }
        match uri.user.as_deref() {
            Some(to_user) if to_user == user => Ok(self.aor_for(user)),
            Some(_) => Err(reject(req, 403, "Forbidden (not your address)")),
            None => Err(reject(req, 404, "Not Found")),
        }
    }
}

/// §10.3 step 2: refuse option tags we do not support with 420 listing them.
fn check_require(req: &Request) -> Result<(), Response> {
    let unsupported: Vec<&str> = req
        .headers
        .values(&HeaderName::Require)
        .filter(|tag| {
            !SUPPORTED_EXTENSIONS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(tag))
        })
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    let mut resp = reject(req, 420, "Bad Extension");
    resp.headers
        .push(HeaderName::Unsupported, unsupported.join(", "));
    Err(resp)
}

/// §10.3 step 6 and the expiry rules of step 7.
fn parse_update(req: &Request, settings: &RegistrarSettings) -> Result<UpdateRequest, Response> {
    let call_id = req
        .headers
        .call_id()
        .map_err(|_| reject(req, 400, "Invalid Call-ID"))?
        .to_owned();
    let cseq = req
        .headers
        .cseq()
        .map_err(|_| reject(req, 400, "Invalid CSeq"))?
        .seq;
    let header_expires = req
        .headers
        .expires()
        .map_err(|_| reject(req, 400, "Invalid Expires"))?;
    let values = req
        .headers
        .contacts()
        .map_err(|_| reject(req, 400, "Invalid Contact"))?;
    let mut update = UpdateRequest {
        call_id,
        cseq,
        star: false,
        contacts: Vec::new(),
        user_agent: req.headers.get(&HeaderName::UserAgent).map(str::to_owned),
        path: req
            .headers
            .values(&HeaderName::parse("Path"))
            .map(str::to_owned)
            .collect(),
    };
    for value in values {
        let addr = match value {
            ContactValue::Star => {
                // RFC 3261 §10.3 step 6: `*` only alone and with Expires: 0.
                if header_expires != Some(0) {
                    return Err(reject(req, 400, "Invalid Contact * (needs Expires: 0)"));
                }
                update.star = true;
                continue;
            }
            ContactValue::Addr(addr) => addr,
        };
        // RFC 3261 §10.2.1.1: the Contact parameter wins over the header, then our default.
        let requested = addr
            .expires()
            .or(header_expires)
            .unwrap_or(settings.default_expires);
        if requested > 0 && requested < settings.min_expires {
            // RFC 3261 §10.3 step 7, §20.23
            let mut resp = reject(req, 423, "Interval Too Brief");
            resp.headers
                .push(HeaderName::MinExpires, settings.min_expires.to_string());
            return Err(resp);
        }
        let granted = requested.min(settings.max_expires);
        let key = addr.uri.to_string();
        update.contacts.retain(|(a, _)| a.uri.to_string() != key);
        update.contacts.push((addr, granted));
    }
    Ok(update)
}

/// §10.3 step 7: applies the update to the current bindings of `aor`, all or nothing.
fn plan_update(
    current: Vec<Binding>,
    aor: &str,
    update: &UpdateRequest,
    source: &Source,
    now: SystemTime,
) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    for binding in current {
        if binding.expires_at > now {
            plan.bindings.push(binding);
        } else {
            plan.removed.push(binding.key());
        }
    }
    let out_of_order = |b: &Binding| b.call_id == update.call_id && update.cseq <= b.cseq;
    if update.star {
        if plan.bindings.iter().any(out_of_order) {
            return Err(PlanError::OutOfOrder);
        }
        plan.removed
            .extend(plan.bindings.drain(..).map(|b| b.key()));
        return Ok(plan);
    }
    for (addr, expires) in &update.contacts {
        let key = addr.uri.to_string();
        let instance = contact_instance(addr);
        let reg_id = addr
            .params
            .get("reg-id")
            .flatten()
            .and_then(|v| v.parse().ok());
        if let Some(pos) = plan
            .bindings
            .iter()
            .position(|b| b.same_binding(&key, instance.as_deref(), reg_id))
        {
            if plan.bindings.get(pos).is_some_and(out_of_order) {
                return Err(PlanError::OutOfOrder);
            }
            let old = plan.bindings.remove(pos);
            if old.key() != key || *expires == 0 {
                plan.removed.push(old.key());
            }
        }
        if *expires == 0 {
            continue;
        }
        let binding = Binding {
            aor: aor.to_owned(),
            contact: addr.uri.clone(),
            expires_at: now + Duration::from_secs(u64::from(*expires)),
            q: addr
                .params
                .get("q")
                .flatten()
                .and_then(|q| q.parse().ok())
                .filter(|q| (0.0..=1.0).contains(q)),
            call_id: update.call_id.clone(),
            cseq: update.cseq,
            transport: source.transport.clone(),
            source: source.remote,
            local: source.local,
            flow: source.flow,
            instance,
            reg_id,
            user_agent: update.user_agent.clone(),
            path: update.path.clone(),
        };
        plan.upserts.push(binding.clone());
        plan.bindings.push(binding);
    }
    if plan.bindings.len() > MAX_BINDINGS_PER_AOR {
        return Err(PlanError::TooManyBindings);
    }
    Ok(plan)
}

/// The `+sip.instance` parameter without its quotes (RFC 5626 §4.1).
fn contact_instance(addr: &NameAddr) -> Option<String> {
    let raw = addr.params.get("+sip.instance").flatten()?;
    Some(raw.trim_matches('"').to_owned())
}

/// §10.3 step 8: 200 listing every current binding with its remaining time, plus Date, and
/// the Path the request carried (RFC 3327 §5.3).
fn ok_response(req: &Request, bindings: &[Binding], path: &[String], now: SystemTime) -> Response {
    let mut resp = Response::for_request(req, 200, None, Some(&new_tag()));
    for binding in bindings {
        let mut value = format!("<{}>;expires={}", binding.contact, binding.remaining(now));
        if let Some(q) = binding.q {
            value.push_str(";q=");
            value.push_str(&q.to_string());
        }
        resp.headers.push(HeaderName::Contact, value);
    }
    if !path.is_empty() {
        resp.headers
            .push(HeaderName::parse("Path"), path.join(", "));
    }
    resp.headers.push(HeaderName::Date, http_date(now));
    resp
}
