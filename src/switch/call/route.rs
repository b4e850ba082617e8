//! The built-in call routing used until the dialplan issue replaces it: a small pure
//! function from "who called what" to where the call goes.
//!
//! Rules (issue 3, item 3):
//! - from a trusted gateway: the DID `5550100` rings extension `1000`; anything else is
//!   not found;
//! - from an extension: `*43` is the echo test (the switch answers and echoes the caller's
//!   media); a configured extension number rings that extension; a number starting with `9`
//!   goes to the gateway `carrier` with the `9` stripped; anything else is not found.
//!
//! Depends on `config` only.

use crate::config::Config;

/// The DID routed to an extension for calls arriving from a gateway.
pub const DEFAULT_DID: &str = "5550100";
/// The extension [`DEFAULT_DID`] rings.
pub const DEFAULT_DID_EXTENSION: &str = "1000";
/// The gateway reached with the `9` prefix.
pub const OUTBOUND_GATEWAY: &str = "carrier";
/// The outside-line prefix.
pub const OUTSIDE_PREFIX: char = '9';
/// The echo test's number (extensions only).
pub const ECHO_TEST: &str = "*43";

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Ring every registered contact of this extension.
    Extension {
        /// The extension number.
        number: String,
    },
    /// Send the call to a gateway.
    Gateway {
        /// The gateway's name in the configuration.
        gateway: String,
        /// The number to dial there.
        number: String,
    },
    /// The echo test: the switch answers and sends the caller's media back.
    Echo,
    /// Nothing matches (the caller gets 404).
    NotFound,
}

/// Who is calling, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// An authenticated extension.
    Extension(&'a str),
    /// A gateway trusted by source address (its name).
    Gateway(&'a str),
}

/// What routing needs to know about the configuration.
pub trait Directory {
    /// Whether `number` is a configured extension.
    fn has_extension(&self, number: &str) -> bool;
    /// Whether a gateway named `name` is configured.
    fn has_gateway(&self, name: &str) -> bool;
}

impl Directory for Config {
    fn has_extension(&self, number: &str) -> bool {
        self.extension(number).is_some()
    }
    fn has_gateway(&self, name: &str) -> bool {
        self.gateways.iter().any(|g| g.name == name)
    }
}

/// Routes `dialed` (the Request-URI user part) for a call from `origin`.
pub fn route(config: &impl Directory, origin: Origin<'_>, dialed: &str) -> Route {
    match origin {
        Origin::Gateway(_) => {
            if dialed == DEFAULT_DID && config.has_extension(DEFAULT_DID_EXTENSION) {
                Route::Extension {
                    number: DEFAULT_DID_EXTENSION.to_owned(),
                }
            } else {
                Route::NotFound
            }
        }
        Origin::Extension(_) => {
            if dialed == ECHO_TEST {
                return Route::Echo;
            }
            if config.has_extension(dialed) {
                return Route::Extension {
                    number: dialed.to_owned(),
                };
            }
            match dialed.strip_prefix(OUTSIDE_PREFIX) {
                Some(rest) if is_dialable(rest) && config.has_gateway(OUTBOUND_GATEWAY) => {
                    Route::Gateway {
                        gateway: OUTBOUND_GATEWAY.to_owned(),
                        number: rest.to_owned(),
                    }
                }
                _ => Route::NotFound,
            }
        }
    }
}

/// A non-empty number of digits (and `*`, `#`, `+`).
fn is_dialable(number: &str) -> bool {
    !number.is_empty()
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir {
        extensions: Vec<&'static str>,
        gateways: Vec<&'static str>,
    }

    impl Directory for Dir {
        fn has_extension(&self, number: &str) -> bool {
            self.extensions.contains(&number)
        }
        fn has_gateway(&self, name: &str) -> bool {
            self.gateways.contains(&name)
        }
    }

    fn config() -> Dir {
        Dir {
            extensions: vec!["1000", "1001"],
            gateways: vec!["carrier"],
        }
    }
    fn ext(n: &str) -> Route {
        Route::Extension { number: n.into() }
    }

    #[test]
    fn routes_follow_the_built_in_rules() {
        let c = config();
        let from_ext = Origin::Extension("1000");
        let from_gw = Origin::Gateway("carrier");
        let cases = [
            (from_ext, "1001", ext("1001")),
            (from_ext, "1000", ext("1000")),
            (from_ext, "1002", Route::NotFound),
            (
                from_ext,
                "95551234",
                Route::Gateway {
                    gateway: "carrier".into(),
                    number: "5551234".into(),
                },
            ),
            (from_ext, "9", Route::NotFound),
            (from_ext, "9abc", Route::NotFound),
            (from_ext, "", Route::NotFound),
            (from_gw, "5550100", ext("1000")),
            (from_gw, "1001", Route::NotFound),
            (from_gw, "95551234", Route::NotFound),
            (from_ext, "*43", Route::Echo),
            (from_ext, "*4", Route::NotFound),
            (from_ext, "*430", Route::NotFound),
            (from_gw, "*43", Route::NotFound),
        ];
        for (origin, dialed, want) in cases {
            assert_eq!(route(&c, origin, dialed), want, "{origin:?} {dialed}");
        }
    }

    #[test]
    fn echo_test_needs_no_configuration() {
        let empty = Dir {
            extensions: vec![],
            gateways: vec![],
        };
        assert_eq!(route(&empty, Origin::Extension("1000"), "*43"), Route::Echo);
    }

    #[test]
    fn no_carrier_means_no_outside_line() {
        let mut c = config();
        c.gateways.clear();
        assert_eq!(
            route(&c, Origin::Extension("1000"), "95551234"),
            Route::NotFound
        );
        c.extensions.clear();
        assert_eq!(
            route(&c, Origin::Gateway("carrier"), "5550100"),
            Route::NotFound
        );
    }
}
