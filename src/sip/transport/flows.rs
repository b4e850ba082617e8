//! The connection table: FlowId → writer queue, plus an index by (TLS?, remote address) so
//! that a request to a registered contact reuses the connection the contact registered over
//! (RFC 5626 §5.3, "as far as a registrar needs"; we do not implement `ob`/`reg-id`).
//!
//! Depends on nothing but tokio's mpsc; connection tasks insert and remove entries.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{FlowId, TransportError};
use crate::sip::message::Transport;

/// A snapshot of one open TCP/TLS connection.
#[derive(Clone, Debug)]
pub struct Flow {
    /// The flow's id.
    pub id: FlowId,
    /// TCP or TLS.
    pub transport: Transport,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Our end's address.
    pub local: SocketAddr,
}

/// One table entry: the flow and its writer queue.
struct Entry {
    flow: Flow,
    tx: mpsc::Sender<Bytes>,
}

/// Both maps under one lock so they never disagree.
#[derive(Default)]
struct Maps {
    by_id: HashMap<FlowId, Entry>,
    /// Latest connection per (is TLS, remote address).
    by_remote: HashMap<(bool, SocketAddr), FlowId>,
}

/// The table of open connections.
#[derive(Default)]
pub(super) struct FlowTable {
    /// std Mutex: held only for short map operations, never across an await.
    maps: Mutex<Maps>,
}

impl FlowTable {
    /// Registers a new connection.
    pub(super) fn insert(&self, flow: Flow, tx: mpsc::Sender<Bytes>) {
        let tls = matches!(flow.transport, Transport::Tls);
        let mut maps = self.lock();
        maps.by_remote.insert((tls, flow.remote), flow.id);
        maps.by_id.insert(flow.id, Entry { flow, tx });
    }

    /// Removes a closed connection (and its index entry if it still points at it).
    pub(super) fn remove(&self, id: FlowId) {
        let mut maps = self.lock();
        if let Some(entry) = maps.by_id.remove(&id) {
            let tls = matches!(entry.flow.transport, Transport::Tls);
            let key = (tls, entry.flow.remote);
            if maps.by_remote.get(&key) == Some(&id) {
                maps.by_remote.remove(&key);
            }
        }
    }

    /// The open connection to use for a target: `preferred` if open and of the right kind,
    /// else the latest connection to `addr`.
    pub(super) fn find(
        &self,
        preferred: Option<FlowId>,
        tls: bool,
        addr: SocketAddr,
    ) -> Option<FlowId> {
        let maps = self.lock();
        if let Some(id) = preferred {
            if let Some(entry) = maps.by_id.get(&id) {
                if matches!(entry.flow.transport, Transport::Tls) == tls {
                    return Some(id);
                }
            }
        }
        maps.by_remote.get(&(tls, addr)).copied()
    }

    /// Queues bytes on a connection's writer without waiting.
    pub(super) fn enqueue(&self, id: FlowId, bytes: Bytes) -> Result<(), TransportError> {
        let tx = {
            let maps = self.lock();
            match maps.by_id.get(&id) {
                Some(entry) => entry.tx.clone(),
                None => return Err(TransportError::FlowClosed(id)),
            }
        };
        tx.try_send(bytes).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TransportError::Congested(id),
            mpsc::error::TrySendError::Closed(_) => TransportError::FlowClosed(id),
        })
    }

    /// A snapshot of flow `id`.
    pub(super) fn get(&self, id: FlowId) -> Option<Flow> {
        self.lock().by_id.get(&id).map(|e| e.flow.clone())
    }

    /// Number of open connections.
    pub(super) fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A poisoned lock only means another thread panicked mid-update of plain maps;
        // the maps themselves stay consistent (each update is a single insert/remove pair).
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Key of a destination: (is TLS, remote address).
type DestKey = (bool, SocketAddr);

/// An async lock held while connecting to one destination.
type ConnectLock = Arc<tokio::sync::Mutex<()>>;

/// Per-destination locks that serialise outbound connects, so concurrent sends to a target
/// without an open connection share one new connection instead of racing to open several.
#[derive(Default)]
pub(super) struct ConnectLocks {
    /// std Mutex: held only to look up or drop an entry, never across an await.
    map: Mutex<HashMap<DestKey, ConnectLock>>,
}

impl ConnectLocks {
    /// The lock for a destination (created on first use).
    pub(super) fn get(&self, key: DestKey) -> ConnectLock {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().clone()
    }

    /// Drops the entry once no other sender holds or waits for it.
    pub(super) fn release(&self, key: DestKey, lock: ConnectLock) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Clones are only made under this std lock, so the count is stable here:
        // one reference in the map plus ours means nobody else is interested.
        if Arc::strong_count(&lock) <= 2 {
            map.remove(&key);
        }
    }
}
