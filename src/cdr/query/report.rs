//! Call reports over a period, from leg records (`cdr_leg`):
//!
//! - **calls** are inbound legs (one per call that reached the switch, from an extension
//!   or a gateway); **answered** ones have an `answer` time; talk time is `billsec`.
//!   `answer_rate = answered / total`, `avg_talk_secs = Σ billsec / answered`.
//! - **per bucket**: calls and answered calls per hour or day of a fixed UTC offset (the
//!   browser's), every bucket of the period present (zeros included) for charts.
//! - **busiest extensions / gateways**: legs of both directions in the period, per
//!   `account`, with their talk time. An account is a gateway when it is the `line_group`
//!   of some leg in the period (legs over a gateway carry it as account and line group;
//!   inbound trunk legs as account only), else an extension. Top [`BUSIEST_TOP`], by calls
//!   then talk time.
//!
//! Two connections work concurrently: one runs an aggregate per bucket over the covering
//! index `cdr_leg_time (start, id, direction, answer, billsec)`, the other one per account
//! over `cdr_leg_account (account, start, line_group, billsec)`. Every query is an index
//! range scan with no sort; the table's wide rows are never read. (A `GROUP BY account`
//! over the period instead sorts every leg of it: ~0.8 µs each, 500 ms for a month of a
//! 1,000,000-leg table.)
//!
//! Depends on: sqlx, serde, `cdr::model::Millis`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Row;

use super::QueryError;
use crate::cdr::model::Millis;

/// How many busiest extensions and gateways a report lists.
pub const BUSIEST_TOP: usize = 10;

/// The most buckets one report may have (a year of hours, with margin).
const MAX_BUCKETS: i64 = 9_000;

/// The largest UTC offset accepted, minutes (UTC+14:00 exists).
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// Bucket size of the per-period counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One bucket per hour.
    Hour,
    /// One bucket per day (midnight to midnight at the offset).
    Day,
}

impl Bucket {
    fn millis(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }
}

/// What to report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Period start (ms UTC, inclusive).
    pub from: Millis,
    /// Period end (ms UTC, exclusive).
    pub to: Millis,
    /// Bucket size.
    pub bucket: Bucket,
    /// Local time offset from UTC in minutes (east positive) that bucket edges follow.
    #[serde(default)]
    pub tz_offset_minutes: i32,
}

/// Calls of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BucketCount {
    /// The bucket's first instant (ms UTC; local midnight / hour at the offset).
    pub start: Millis,
    /// Calls (inbound legs) starting in it.
    pub total: u64,
    /// Of which answered.
    pub answered: u64,
}

/// One extension or gateway in a busiest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Busiest {
    /// Extension or gateway name.
    pub name: String,
    /// Legs it had in the period.
    pub calls: u64,
    /// Their talk time (Σ billsec), seconds.
    pub talk_secs: u64,
}

/// A calls report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Period start (ms UTC).
    pub from: Millis,
    /// Period end (ms UTC, exclusive).
    pub to: Millis,
    /// Bucket size of `per_bucket`.
    pub bucket: Bucket,
    /// The offset the buckets follow, minutes.
    pub tz_offset_minutes: i32,
    /// Calls (inbound legs).
    pub total: u64,
    /// Answered calls.
    pub answered: u64,
    /// `answered / total` (0 without calls).
    pub answer_rate: f64,
    /// Mean talk time of answered calls, seconds (0 without any).
    pub avg_talk_secs: f64,
    /// Calls per bucket, every bucket of the period, in order.
    pub per_bucket: Vec<BucketCount>,
    /// Busiest extensions.
    pub busiest_extensions: Vec<Busiest>,
    /// Busiest gateways.
    pub busiest_gateways: Vec<Busiest>,
}

/// Runs the report (`indexed`: the migration-2 indexes exist and are named).
pub(crate) async fn run(
    pool: &SqlitePool,
    indexed: bool,
    req: &ReportRequest,
) -> Result<Report, QueryError> {
    if req.from >= req.to {
        return Err(QueryError::invalid("from", "before `to`"));
    }
    if req.tz_offset_minutes.abs() > MAX_OFFSET_MINUTES {
        return Err(QueryError::invalid("tz_offset_minutes", "-840 to 840"));
    }
    let size = req.bucket.millis();
    let offset = i64::from(req.tz_offset_minutes) * 60_000;
    // The first bucket edge at or before `from`, in local time.
    let first = req.from.saturating_add(offset).div_euclid(size) * size - offset;
    let buckets = (req.to - first + size - 1) / size;
    if buckets > MAX_BUCKETS {
        return Err(QueryError::invalid(
            "to",
            format!("period too long for {MAX_BUCKETS} buckets"),
        ));
    }
    let starts: Vec<Millis> = (0..buckets).map(|i| first + i * size).collect();
    let per_bucket = async {
        let mut conn = pool.acquire().await?;
        bucket_counts(&mut conn, indexed, req, &starts, size).await
    };
    let busiest = async {
        let mut conn = pool.acquire().await?;
        per_account(&mut conn, indexed, req).await
    };
    let (counts, accounts) = tokio::try_join!(per_bucket, busiest)?;
    let (busiest_extensions, busiest_gateways) = busiest_lists(accounts);
    let total: u64 = counts.iter().map(|c| c.total).sum();
    let answered: u64 = counts.iter().map(|c| c.answered).sum();
    let talk: f64 = counts.iter().map(|c| c.talk).sum();
    Ok(Report {
        from: req.from,
        to: req.to,
        bucket: req.bucket,
        tz_offset_minutes: req.tz_offset_minutes,
        total,
        answered,
        answer_rate: if total == 0 {
            0.0
        } else {
            answered as f64 / total as f64
        },
        avg_talk_secs: if answered == 0 {
            0.0
        } else {
            talk / answered as f64
        },
        per_bucket: counts
            .iter()
            .map(|c| BucketCount {
                start: c.start,
                total: c.total,
                answered: c.answered,
            })
            .collect(),
        busiest_extensions,
        busiest_gateways,
    })
}

/// Calls of one bucket, with their talk time.
struct Counted {
    start: Millis,
    total: u64,
    answered: u64,
    talk: f64,
}

/// One aggregate query per bucket: each a covering range of the time index, so the work
/// is the period's index entries and nothing else (a `GROUP BY` over the period would
/// sort them all first; measured 2–3× slower).
async fn bucket_counts(
    conn: &mut SqliteConnection,
    indexed: bool,
    req: &ReportRequest,
    starts: &[Millis],
    size: i64,
) -> Result<Vec<Counted>, QueryError> {
    let hint = if indexed {
        format!("INDEXED BY {}", super::LEG_TIME_INDEX)
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT count(*) AS n, count(answer) AS a, total(billsec) AS t FROM cdr_leg {hint} \
         WHERE start >= ? AND start < ? AND direction = 'inbound'"
    );
    let mut out = Vec::with_capacity(starts.len());
    for &start in starts {
        let row = sqlx::query(&sql)
            .bind(start.max(req.from))
            .bind((start + size).min(req.to))
            .fetch_one(&mut *conn)
            .await?;
        out.push(Counted {
            start,
            total: count(row.try_get("n")?),
            answered: count(row.try_get("a")?),
            talk: row.try_get("t")?,
        });
    }
    Ok(out)
}

/// `(account, legs, talk secs, a line group seen on its legs)` for every account with legs
/// in the period. The accounts are enumerated by seeking through the account index (one
/// seek per distinct account, a "loose index scan"), then each is one covering range scan
/// of `cdr_leg_account`: no sort anywhere.
async fn per_account(
    conn: &mut SqliteConnection,
    indexed: bool,
    req: &ReportRequest,
) -> Result<Vec<Account>, QueryError> {
    let accounts: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE a(v) AS ( \
           SELECT (SELECT min(account) FROM cdr_leg) \
           UNION ALL \
           SELECT (SELECT min(account) FROM cdr_leg WHERE account > a.v) FROM a \
           WHERE a.v IS NOT NULL) \
         SELECT v FROM a WHERE v IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let hint = if indexed {
        "INDEXED BY cdr_leg_account"
    } else {
        ""
    };
    let sql = format!(
        "SELECT count(*) AS n, total(billsec) AS t, max(line_group) AS g FROM cdr_leg {hint} \
         WHERE account = ? AND start >= ? AND start < ?"
    );
    let mut out = Vec::new();
    for account in accounts {
        let row = sqlx::query(&sql)
            .bind(account.as_str())
            .bind(req.from)
            .bind(req.to)
            .fetch_one(&mut *conn)
            .await?;
        let n = count(row.try_get("n")?);
        if n == 0 {
            continue;
        }
        let t: f64 = row.try_get("t")?;
        let g: Option<String> = row.try_get("g")?;
        out.push((account, n, t.max(0.0) as u64, g.unwrap_or_default()));
    }
    Ok(out)
}

/// `(account, legs, talk secs, line group)`.
type Account = (String, u64, u64, String);

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

type Lists = (Vec<Busiest>, Vec<Busiest>);

/// Splits the accounts into extensions and gateways (a gateway is a line group seen on
/// some leg of the period).
fn busiest_lists(accounts: Vec<Account>) -> Lists {
    let gateways: HashSet<String> = accounts
        .iter()
        .filter(|(.., g)| !g.is_empty())
        .map(|(.., g)| g.clone())
        .collect();
    let mut ext = BTreeMap::new();
    let mut gw = BTreeMap::new();
    for (account, n, t, _) in accounts {
        if account.is_empty() {
            continue;
        }
        let map = if gateways.contains(&account) {
            &mut gw
        } else {
            &mut ext
        };
        map.insert(account, (n, t));
    }
    (top(ext), top(gw))
}

fn top(map: BTreeMap<String, (u64, u64)>) -> Vec<Busiest> {
    let mut list: Vec<Busiest> = map
        .into_iter()
        .map(|(name, (calls, talk_secs))| Busiest {
            name,
            calls,
            talk_secs,
        })
        .collect();
    list.sort_by(|a, b| {
        (b.calls, b.talk_secs)
            .cmp(&(a.calls, a.talk_secs))
            .then_with(|| a.name.cmp(&b.name))
    });
    list.truncate(BUSIEST_TOP);
    list
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
