//! Dialplan functions: reading `${FUNC(args)}` and assigning `Set(FUNC(args)=value)`.
//! Names are case-insensitive; `args` arrive already expanded.
//!
//! - `CALLERID(num|number|name|all|ani|dnid|rdnis)`: read [`Scope::caller_id`] (`all` is
//!   `"name" <num>`), write [`Scope::set_caller_id`] (`all` takes `"Name" <num>`).
//! - `CDR(field)`: read [`Scope::cdr`]; write `userfield`, `accountcode`, `amaflags` only.
//! - `GLOBAL(name)`: [`Scope::global`] / [`Scope::set_global`].
//! - `LEN(x)`, `ISNULL(x)`, `IF(c?a:b)`, `STRFTIME(epoch,tz,format)`: pure, read-only.
//! - `DIALSTATUS()`, `HANGUPCAUSE()`: the call state, like the variables; read-only.
//! - `ENV(x)`: refused both ways ([`ExprError::EnvForbidden`]).

use super::{check_condition, strftime, CallerIdField, ExprError, Scope};

/// CDR fields `Set(CDR(field)=x)` may change (Asterisk lets the dialplan write these).
const WRITABLE_CDR_FIELDS: [&str; 3] = ["userfield", "accountcode", "amaflags"];

/// Whether `Set(CDR(field)=...)` is allowed for `field` (case-insensitive).
pub fn cdr_field_writable(field: &str) -> bool {
    WRITABLE_CDR_FIELDS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(field.trim()))
}

/// Evaluates `name(args)`; `args` is already expanded.
pub(super) fn read(name: &str, args: &str, scope: &mut dyn Scope) -> Result<String, ExprError> {
    let f = |n: &str| name.eq_ignore_ascii_case(n);
    if f("LEN") {
        Ok(args.chars().count().to_string())
    } else if f("ISNULL") {
        Ok(if args.is_empty() { "1" } else { "0" }.to_owned())
    } else if f("IF") {
        read_if(args)
    } else if f("CALLERID") {
        read_caller_id(args, scope)
    } else if f("CDR") {
        let field = cdr_field(args)?;
        Ok(scope.cdr(&field).unwrap_or_default())
    } else if f("GLOBAL") {
        Ok(scope.global(args.trim()).unwrap_or_default())
    } else if f("STRFTIME") {
        strftime::strftime(args, scope.now())
    } else if f("DIALSTATUS") || f("HANGUPCAUSE") {
        status_function(name, args, scope)
    } else {
        Err(unknown(name))
    }
}

/// `DIALSTATUS()` / `HANGUPCAUSE()` without arguments, the same as the variables.
/// Asterisk's `HANGUPCAUSE(channel,type)` (per-technology causes of another channel) is
/// not available, so arguments are refused rather than ignored.
fn status_function(name: &str, args: &str, scope: &dyn Scope) -> Result<String, ExprError> {
    let function = if name.eq_ignore_ascii_case("DIALSTATUS") {
        "DIALSTATUS"
    } else {
        "HANGUPCAUSE"
    };
    if !args.trim().is_empty() {
        return Err(ExprError::BadArgument {
            function,
            detail: "takes no arguments (the current channel only)".to_owned(),
        });
    }
    Ok(if function == "DIALSTATUS" {
        scope.dialstatus().unwrap_or_default()
    } else {
        scope
            .hangupcause()
            .map(|c| c.to_string())
            .unwrap_or_default()
    })
}

/// The error for a function that is neither readable nor writable here.
fn unknown(name: &str) -> ExprError {
    if name.eq_ignore_ascii_case("ENV") {
        ExprError::EnvForbidden
    } else {
        ExprError::UnknownFunction {
            name: name.to_owned(),
        }
    }
}

/// Assigns `value` to `lhs` (already expanded): a channel variable, or `CALLERID(field)`,
/// `CDR(userfield|accountcode|amaflags)`, `GLOBAL(name)`. Other functions are refused
/// ([`ExprError::ReadOnlyFunction`], [`ExprError::EnvForbidden`],
/// [`ExprError::UnknownFunction`]).
pub fn assign(lhs: &str, value: &str, scope: &mut dyn Scope) -> Result<(), ExprError> {
    let lhs = lhs.trim();
    let Some((name, args)) = super::template::function_call(lhs) else {
        if lhs.is_empty() || lhs.contains(['$', '{', '}', '(', ')', '[', ']']) {
            return Err(ExprError::BadVariableName {
                name: lhs.to_owned(),
            });
        }
        scope.set_var(lhs, value);
        return Ok(());
    };
    let f = |n: &str| name.eq_ignore_ascii_case(n);
    if f("CALLERID") {
        write_caller_id(args, value, scope)
    } else if f("CDR") {
        let field = cdr_field(args)?;
        if !cdr_field_writable(&field) {
            return Err(ExprError::CdrReadOnly { field });
        }
        if field == "amaflags" {
            return scope.set_cdr(&field, amaflags(value)?);
        }
        scope.set_cdr(&field, value)
    } else if f("GLOBAL") {
        let var = args.trim();
        if var.is_empty() {
            return Err(ExprError::BadVariableName {
                name: var.to_owned(),
            });
        }
        scope.set_global(var, value);
        Ok(())
    } else if [
        "LEN",
        "ISNULL",
        "IF",
        "STRFTIME",
        "DIALSTATUS",
        "HANGUPCAUSE",
    ]
    .iter()
    .any(|n| f(n))
    {
        Err(ExprError::ReadOnlyFunction {
            name: name.to_owned(),
        })
    } else {
        Err(unknown(name))
    }
}

/// `IF(cond?true[:false])`: split at the first `?` and the first `:` after it.
fn read_if(args: &str) -> Result<String, ExprError> {
    let Some((cond, branches)) = args.split_once('?') else {
        return Err(ExprError::BadArgument {
            function: "IF",
            detail: "syntax is IF(<expr>?[<true>][:<false>])".to_owned(),
        });
    };
    let (yes, no) = branches.split_once(':').unwrap_or((branches, ""));
    let chosen = if check_condition(cond.trim()) {
        yes
    } else {
        no
    };
    Ok(strip_quotes(chosen.trim()).to_owned())
}

/// Removes one pair of surrounding double quotes.
fn strip_quotes(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// The CDR field name from `CDR(field[,options])`, lowercased; options are refused.
fn cdr_field(args: &str) -> Result<String, ExprError> {
    let (field, options) = args.split_once(',').unwrap_or((args, ""));
    let field = field.trim();
    if field.is_empty() {
        return Err(ExprError::BadArgument {
            function: "CDR",
            detail: "a field name is required".to_owned(),
        });
    }
    if !options.trim().is_empty() {
        return Err(ExprError::BadArgument {
            function: "CDR",
            detail: format!("options `{}` are not supported", options.trim()),
        });
    }
    Ok(field.to_ascii_lowercase())
}

/// Canonical amaflags (Asterisk accepts the names in any case and 1-3).
fn amaflags(value: &str) -> Result<&'static str, ExprError> {
    let v = value.trim();
    let is = |n: &str| v.eq_ignore_ascii_case(n);
    if is("OMIT") || v == "1" {
        Ok("OMIT")
    } else if is("BILLING") || v == "2" {
        Ok("BILLING")
    } else if is("DOCUMENTATION") || v == "3" {
        Ok("DOCUMENTATION")
    } else {
        Err(ExprError::BadAmaFlags {
            value: value.to_owned(),
        })
    }
}

/// A `CALLERID` data type, or `None` for `all`.
fn caller_id_field(args: &str) -> Result<Option<CallerIdField>, ExprError> {
    let name = args.split(',').next().unwrap_or("").trim();
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    Ok(Some(if is("num") || is("number") {
        CallerIdField::Num
    } else if is("name") {
        CallerIdField::Name
    } else if is("ani") {
        CallerIdField::Ani
    } else if is("dnid") {
        CallerIdField::Dnid
    } else if is("rdnis") {
        CallerIdField::Rdnis
    } else if is("all") {
        return Ok(None);
    } else {
        return Err(ExprError::BadArgument {
            function: "CALLERID",
            detail: format!("unknown data type `{name}` (num, name, all, ani, dnid, rdnis)"),
        });
    }))
}

/// `CALLERID(field)`; `all` is `"name" <num>` (Asterisk's `ast_callerid_merge`).
fn read_caller_id(args: &str, scope: &dyn Scope) -> Result<String, ExprError> {
    if let Some(field) = caller_id_field(args)? {
        return Ok(scope.caller_id(field));
    }
    let name = scope.caller_id(CallerIdField::Name);
    let num = scope.caller_id(CallerIdField::Num);
    Ok(match (name.is_empty(), num.is_empty()) {
        (false, false) => format!("\"{name}\" <{num}>"),
        (false, true) => name,
        (true, _) => num,
    })
}

/// `Set(CALLERID(field)=value)`; `all` takes `"name" <num>`, a bare number or a name.
fn write_caller_id(args: &str, value: &str, scope: &mut dyn Scope) -> Result<(), ExprError> {
    if let Some(field) = caller_id_field(args)? {
        return scope.set_caller_id(field, value);
    }
    let (name, num) = split_caller_id(value);
    scope.set_caller_id(CallerIdField::Name, name)?;
    scope.set_caller_id(CallerIdField::Num, num)
}

/// (name, number) from `"Name" <num>`, `Name <num>`, `<num>`, `1000` or `Name`.
pub(super) fn split_caller_id(value: &str) -> (&str, &str) {
    let v = value.trim();
    if let Some(open) = v.rfind('<') {
        if let Some(len) = v[open + 1..].find('>') {
            let num = v[open + 1..open + 1 + len].trim();
            return (strip_quotes(v[..open].trim()), num);
        }
    }
    let phone = |c: char| c.is_ascii_digit() || matches!(c, '+' | '*' | '#');
    if !v.is_empty() && v.chars().all(phone) {
        ("", v)
    } else {
        (strip_quotes(v), "")
    }
}

#[cfg(test)]
#[path = "functions_tests.rs"]
mod tests;
