//! Search filters and their SQL: [`LegFilter`] and [`BridgeFilter`] (what the web layer
//! deserializes from a query string), [`NumberMatch`] (exact or `prefix*`), the opaque
//! keyset [`Cursor`], and [`Spec`], the validated form both the search and the CSV export
//! turn into a `WHERE` clause with bound values.
//!
//! Nothing user-supplied is ever spliced into SQL: column names come from constants here,
//! every value is a bound parameter.
//!
//! Depends on: `cdr::model` (`Millis`, `Disposition`), serde.

use serde::Deserialize;

use super::QueryError;
use crate::cdr::model::{Disposition, Millis};

/// Rows per page when the filter gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 50;

/// The largest page a caller may ask for (bounds the work and the response size).
pub const MAX_LIMIT: u32 = 500;

/// The longest number / id accepted in a filter (longer input is certainly not a match and
/// is refused rather than searched).
const MAX_VALUE_LEN: usize = 128;

/// Filter of a leg-record search (`cdr_leg`). Every field is optional; they combine with
/// AND. Deserializable from a query string (`?number=100*&direction=inbound&limit=50`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LegFilter {
    /// Start time at or after this (ms UTC).
    pub from: Option<Millis>,
    /// Start time before this (ms UTC).
    pub to: Option<Millis>,
    /// Matches `caller_id_number`, `callee_id_number` or `destination_number`: exact, or a
    /// prefix when it ends with `*`.
    pub number: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// The conversation's linkedid.
    pub linkedid: Option<String>,
    /// The extension or gateway of the leg (`account`).
    pub account: Option<String>,
    /// Page size, 1..=[`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]); ignored by the export.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; ignored by the export.
    pub cursor: Option<String>,
}

/// Filter of a bridge-record search (`cdr`, Asterisk CDRs). Fields combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeFilter {
    /// Start time at or after this (ms UTC).
    pub from: Option<Millis>,
    /// Start time before this (ms UTC).
    pub to: Option<Millis>,
    /// Matches `src` or `dst`: exact, or a prefix when it ends with `*`.
    pub number: Option<String>,
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED` or `CONGESTION` (case-insensitive).
    pub disposition: Option<String>,
    /// The conversation's linkedid.
    pub linkedid: Option<String>,
    /// Party A's account code (`accountcode`).
    pub account: Option<String>,
    /// Page size, 1..=[`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]); ignored by the export.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; ignored by the export.
    pub cursor: Option<String>,
}

/// How a number filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberMatch {
    /// The whole value.
    Exact(String),
    /// Values starting with this (the filter ended with `*`); never empty.
    Prefix(String),
}

impl NumberMatch {
    /// `"100*"` → prefix `100`, `"1000"` → exact; `""` and `"*"` match everything (`None`).
    pub fn parse(text: &str) -> Option<NumberMatch> {
        let text = text.trim();
        match text.strip_suffix('*') {
            Some("") => None,
            Some(prefix) => Some(NumberMatch::Prefix(prefix.to_owned())),
            None if text.is_empty() => None,
            None => Some(NumberMatch::Exact(text.to_owned())),
        }
    }

    /// The condition on `column` (a constant name) and its bound values. A prefix is a
    /// range (`>= p AND < successor(p)`), which an index on the column serves; SQLite's
    /// BINARY collation compares UTF-8 bytes, which order like code points.
    fn condition(&self, column: &str) -> (String, Vec<Bind>) {
        match self {
            NumberMatch::Exact(v) => (format!("\"{column}\" = ?"), vec![Bind::Text(v.clone())]),
            NumberMatch::Prefix(p) => match successor(p) {
                Some(next) => (
                    format!("(\"{column}\" >= ? AND \"{column}\" < ?)"),
                    vec![Bind::Text(p.clone()), Bind::Text(next)],
                ),
                None => (format!("\"{column}\" >= ?"), vec![Bind::Text(p.clone())]),
            },
        }
    }
}

/// The smallest string greater than every string starting with `prefix`, if any.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point, skipping the surrogate gap.
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Where a page ends: the `(start, id)` of its last row. Shown to clients as an opaque
/// string (`<start>_<id>`); only [`Cursor::parse`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `start` of the last row of the previous page.
    pub start: Millis,
    /// `id` of that row.
    pub id: i64,
}

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.start, self.id)
    }

    /// Reads a cursor made by [`Cursor::encode`].
    pub fn parse(text: &str) -> Result<Cursor, QueryError> {
        let bad = || QueryError::invalid("cursor", "not a cursor returned by a previous page");
        let (start, id) = text.split_once('_').ok_or_else(bad)?;
        Ok(Cursor {
            start: start.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// The `WHERE` of the partial index `cdr_leg_callee` (schema migration 2), verbatim.
pub(crate) const CALLEE_PARTIAL: &str = "callee_id_number <> destination_number";

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

/// Which table a [`Spec`] searches, with the names the SQL needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// `cdr_leg`.
    Leg,
    /// `cdr` (bridge records).
    Bridge,
}

impl Table {
    /// The table name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Leg => "cdr_leg",
            Table::Bridge => "cdr",
        }
    }

    /// The index ordered by `(start, id)` that time scans use.
    pub(crate) fn time_index(self) -> &'static str {
        match self {
            Table::Leg => super::LEG_TIME_INDEX,
            Table::Bridge => "cdr_start",
        }
    }

    /// The columns a number filter matches.
    fn number_columns(self) -> &'static [&'static str] {
        match self {
            Table::Leg => &["caller_id_number", "callee_id_number", "destination_number"],
            Table::Bridge => &["src", "dst"],
        }
    }

    /// The condition of `column`'s partial index: `cdr_leg_callee` holds only the legs
    /// whose callee differs from the destination (the others are found through the
    /// destination index), so the writer pays for it only on those legs. A lookup must
    /// repeat the condition word for word for SQLite to use the index.
    fn partial(self, column: &str) -> Option<&'static str> {
        match (self, column) {
            (Table::Leg, "callee_id_number") => Some(CALLEE_PARTIAL),
            _ => None,
        }
    }

    /// Whether `column` has an index of its own (a candidate to drive a search).
    fn indexed(self, column: &str) -> bool {
        match self {
            Table::Leg => matches!(column, "linkedid" | "account"),
            Table::Bridge => matches!(column, "linkedid" | "disposition"),
        }
    }
}

/// A set of rows an index finds directly: the union of `column condition` terms.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// `(condition, binds)` per indexed column; the rows matching any of them.
    pub(crate) terms: Vec<(String, Vec<Bind>)>,
}

/// A validated filter: the conditions both the search and the export apply.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The table.
    pub(crate) table: Table,
    /// `start >= from`.
    pub(crate) from: Millis,
    /// `start < to`.
    pub(crate) to: Millis,
    /// `column = value` conditions (constant column names).
    pub(crate) equal: Vec<(&'static str, String)>,
    /// The number filter.
    pub(crate) number: Option<NumberMatch>,
    /// Rows per page.
    pub(crate) limit: u32,
    /// Continue after this row (descending order).
    pub(crate) cursor: Option<Cursor>,
}

impl Spec {
    /// Validates a leg filter.
    pub(crate) fn leg(f: &LegFilter) -> Result<Spec, QueryError> {
        let mut spec = Spec::common(Table::Leg, f.from, f.to, f.limit, f.cursor.as_deref())?;
        spec.number = number(f.number.as_deref())?;
        if let Some(d) = nonempty("direction", f.direction.as_deref())? {
            let d = d.to_ascii_lowercase();
            if d != "inbound" && d != "outbound" {
                return Err(QueryError::invalid("direction", "inbound or outbound"));
            }
            spec.equal.push(("direction", d));
        }
        spec.add("linkedid", "linkedid", f.linkedid.as_deref())?;
        spec.add("account", "account", f.account.as_deref())?;
        Ok(spec)
    }

    /// Validates a bridge filter.
    pub(crate) fn bridge(f: &BridgeFilter) -> Result<Spec, QueryError> {
        let mut spec = Spec::common(Table::Bridge, f.from, f.to, f.limit, f.cursor.as_deref())?;
        spec.number = number(f.number.as_deref())?;
        if let Some(d) = nonempty("disposition", f.disposition.as_deref())? {
            let all = [
                Disposition::Answered,
                Disposition::NoAnswer,
                Disposition::Busy,
                Disposition::Failed,
                Disposition::Congestion,
            ];
            let found = all
                .iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(d.trim()))
                .ok_or_else(|| {
                    QueryError::invalid(
                        "disposition",
                        "ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION",
                    )
                })?;
            spec.equal.push(("disposition", found.as_str().to_owned()));
        }
        spec.add("linkedid", "linkedid", f.linkedid.as_deref())?;
        spec.add("account", "accountcode", f.account.as_deref())?;
        Ok(spec)
    }

    fn common(
        table: Table,
        from: Option<Millis>,
        to: Option<Millis>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Spec, QueryError> {
        let (from, to) = (from.unwrap_or(Millis::MIN), to.unwrap_or(Millis::MAX));
        if from > to {
            return Err(QueryError::invalid("from", "after `to`"));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::invalid("limit", format!("1 to {MAX_LIMIT}")));
        }
        let cursor = cursor
            .filter(|c| !c.is_empty())
            .map(Cursor::parse)
            .transpose()?;
        Ok(Spec {
            table,
            from,
            to,
            equal: Vec::new(),
            number: None,
            limit,
            cursor,
        })
    }

    fn add(
        &mut self,
        field: &'static str,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<(), QueryError> {
        if let Some(v) = nonempty(field, value)? {
            self.equal.push((column, v.to_owned()));
        }
        Ok(())
    }

    /// The `WHERE` conditions (without the keyword) and their binds, in order. With
    /// `paged`, the cursor condition is included.
    pub(crate) fn conditions(&self, paged: bool) -> (String, Vec<Bind>) {
        let mut sql = String::from("start >= ? AND start < ?");
        let mut binds = vec![Bind::Int(self.from), Bind::Int(self.to)];
        if let (true, Some(c)) = (paged, self.cursor) {
            // Rows strictly after (start, id) in descending order; the first term is a range
            // the time index serves.
            sql.push_str(" AND start <= ? AND (start < ? OR id < ?)");
            binds.extend([Bind::Int(c.start), Bind::Int(c.start), Bind::Int(c.id)]);
        }
        for (column, value) in &self.equal {
            sql.push_str(&format!(" AND \"{column}\" = ?"));
            binds.push(Bind::Text(value.clone()));
        }
        if let Some(n) = &self.number {
            let terms: Vec<(String, Vec<Bind>)> = self
                .table
                .number_columns()
                .iter()
                .map(|c| n.condition(c))
                .collect();
            let ors: Vec<&str> = terms.iter().map(|(s, _)| s.as_str()).collect();
            sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
            binds.extend(terms.into_iter().flat_map(|(_, b)| b));
        }
        (sql, binds)
    }

    /// The row sets an index can find directly: the number (over its columns) and each
    /// equality on an indexed column.
    pub(crate) fn candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        if let Some(n) = &self.number {
            let terms = self
                .table
                .number_columns()
                .iter()
                .map(|c| {
                    let (sql, binds) = n.condition(c);
                    match self.table.partial(c) {
                        Some(only) => (format!("({sql} AND {only})"), binds),
                        None => (sql, binds),
                    }
                })
                .collect();
            out.push(Candidate { terms });
        }
        for (column, value) in &self.equal {
            if self.table.indexed(column) {
                out.push(Candidate {
                    terms: vec![(format!("\"{column}\" = ?"), vec![Bind::Text(value.clone())])],
                });
            }
        }
        out
    }
}

fn number(text: Option<&str>) -> Result<Option<NumberMatch>, QueryError> {
    Ok(nonempty("number", text)?.and_then(NumberMatch::parse))
}

/// `None` for a missing or empty value; refuses values longer than [`MAX_VALUE_LEN`].
fn nonempty<'a>(
    field: &'static str,
    value: Option<&'a str>,
) -> Result<Option<&'a str>, QueryError> {
    match value {
        Some(v) if v.len() > MAX_VALUE_LEN => Err(QueryError::invalid(
            field,
            format!("longer than {MAX_VALUE_LEN} bytes"),
        )),
        Some(v) if !v.trim().is_empty() => Ok(Some(v)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_exact_prefix_and_wildcard() {
        assert_eq!(
            NumberMatch::parse("1000"),
            Some(NumberMatch::Exact("1000".into()))
        );
        assert_eq!(
            NumberMatch::parse("06*"),
            Some(NumberMatch::Prefix("06".into()))
        );
        assert_eq!(NumberMatch::parse("*"), None);
        assert_eq!(NumberMatch::parse(" "), None);
    }

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(successor("061").as_deref(), Some("062"));
        assert_eq!(successor("09").as_deref(), Some("0:"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let c = Cursor {
            start: 1_795_391_101_123,
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.encode()).ok(), Some(c));
        for bad in ["", "12", "a_1", "1_b", "1_2_3"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_fields_are_named() {
        let field = |r: Result<Spec, QueryError>| match r {
            Err(QueryError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let leg = |f: LegFilter| field(Spec::leg(&f));
        assert_eq!(
            leg(LegFilter {
                limit: Some(501),
                ..Default::default()
            }),
            "limit"
        );
        assert_eq!(
            leg(LegFilter {
                limit: Some(0),
                ..Default::default()
            }),
            "limit"
        );
        assert_eq!(
            leg(LegFilter {
                direction: Some("up".into()),
                ..Default::default()
            }),
            "direction"
        );
        assert_eq!(
            leg(LegFilter {
                from: Some(2),
                to: Some(1),
                ..Default::default()
            }),
            "from"
        );
        assert_eq!(
            leg(LegFilter {
                cursor: Some("x".into()),
                ..Default::default()
            }),
            "cursor"
        );
        let long = "1".repeat(200);
        assert_eq!(
            leg(LegFilter {
                number: Some(long),
                ..Default::default()
            }),
            "number"
        );
        let bridge = BridgeFilter {
            disposition: Some("maybe".into()),
            ..Default::default()
        };
        assert_eq!(field(Spec::bridge(&bridge)), "disposition");
        let ok = BridgeFilter {
            disposition: Some("no answer".into()),
            ..Default::default()
        };
        let spec = Spec::bridge(&ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.equal, vec![("disposition", "NO ANSWER".to_owned())]);
    }
}
