use std::collections::HashMap;

use super::*;
use crate::switch::channel::{CallSource, Channel, ChannelSpec, Direction, Now, PartyId};

fn snapshot(name: &str) -> Arc<ChannelSnapshot> {
    Channel::new(
        ChannelSpec {
            name: name.into(),
            direction: Direction::Inbound,
            caller: PartyId::default(),
            exten: String::new(),
            context: "default".into(),
            call_source: CallSource::Dialplan,
            attribution: Default::default(),
            originator: None,
            sip_call_id: None,
        },
        Now::current(),
    )
    .snapshot()
}

fn var(i: usize) -> EventKind {
    EventKind::VarSet {
        name: "n".into(),
        value: Some(i.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_keep_per_channel_order_and_global_seq() {
    const TASKS: usize = 8;
    const PER_TASK: usize = 200;
    let bus = EventBus::new();
    // Small lossless queue: publishers really contend and wait.
    let mut rx = bus.subscribe_lossless("cdr", 16);
    let mut lossy = bus.subscribe_lossy("web", TASKS * PER_TASK);
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let bus = bus.clone();
        handles.push(tokio::spawn(async move {
            let snap = snapshot(&format!("T{t}"));
            for i in 0..PER_TASK {
                bus.publish(Arc::clone(&snap), var(i)).await;
            }
        }));
    }
    let mut last_seq = 0;
    let mut next: HashMap<String, usize> = HashMap::new();
    for _ in 0..TASKS * PER_TASK {
        let ev = rx.recv().await.expect("event");
        assert!(
            ev.seq > last_seq,
            "global seq increases: {} after {last_seq}",
            ev.seq
        );
        last_seq = ev.seq;
        let EventKind::VarSet { value: Some(v), .. } = &ev.kind else {
            panic!("kind")
        };
        let want = next.entry(ev.snapshot.name.clone()).or_insert(0);
        assert_eq!(
            v,
            &want.to_string(),
            "per-channel order of {}",
            ev.snapshot.name
        );
        *want += 1;
    }
    for h in handles {
        h.await.expect("publisher");
    }
    assert_eq!(bus.last_seq(), (TASKS * PER_TASK) as u64);
    // The lossy consumer saw the same global order.
    let mut prev = 0;
    while let Ok(ev) = lossy.try_recv() {
        assert!(ev.seq > prev);
        prev = ev.seq;
    }
    assert_eq!(prev, (TASKS * PER_TASK) as u64);
}

#[tokio::test(start_paused = true)]
async fn lossy_consumer_that_never_reads_never_blocks_the_publisher() {
    let bus = EventBus::new();
    let _rx = bus.subscribe_lossy("web", 4);
    let snap = snapshot("A");
    let all = async {
        for i in 0..100 {
            bus.publish(Arc::clone(&snap), var(i)).await;
        }
    };
    // Paused time: had a publish blocked, the runtime would idle and the timeout fire.
    tokio::time::timeout(Duration::from_secs(1), all)
        .await
        .expect("publish never blocks");
    let stats = bus.stats();
    let web = &stats.consumers[0];
    assert_eq!((web.delivered, web.dropped, web.queued), (4, 96, 4));
    assert_eq!(web.waits, 0);
    assert_eq!(stats.published, 100);
}

#[tokio::test(start_paused = true)]
async fn lossless_consumer_back_pressure_is_waited_for_and_measured() {
    let bus = EventBus::new();
    let mut rx = bus.subscribe_lossless("cdr", 1);
    let snap = snapshot("A");
    bus.publish(Arc::clone(&snap), var(0)).await; // fills the queue
    let publisher = {
        let bus = bus.clone();
        let snap = Arc::clone(&snap);
        tokio::spawn(async move { bus.publish(snap, var(1)).await })
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        !publisher.is_finished(),
        "publisher waits while the lossless queue is full"
    );
    assert_eq!(rx.recv().await.expect("first").seq, 1);
    let seq = tokio::time::timeout(Duration::from_secs(1), publisher)
        .await
        .expect("released once there is room")
        .expect("task");
    assert_eq!(seq, 2);
    assert_eq!(rx.recv().await.expect("second").seq, 2);
    let cdr = &bus.stats().consumers[0];
    assert_eq!((cdr.delivered, cdr.dropped, cdr.waits), (2, 0, 1));
    assert!(
        cdr.wait_total >= Duration::from_millis(250),
        "{:?}",
        cdr.wait_total
    );
    assert_eq!(cdr.wait_max, cdr.wait_total);
}

#[tokio::test(start_paused = true)]
async fn closed_consumers_are_removed() {
    let bus = EventBus::new();
    let lossy = bus.subscribe_lossy("web", 4);
    let lossless = bus.subscribe_lossless("cdr", 4);
    let mut keep = bus.subscribe_lossless("acd", 4);
    drop(lossy);
    drop(lossless);
    bus.publish(snapshot("A"), EventKind::ChannelCreated).await;
    let stats = bus.stats();
    assert_eq!(stats.removed_consumers, 2);
    assert_eq!(stats.consumers.len(), 1);
    assert_eq!(stats.consumers[0].name, "acd");
    assert_eq!(keep.recv().await.expect("kept consumer").seq, 1);
}

#[tokio::test(start_paused = true)]
async fn lossless_consumer_closing_while_publisher_waits_releases_it() {
    let bus = EventBus::new();
    let rx = bus.subscribe_lossless("cdr", 1);
    let snap = snapshot("A");
    bus.publish(Arc::clone(&snap), var(0)).await;
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move { bus.publish(snap, var(1)).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!publisher.is_finished());
    drop(rx);
    tokio::time::timeout(Duration::from_secs(1), publisher)
        .await
        .expect("released by the close")
        .expect("task");
    assert!(bus.stats().consumers.is_empty());
    assert_eq!(bus.stats().removed_consumers, 1);
}

#[tokio::test(start_paused = true)]
async fn event_envelope_carries_channel_snapshot_and_time() {
    let bus = EventBus::new();
    let mut rx = bus.subscribe_lossless("cdr", DEFAULT_LOSSLESS_CAPACITY);
    let snap = snapshot("A");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    bus.publish_at(Arc::clone(&snap), EventKind::Answered, at)
        .await;
    let ev = rx.recv().await.expect("event");
    assert_eq!(ev.channel, snap.id);
    assert!(Arc::ptr_eq(&ev.snapshot, &snap));
    assert_eq!(ev.at, at);
    assert_eq!(ev.kind.name(), "ANSWERED");
}
