//! Checkpoint storage: a durable blob store keyed by path
//! (`chk-<id>/<vertex>-<subtask>`, `chk-<id>/_metadata`).
//!
//! Writes carry the writer's leader epoch; once a newer epoch has written,
//! older ones are rejected, so a stale leader cannot store the metadata (the
//! completed-checkpoint pointer's target) of a checkpoint it completed. The
//! test-only variant without fencing accepts any epoch.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use halab_engine::checkpoint::{OperatorState, StoredBlob};
use halab_engine::protocol::{StorageRequest, StorageResponse};

#[derive(Debug, Default)]
pub struct CheckpointStorage {
    blobs: Mutex<BTreeMap<String, StoredBlob>>,
    newest_epoch: AtomicU64,
    fencing: bool,
}

impl CheckpointStorage {
    pub fn new(fencing: bool) -> Arc<Self> {
        Arc::new(CheckpointStorage {
            fencing,
            ..Self::default()
        })
    }

    pub fn handle(&self, req: StorageRequest) -> Option<StorageResponse> {
        let mut blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        Some(match req {
            StorageRequest::Put { key, blob, epoch } => {
                let newest = self.newest_epoch.fetch_max(epoch, Ordering::Relaxed).max(epoch);
                if self.fencing && epoch < newest {
                    return Some(StorageResponse::Failed(format!(
                        "write of {key} by stale epoch {epoch} (newest {newest})"
                    )));
                }
                blobs.insert(key, blob);
                StorageResponse::Stored
            }
            StorageRequest::Get { key } => StorageResponse::Found(blobs.get(&key).cloned()),
        })
    }

    /// Records the sources had consumed in the latest completed checkpoint
    /// (whose metadata is stored): everything below can never be re-read.
    pub fn latest_consumed(&self) -> Option<u64> {
        let blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        let latest = blobs
            .values()
            .filter_map(|b| match b {
                StoredBlob::Metadata(m) => Some(m.clone()),
                StoredBlob::Task(_) => None,
            })
            .max_by_key(|m| m.id)?;
        let mut consumed = 0;
        for h in latest.states.values() {
            if let Some(StoredBlob::Task(t)) = blobs.get(&h.key) {
                if let OperatorState::Source { offsets } = &t.operator {
                    consumed += offsets.values().sum::<u64>();
                }
            }
        }
        Some(consumed)
    }

    pub fn len(&self) -> usize {
        self.blobs.lock().expect("invariant: lock not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
