//! Administrative changes to the user directory and bindings (the web admin's extension
//! pages): being built (issue 6, second part).

use super::Registrar;

impl Registrar {}
