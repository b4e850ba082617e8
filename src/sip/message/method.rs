//! SIP request methods (RFC 3261 §7.1, §25.1 `Method`), including extension methods, which
//! are kept opaque so that an unknown method can still be answered with 501/405.
//! Depends only on [`super::lex`] for the token grammar.

use std::fmt;

use super::lex::is_token;

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1); anything not listed is an
/// [`Method::Extension`] holding the token as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other `token`, kept verbatim.
    Extension(Box<str>),
}

impl Method {
    /// Maps a method token to a [`Method`]; returns `None` when `token` is not a valid
    /// RFC 3261 `token` (empty, or containing separators/whitespace).
    pub fn from_token(token: &str) -> Option<Method> {
        Some(match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other if is_token(other) => Method::Extension(other.into()),
            _ => return None,
        })
    }

    /// The method token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_both_ways() {
        let cases = [
            ("INVITE", Some(Method::Invite)),
            ("REGISTER", Some(Method::Register)),
            ("NEWMETHOD", Some(Method::Extension("NEWMETHOD".into()))),
            (
                "!interesting-Method0123456789_*+`.%indeed'~",
                Some(Method::Extension(
                    "!interesting-Method0123456789_*+`.%indeed'~".into(),
                )),
            ),
            ("invite", Some(Method::Extension("invite".into()))),
            ("", None),
            ("IN VITE", None),
            ("INV<ITE", None),
        ];
        for (token, want) in cases {
            let got = Method::from_token(token);
            assert_eq!(got, want, "{token}");
            if let Some(m) = got {
                assert_eq!(m.as_str(), token);
            }
        }
    }
}
