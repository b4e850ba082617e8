//! Read-only listings of the registrar's state for the web admin (being built: issue 6,
//! second part).

use super::Registrar;

impl Registrar {}
