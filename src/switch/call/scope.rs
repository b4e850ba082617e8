//! The dialplan's view of a call: [`CallScope`] implements the expression evaluator's
//! [`Scope`] on the caller's channel (its variables, caller ID and CDR fields), the PBX-wide
//! global variables ([`Globals`]) and what the last `Dial` left behind.
//!
//! Channel variables live on the [`Channel`], so they travel in every event's snapshot (the
//! CDR's custom `fields` read them from there); `Set(CDR(userfield)=...)` and friends change
//! the channel's CDR fields, which the CDR engines take from the next event.
//!
//! Depends on `dialplan::expr` (the trait) and `switch::channel`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::dialplan::expr::{CallerIdField, ExprError, Scope};
use crate::dialplan::Dialplan;
use crate::switch::channel::{AmaFlags, Channel, ChannelState, PartyId};
use crate::switch::events::DialStatus;

/// Global variables set at run time with `Set(GLOBAL(name)=value)`, shared by every call and
/// kept across dialplan reloads; the dialplan's `[globals]` section is the fallback.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    values: Arc<RwLock<HashMap<String, String>>>,
}

impl Globals {
    /// The value set at run time, if any.
    pub fn get(&self, name: &str) -> Option<String> {
        let map = self.values.read().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }

    /// Sets (or, with an empty value, removes) a run-time global.
    pub fn set(&self, name: &str, value: &str) {
        let mut map = self.values.write().unwrap_or_else(|e| e.into_inner());
        if value.is_empty() {
            map.remove(name);
        } else {
            map.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// What the last `Dial` of the call left for the dialplan (`${DIALSTATUS}`, `${HANGUPCAUSE}`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DialOutcome {
    /// `DIALSTATUS`.
    pub status: Option<DialStatus>,
    /// Q.850 cause of the failed dial (Asterisk's `HANGUPCAUSE` after `Dial`).
    pub cause: Option<u16>,
}

/// A [`Scope`] over one call's caller channel; built for each interpreter run.
pub(super) struct CallScope<'a> {
    /// The channel running the dialplan.
    pub channel: &'a mut Channel,
    /// Run-time globals.
    pub globals: &'a Globals,
    /// The dialplan version of the call (its `[globals]`).
    pub dialplan: &'a Dialplan,
    /// The last `Dial`.
    pub dial: DialOutcome,
    /// The bridged peer's channel name (CDR `dstchannel`).
    pub peer_name: Option<&'a str>,
}

/// `YYYY-MM-DD HH:MM:SS` in local time, as Asterisk's CDR() renders times.
fn cdr_time(t: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = t.into();
    local.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn secs(d: Duration) -> String {
    d.as_secs().to_string()
}

impl Scope for CallScope<'_> {
    fn var(&self, name: &str) -> Option<String> {
        if let Some(v) = self.channel.var(name) {
            return Some(v.to_owned());
        }
        // Read-only variables Asterisk provides on every channel.
        match name {
            "CHANNEL" => return Some(self.channel.name.clone()),
            "UNIQUEID" => return Some(self.channel.id.to_string()),
            "LINKEDID" => return Some(self.channel.linkedid.to_string()),
            "DIALSTATUS" => return self.dial.status.map(|s| s.as_str().to_owned()),
            "HANGUPCAUSE" => return self.hangupcause().map(|c| c.to_string()),
            "EPOCH" => {
                let now = self.now().duration_since(SystemTime::UNIX_EPOCH).ok()?;
                return Some(now.as_secs().to_string());
            }
            _ => {}
        }
        self.global(name)
    }

    fn set_var(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.channel.unset_var(name);
        } else {
            self.channel.set_var(name, value);
        }
    }

    fn global(&self, name: &str) -> Option<String> {
        self.globals
            .get(name)
            .or_else(|| self.dialplan.global(name).map(str::to_owned))
    }

    fn set_global(&mut self, name: &str, value: &str) {
        self.globals.set(name, value);
    }

    fn caller_id(&self, field: CallerIdField) -> String {
        match field {
            CallerIdField::Num | CallerIdField::Ani => self.channel.caller.number.clone(),
            CallerIdField::Name => self.channel.caller.name.clone().unwrap_or_default(),
            CallerIdField::Dnid => self.channel.attribution.dial_number.clone(),
            CallerIdField::Rdnis => self.channel.var("RDNIS").unwrap_or_default().to_owned(),
        }
    }

    fn set_caller_id(&mut self, field: CallerIdField, value: &str) -> Result<(), ExprError> {
        let mut party = self.channel.caller.clone();
        match field {
            CallerIdField::Num => party.number = value.to_owned(),
            CallerIdField::Name => {
                party.name = Some(value.to_owned()).filter(|v| !v.is_empty());
            }
            CallerIdField::Rdnis => {
                self.channel.set_var("RDNIS", value);
                return Ok(());
            }
            CallerIdField::Ani | CallerIdField::Dnid => {
                return Err(ExprError::CallerIdReadOnly { field });
            }
        }
        self.channel.set_caller(PartyId {
            number: party.number,
            name: party.name,
        });
        Ok(())
    }

    fn cdr(&self, field: &str) -> Option<String> {
        let c = &*self.channel;
        let now = tokio::time::Instant::now();
        let value = match field {
            "clid" => match &c.caller.name {
                Some(name) if !name.is_empty() => format!("\"{name}\" <{}>", c.caller.number),
                _ => c.caller.number.clone(),
            },
            "src" => c.caller.number.clone(),
            "dst" => c.exten.clone(),
            "dcontext" => c.context.clone(),
            "channel" => c.name.clone(),
            "dstchannel" => self.peer_name.unwrap_or_default().to_owned(),
            "lastapp" => c.lastapp.clone(),
            "lastdata" => c.lastdata.clone(),
            "start" => cdr_time(c.created),
            "answer" => c.answered.map(cdr_time).unwrap_or_default(),
            "end" => c.ended.map(cdr_time).unwrap_or_default(),
            "duration" => secs(c.duration(now)),
            "billsec" => secs(c.billsec(now)),
            "disposition" => match (c.answered, self.dial.status) {
                (Some(_), _) => "ANSWERED",
                (None, Some(DialStatus::Busy)) => "BUSY",
                (None, Some(DialStatus::Congestion | DialStatus::ChanUnavail)) => "FAILED",
                _ => "NO ANSWER",
            }
            .to_owned(),
            "amaflags" => c.amaflags.as_str().to_owned(),
            "accountcode" => c.accountcode.clone(),
            "uniqueid" => c.id.to_string(),
            "linkedid" => c.linkedid.to_string(),
            "userfield" => c.userfield.clone(),
            _ => return c.var(field).map(str::to_owned),
        };
        Some(value)
    }

    fn set_cdr(&mut self, field: &str, value: &str) -> Result<(), ExprError> {
        match field {
            "userfield" => self.channel.set_userfield(value),
            "accountcode" => self.channel.set_accountcode(value),
            "amaflags" => {
                if let Some(flags) = AmaFlags::parse(value) {
                    self.channel.set_amaflags(flags);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dialstatus(&self) -> Option<String> {
        self.dial.status.map(|s| s.as_str().to_owned())
    }

    fn hangupcause(&self) -> Option<u16> {
        if self.channel.state == ChannelState::Hangup {
            if let Some(cause) = self.channel.hangup {
                return Some(cause.q850.code());
            }
        }
        self.dial.cause
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
