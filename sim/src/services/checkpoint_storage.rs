//! Checkpoint storage: a durable blob store keyed by path
//! (`chk-<id>/<vertex>-<subtask>`, `chk-<id>/_metadata`).
//!
//! Writes carry the writer's leader epoch; once a newer epoch has written,
//! older ones are rejected, so a stale leader cannot store the metadata (the
//! completed-checkpoint pointer's target) of a checkpoint it completed. The
//! test-only variant without fencing accepts any epoch.
//!
//! Asserted: a checkpoint's metadata is stored under its own id, only once
//! every task snapshot it names is stored; with fencing, a blob is never
//! overwritten by an older epoch nor replaced by other contents.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use halab_engine::checkpoint::{CompletedCheckpoint, OperatorState, StoredBlob};
use halab_engine::protocol::{StorageRequest, StorageResponse};

use super::Fencing;

/// A stored blob and the epoch that wrote it.
#[derive(Debug)]
struct Stored {
    epoch: u64,
    blob: StoredBlob,
}

#[derive(Debug)]
pub struct CheckpointStorage {
    blobs: Mutex<BTreeMap<String, Stored>>,
    newest_epoch: AtomicU64,
    fencing: Fencing,
}

impl CheckpointStorage {
    pub fn new(fencing: Fencing) -> Arc<Self> {
        Arc::new(CheckpointStorage {
            blobs: Mutex::new(BTreeMap::new()),
            newest_epoch: AtomicU64::new(0),
            fencing,
        })
    }

    pub fn handle(&self, req: StorageRequest) -> Option<StorageResponse> {
        let mut blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        Some(match req {
            StorageRequest::Put { key, blob, epoch } => self.put(&mut blobs, key, blob, epoch),
            StorageRequest::Get { key } => StorageResponse::Found(blobs.get(&key).map(|s| s.blob.clone())),
        })
    }

    /// Store `blob` under `key` unless a newer epoch has written (with
    /// fencing).
    fn put(&self, blobs: &mut BTreeMap<String, Stored>, key: String, blob: StoredBlob, epoch: u64) -> StorageResponse {
        let newest = self.newest_epoch.fetch_max(epoch, Ordering::Relaxed).max(epoch);
        if self.fencing.is_checked() && epoch < newest {
            return StorageResponse::Failed(format!("write of {key} by stale epoch {epoch} (newest {newest})"));
        }
        assert!(
            !self.fencing.is_checked() || epoch == newest,
            "invariant: with fencing only the newest epoch writes"
        );
        if let StoredBlob::Metadata(m) = &blob {
            assert_eq!(
                key,
                CompletedCheckpoint::metadata_key(m.id),
                "invariant: a checkpoint's metadata is stored under its own id"
            );
            assert!(
                m.states.values().all(|h| matches!(
                    blobs.get(&h.key),
                    Some(Stored {
                        blob: StoredBlob::Task(_),
                        ..
                    })
                )),
                "invariant: checkpoint {} completes only with every task snapshot stored",
                m.id
            );
        }
        if let Some(old) = blobs.get(&key) {
            assert!(
                !self.fencing.is_checked() || old.epoch <= epoch,
                "invariant: with fencing an older epoch never overwrites {key}"
            );
            assert!(
                !self.fencing.is_checked() || old.blob == blob,
                "invariant: with fencing a stored checkpoint's {key} is never replaced by other contents"
            );
        }
        blobs.insert(key, Stored { epoch, blob });
        StorageResponse::Stored
    }

    /// Records the sources had consumed in the latest completed checkpoint
    /// (whose metadata is stored): everything below can never be re-read.
    pub fn latest_consumed(&self) -> Option<u64> {
        let blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        let latest = blobs
            .values()
            .filter_map(|s| match &s.blob {
                StoredBlob::Metadata(m) => Some(m.clone()),
                StoredBlob::Task(_) => None,
            })
            .max_by_key(|m| m.id)?;
        let mut consumed = 0;
        for h in latest.states.values() {
            let Some(Stored {
                blob: StoredBlob::Task(t),
                ..
            }) = blobs.get(&h.key)
            else {
                panic!("invariant: checkpoint {} names only stored task snapshots", latest.id);
            };
            if let OperatorState::Source { offsets } = &t.operator {
                consumed += offsets.values().sum::<u64>();
            }
        }
        Some(consumed)
    }

    /// Every completed checkpoint (its stored metadata), by id.
    pub fn completed(&self) -> Vec<CompletedCheckpoint> {
        let blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        let mut out: Vec<CompletedCheckpoint> = blobs
            .values()
            .filter_map(|s| match &s.blob {
                StoredBlob::Metadata(m) => Some(CompletedCheckpoint::clone(m)),
                StoredBlob::Task(_) => None,
            })
            .collect();
        out.sort_by_key(|m| m.id);
        out
    }

    pub fn len(&self) -> usize {
        self.blobs.lock().expect("invariant: lock not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
