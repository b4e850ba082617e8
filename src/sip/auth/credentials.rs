//! Parsing of `Authorization` / `Proxy-Authorization` values (RFC 3261 §25.1 `credentials`,
//! RFC 2617 §3.2.2): `Digest` followed by comma-separated `name=value` pairs where the value
//! is a token or a quoted-string with `\` escapes; names are case-insensitive; linear white
//! space is allowed around `=` and `,`.

use super::AuthError;

/// Digest credentials as sent by the client. Values are unquoted and unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce` we issued.
    pub nonce: String,
    /// `uri` (digest-uri), which must equal the Request-URI.
    pub uri: String,
    /// `response` (hex digest).
    pub response: String,
    /// `algorithm` token, if present (absent means MD5, RFC 2617 §3.2.1).
    pub algorithm: Option<String>,
    /// `qop`, if present.
    pub qop: Option<String>,
    /// `nc` (8 hex digits), if present.
    pub nc: Option<String>,
    /// `cnonce`, if present.
    pub cnonce: Option<String>,
    /// `opaque`, if present (we never send one).
    pub opaque: Option<String>,
    /// `userhash=true` (RFC 7616 §3.4.4), which we do not support.
    pub userhash: bool,
}

/// Parses one `Authorization`/`Proxy-Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<Credentials, AuthError> {
    let value = value.trim_start_matches([' ', '\t', '\r', '\n']);
    let scheme_end = value.find([' ', '\t', '\r', '\n']).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if scheme.is_empty() {
        return Err(AuthError::Missing);
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    let mut creds = Credentials::default();
    let mut seen = Seen::default();
    let mut cursor = Cursor { rest };
    loop {
        cursor.skip_lws();
        // Empty list elements (",,") are allowed by the #rule (RFC 2616 §2.1).
        if cursor.eat(',') {
            continue;
        }
        if cursor.rest.is_empty() {
            break;
        }
        let name = cursor
            .token()
            .ok_or(AuthError::Malformed("expected a parameter name"))?;
        cursor.skip_lws();
        if !cursor.eat('=') {
            return Err(AuthError::Malformed("expected '=' after a parameter name"));
        }
        cursor.skip_lws();
        let param_value = if cursor.rest.starts_with('"') {
            cursor.quoted_string()?
        } else {
            cursor
                .token()
                .ok_or(AuthError::Malformed(
                    "expected a token or quoted-string value",
                ))?
                .to_owned()
        };
        store(&mut creds, &mut seen, name, param_value)?;
        cursor.skip_lws();
        if !cursor.rest.is_empty() && !cursor.eat(',') {
            return Err(AuthError::Malformed("expected ',' between parameters"));
        }
    }
    if !(seen.username && seen.realm && seen.nonce && seen.uri && seen.response) {
        return Err(AuthError::Malformed(
            "missing username, realm, nonce, uri or response",
        ));
    }
    Ok(creds)
}

/// Which parameters were already given (duplicates are refused).
#[derive(Default)]
struct Seen {
    username: bool,
    realm: bool,
    nonce: bool,
    uri: bool,
    response: bool,
    algorithm: bool,
    qop: bool,
    nc: bool,
    cnonce: bool,
    opaque: bool,
    userhash: bool,
}

fn store(
    creds: &mut Credentials,
    seen: &mut Seen,
    name: &str,
    value: String,
) -> Result<(), AuthError> {
    let lower = name.to_ascii_lowercase();
    let (flag, slot): (&mut bool, Option<&mut String>) = match lower.as_str() {
        "username" => (&mut seen.username, Some(&mut creds.username)),
        "realm" => (&mut seen.realm, Some(&mut creds.realm)),
        "nonce" => (&mut seen.nonce, Some(&mut creds.nonce)),
        "uri" => (&mut seen.uri, Some(&mut creds.uri)),
        "response" => (&mut seen.response, Some(&mut creds.response)),
        "algorithm" => (
            &mut seen.algorithm,
            Some(creds.algorithm.insert(String::new())),
        ),
        "qop" => (&mut seen.qop, Some(creds.qop.insert(String::new()))),
        "nc" => (&mut seen.nc, Some(creds.nc.insert(String::new()))),
        "cnonce" => (&mut seen.cnonce, Some(creds.cnonce.insert(String::new()))),
        "opaque" => (&mut seen.opaque, Some(creds.opaque.insert(String::new()))),
        "userhash" => {
            creds.userhash = value.eq_ignore_ascii_case("true");
            (&mut seen.userhash, None)
        }
        // auth-param extensions are ignored (RFC 2617 §3.2.2).
        _ => return Ok(()),
    };
    if *flag {
        return Err(AuthError::Malformed("duplicate parameter"));
    }
    *flag = true;
    if let Some(slot) = slot {
        *slot = value;
    }
    Ok(())
}

/// A position in the header value.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn skip_lws(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\r', '\n']);
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// RFC 3261 §25.1 `token`.
    fn token(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(token)
    }

    /// RFC 3261 §25.1 `quoted-string`: `"` ... `"` with `\` quoting the next character.
    fn quoted_string(&mut self) -> Result<String, AuthError> {
        let mut chars = self.rest.char_indices();
        chars.next(); // the opening quote
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(AuthError::Malformed("unterminated quoted-string"))
    }
}
