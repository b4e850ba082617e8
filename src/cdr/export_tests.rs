//! Export tests on real SQLite files: CSV header, quoting and local columns, JSON Lines,
//! time filters, custom columns, and a read-only export while another connection writes.

use std::sync::Arc;

use super::{export, ExportFormat, ExportMode};
use crate::cdr::model::{CdrOp, Millis};
use crate::cdr::store::testutil::{final_bridge, final_leg, open, settings, T};
use crate::cdr::store::CdrStore;
use crate::cdr::time::{iso_utc, local_datetime};
use crate::config::parse_field;

async fn run(
    store: &CdrStore,
    mode: ExportMode,
    format: ExportFormat,
    from: Option<Millis>,
    to: Option<Millis>,
) -> (u64, String) {
    let mut out = Vec::new();
    let n = export(store, mode, format, from, to, &mut out)
        .await
        .unwrap_or_else(|e| panic!("export: {e}"));
    (n, String::from_utf8(out).unwrap_or_else(|e| panic!("{e}")))
}

/// Splits one CSV line into fields (RFC 4180, no embedded newlines in these tests).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().map(|f| f.push('"')).unwrap_or(());
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().map(|f| f.push(c)).unwrap_or(()),
        }
    }
    fields
}

async fn filled() -> (tempfile::TempDir, std::path::PathBuf, CdrStore) {
    let mut s = settings();
    s.fields = vec![parse_field("number:score").unwrap_or_else(|e| panic!("{e}"))];
    s.details = true;
    let (dir, path, store) = open(&s).await;
    let mut unanswered = (*final_leg("c", T + 2_000)).clone();
    unanswered.answer = None;
    let ops = [
        CdrOp::LegFinal(final_leg("a", T)),
        CdrOp::LegFinal(final_leg("b", T + 1_000)),
        CdrOp::LegFinal(Arc::new(unanswered)),
        CdrOp::BridgeFinal(final_bridge("a", 0, T)),
    ];
    store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (dir, path, store)
}

#[tokio::test]
async fn csv_has_a_header_quoting_and_local_times() {
    let (_dir, _path, store) = filled().await;
    let (n, text) = run(&store, ExportMode::Leg, ExportFormat::Csv, None, None).await;
    assert_eq!(n, 3);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let header = split_csv(lines[0]);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} not in {header:?}"))
    };
    assert!(!header.iter().any(|h| h == "id"));
    let first = split_csv(lines[1]);
    assert_eq!(first.len(), header.len());
    assert_eq!(first[col("uuid")], "a");
    assert_eq!(first[col("caller_id_name")], "Alice, \"A\"");
    assert!(lines[1].contains("\"Alice, \"\"A\"\"\""), "{}", lines[1]);
    assert_eq!(first[col("start")], "2026-11-22T23:45:01.123Z");
    assert_eq!(first[col("start_local")], local_datetime(T));
    assert_eq!(first[col("end")], iso_utc(T + 65_250));
    assert_eq!(first[col("score")], "4.5");
    assert_eq!(first[col("rtp_in_jitter_ms")], "1.5");
    assert_eq!(col("start_local"), col("start") + 1);
    let third = split_csv(lines[3]);
    assert_eq!(
        (
            third[col("answer")].as_str(),
            third[col("answer_local")].as_str()
        ),
        ("", "")
    );
    assert!(header.iter().any(|h| h == "details"));
}

#[tokio::test]
async fn json_lines_are_objects_in_column_order() {
    let (_dir, _path, store) = filled().await;
    let (n, text) = run(&store, ExportMode::Leg, ExportFormat::Json, None, None).await;
    assert_eq!(n, 3);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows[0]["uuid"], "a");
    assert_eq!(rows[0]["start"], "2026-11-22T23:45:01.123Z");
    assert_eq!(rows[0]["start_local"], local_datetime(T).as_str());
    assert_eq!(rows[0]["q850"], 16);
    assert_eq!(rows[0]["sip_code"], serde_json::Value::Null);
    assert_eq!(rows[0]["score"], 4.5);
    assert_eq!(rows[0]["details"]["variables"]["queue_name"], "support");
    assert_eq!(rows[2]["answer"], serde_json::Value::Null);
    assert_eq!(rows[2]["answer_local"], serde_json::Value::Null);
    let first_line = text.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with("{\"uuid\":\"a\",\"node_id\""),
        "{first_line}"
    );
}

#[tokio::test]
async fn time_filters_select_by_start() {
    let (_dir, _path, store) = filled().await;
    let (n, _) = run(
        &store,
        ExportMode::Leg,
        ExportFormat::Csv,
        Some(T + 1),
        None,
    )
    .await;
    assert_eq!(n, 2);
    let (n, _) = run(
        &store,
        ExportMode::Leg,
        ExportFormat::Csv,
        Some(T),
        Some(T + 1_000),
    )
    .await;
    assert_eq!(n, 1);
    let (n, text) = run(&store, ExportMode::Bridge, ExportFormat::Csv, None, None).await;
    assert_eq!(n, 1);
    assert!(text.starts_with("node_id,clid,src,dst"), "{text}");
}

#[tokio::test]
async fn read_only_export_runs_while_the_writer_writes() {
    let (_dir, path, store) = filled().await;
    let reader = CdrStore::open_read_only(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ops: Vec<CdrOp> = (0..3_000)
        .map(|i| CdrOp::LegFinal(final_leg(&format!("w{i:05}"), T + 10_000 + i)))
        .collect();
    let writer = store.clone();
    let write = tokio::spawn(async move {
        for chunk in ops.chunks(500) {
            writer
                .write_batch(chunk, T)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let (n, text) = run(&reader, ExportMode::Leg, ExportFormat::Json, None, None).await;
    assert!(n >= 3, "{n}");
    assert_eq!(text.lines().count() as u64, n);
    write.await.unwrap_or_else(|e| panic!("{e}"));
    let (n, _) = run(&reader, ExportMode::Leg, ExportFormat::Csv, None, None).await;
    assert_eq!(n, 3_003);
}

#[test]
fn formulas_in_text_cells_are_defused_phone_numbers_are_not() {
    use super::defuse_formula;
    assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(defuse_formula("-2+3"), "'-2+3");
    assert_eq!(defuse_formula("+1 555"), "'+1 555");
    assert_eq!(defuse_formula("\tx"), "'\tx");
    assert_eq!(defuse_formula("+15551234"), "+15551234");
    assert_eq!(defuse_formula("-1.5"), "-1.5");
    assert_eq!(defuse_formula("Alice"), "Alice");
    assert_eq!(defuse_formula(""), "");
}
