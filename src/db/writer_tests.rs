//! Tests of the group-commit writer: jobs are queued before the task starts, so the batching
//! is deterministic (no timing).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{RegistrationWriter, WriteJob, WriteOp, MAX_BATCH};
use crate::db::registrations::{self, RegistrationRow};
use crate::db::{Db, DbError};

fn row(aor: &str, contact: &str, expires_at: SystemTime) -> RegistrationRow {
    RegistrationRow {
        aor: aor.into(),
        contact: contact.into(),
        expires_at,
        q: None,
        call_id: "c@h".into(),
        cseq: 1,
        transport: "UDP".into(),
        source: SocketAddr::from(([192, 0, 2, 1], 5060)),
        local: SocketAddr::from(([127, 0, 0, 1], 15060)),
        flow_id: None,
        instance: None,
        reg_id: None,
        user_agent: None,
        path: None,
    }
}

fn upsert_op(n: usize, expires_at: SystemTime) -> WriteOp {
    let aor = format!("sip:{n}@switchboard.test");
    let contact = format!("sip:{n}@192.0.2.1:5060");
    WriteOp::Apply {
        upsert: vec![row(&aor, &contact, expires_at)],
        aor,
        remove: Vec::new(),
    }
}

async fn open() -> anyhow::Result<(tempfile::TempDir, Db)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("w.sqlite")).await?;
    Ok((dir, db))
}

/// Queues `ops` directly (the queue is larger than any test batch) and returns the acks.
async fn queue(
    writer: &RegistrationWriter,
    ops: Vec<WriteOp>,
) -> anyhow::Result<Vec<oneshot::Receiver<Result<u64, DbError>>>> {
    let mut acks = Vec::new();
    for op in ops {
        let (ack, done) = oneshot::channel();
        writer.jobs.send(WriteJob { op, ack }).await?;
        acks.push(done);
    }
    Ok(acks)
}

#[tokio::test]
async fn queued_changes_commit_in_one_batch() -> anyhow::Result<()> {
    let (_dir, db) = open().await?;
    let (writer, task) = RegistrationWriter::new(db.clone());
    let later = SystemTime::now() + Duration::from_secs(600);
    let acks = queue(&writer, (0..100).map(|n| upsert_op(n, later)).collect()).await?;
    tokio::spawn(task.run(CancellationToken::new()));
    for ack in acks {
        assert_eq!(ack.await??, 1);
    }
    assert_eq!(writer.stats().batches.load(Ordering::Relaxed), 1);
    assert_eq!(writer.stats().ops.load(Ordering::Relaxed), 100);
    assert_eq!(registrations::count(&db).await?, 100);
    Ok(())
}

#[tokio::test]
async fn batches_are_capped_at_max_batch() -> anyhow::Result<()> {
    let (_dir, db) = open().await?;
    let (writer, task) = RegistrationWriter::new(db.clone());
    let later = SystemTime::now() + Duration::from_secs(600);
    let n = MAX_BATCH + 10;
    let acks = queue(&writer, (0..n).map(|i| upsert_op(i, later)).collect()).await?;
    tokio::spawn(task.run(CancellationToken::new()));
    for ack in acks {
        ack.await??;
    }
    assert_eq!(writer.stats().batches.load(Ordering::Relaxed), 2);
    assert_eq!(registrations::count(&db).await?, u64::try_from(n)?);
    Ok(())
}

#[tokio::test]
async fn a_failing_change_does_not_undo_the_rest_of_its_batch() -> anyhow::Result<()> {
    let (_dir, db) = open().await?;
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON registrations \
         WHEN NEW.contact = 'sip:2@192.0.2.1:5060' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(db.pool())
    .await?;
    let (writer, task) = RegistrationWriter::new(db.clone());
    let later = SystemTime::now() + Duration::from_secs(600);
    let acks = queue(&writer, (0..5).map(|n| upsert_op(n, later)).collect()).await?;
    tokio::spawn(task.run(CancellationToken::new()));
    let mut outcomes = Vec::new();
    for ack in acks {
        outcomes.push(ack.await?.is_ok());
    }
    assert_eq!(outcomes, [true, true, false, true, true]);
    assert_eq!(writer.stats().batches.load(Ordering::Relaxed), 1);
    let stored: Vec<String> = registrations::load_all(&db)
        .await?
        .into_iter()
        .map(|r| r.aor)
        .collect();
    assert_eq!(stored.len(), 4);
    assert!(!stored.contains(&"sip:2@switchboard.test".to_owned()));
    Ok(())
}

#[tokio::test]
async fn shutdown_drains_the_queue_then_refuses() -> anyhow::Result<()> {
    let (_dir, db) = open().await?;
    let (writer, task) = RegistrationWriter::new(db.clone());
    let now = SystemTime::now();
    let mut ops: Vec<WriteOp> = (0..3)
        .map(|n| upsert_op(n, now + Duration::from_secs(600)))
        .collect();
    ops.push(upsert_op(9, now - Duration::from_secs(1)));
    ops.push(WriteOp::DeleteExpired { now });
    let acks = queue(&writer, ops).await?;
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    task.run(shutdown).await;
    let mut results = Vec::new();
    for ack in acks {
        results.push(ack.await??);
    }
    // Three upserts, the expired one, then the sweep deleting it.
    assert_eq!(results, [1, 1, 1, 1, 1]);
    assert_eq!(registrations::count(&db).await?, 3);
    assert!(matches!(
        writer.delete_expired(now).await,
        Err(DbError::WriterStopped)
    ));
    Ok(())
}
