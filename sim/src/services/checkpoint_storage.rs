//! Checkpoint storage: a durable blob store keyed by path
//! (`chk-<id>/<vertex>-<subtask>`, `chk-<id>/_metadata`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use halab_engine::checkpoint::StoredBlob;
use halab_engine::protocol::{StorageRequest, StorageResponse};

#[derive(Debug, Default)]
pub struct CheckpointStorage {
    blobs: Mutex<BTreeMap<String, StoredBlob>>,
}

impl CheckpointStorage {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn handle(&self, req: StorageRequest) -> Option<StorageResponse> {
        let mut blobs = self.blobs.lock().expect("invariant: lock not poisoned");
        Some(match req {
            StorageRequest::Put { key, blob } => {
                blobs.insert(key, blob);
                StorageResponse::Stored
            }
            StorageRequest::Get { key } => StorageResponse::Found(blobs.get(&key).cloned()),
        })
    }

    pub fn len(&self) -> usize {
        self.blobs.lock().expect("invariant: lock not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
