//! A map-backed [`Scope`] for the unit tests of this module.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{cdr_field_writable, CallerIdField, ExprError, Scope};

/// Channel variables, globals, caller ID and CDR fields in maps; a fixed clock.
#[derive(Debug, Clone)]
pub(crate) struct MapScope {
    /// Channel variables.
    pub(crate) vars: HashMap<String, String>,
    /// Global variables.
    pub(crate) globals: HashMap<String, String>,
    /// Caller ID fields.
    pub(crate) caller: HashMap<CallerIdField, String>,
    /// CDR fields.
    pub(crate) cdr: HashMap<String, String>,
    /// Last Dial status.
    pub(crate) dialstatus: Option<String>,
    /// Q.850 hang-up cause.
    pub(crate) hangupcause: Option<u16>,
    /// The clock.
    pub(crate) now: SystemTime,
}

impl MapScope {
    /// An empty scope at 2023-11-14 22:13:20 UTC (epoch 1700000000).
    pub(crate) fn new() -> Self {
        Self {
            vars: HashMap::new(),
            globals: HashMap::new(),
            caller: HashMap::new(),
            cdr: HashMap::new(),
            dialstatus: None,
            hangupcause: None,
            now: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    /// Builder: one channel variable.
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl Scope for MapScope {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .or_else(|| self.globals.get(name))
            .cloned()
    }
    fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }
    fn global(&self, name: &str) -> Option<String> {
        self.globals.get(name).cloned()
    }
    fn set_global(&mut self, name: &str, value: &str) {
        self.globals.insert(name.to_owned(), value.to_owned());
    }
    fn caller_id(&self, field: CallerIdField) -> String {
        self.caller.get(&field).cloned().unwrap_or_default()
    }
    fn set_caller_id(&mut self, field: CallerIdField, value: &str) -> Result<(), ExprError> {
        if field == CallerIdField::Dnid {
            return Err(ExprError::CallerIdReadOnly { field });
        }
        self.caller.insert(field, value.to_owned());
        Ok(())
    }
    fn cdr(&self, field: &str) -> Option<String> {
        self.cdr.get(field).cloned()
    }
    fn set_cdr(&mut self, field: &str, value: &str) -> Result<(), ExprError> {
        if !cdr_field_writable(field) {
            return Err(ExprError::CdrReadOnly {
                field: field.to_owned(),
            });
        }
        self.cdr.insert(field.to_owned(), value.to_owned());
        Ok(())
    }
    fn dialstatus(&self) -> Option<String> {
        self.dialstatus.clone()
    }
    fn hangupcause(&self) -> Option<u16> {
        self.hangupcause
    }
    fn now(&self) -> SystemTime {
        self.now
    }
}
