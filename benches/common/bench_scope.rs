//! The dialplan benches' `Scope`: channel variables in a `HashMap` (values reused in place,
//! as a channel keeps them), every other hook a constant. Included by
//! `benches/dialplan_expr.rs` and `benches/dialplan_interp.rs` with `#[path]`.

use std::collections::HashMap;
use std::time::SystemTime;

use switchboard::dialplan::expr::{CallerIdField, ExprError, Scope};

/// A channel-like scope for the benches.
pub struct BenchScope {
    /// Channel variables.
    pub vars: HashMap<String, String>,
}

impl Scope for BenchScope {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn set_var(&mut self, name: &str, value: &str) {
        match self.vars.get_mut(name) {
            Some(v) => {
                v.clear();
                v.push_str(value);
            }
            None => {
                self.vars.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    fn global(&self, _name: &str) -> Option<String> {
        None
    }
    fn set_global(&mut self, _name: &str, _value: &str) {}
    fn caller_id(&self, _field: CallerIdField) -> String {
        String::from("1000")
    }
    fn set_caller_id(&mut self, _field: CallerIdField, _value: &str) -> Result<(), ExprError> {
        Ok(())
    }
    fn cdr(&self, _field: &str) -> Option<String> {
        None
    }
    fn set_cdr(&mut self, _field: &str, _value: &str) -> Result<(), ExprError> {
        Ok(())
    }
    fn dialstatus(&self) -> Option<String> {
        None
    }
    fn hangupcause(&self) -> Option<u16> {
        None
    }
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }
}
