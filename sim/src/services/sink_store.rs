//! The transactional sink store.
//!
//! Transactions are written, pre-committed, then committed (idempotently) or
//! aborted. Committed records become visible in commit order; that list is
//! what the exactly-once checker reads. Fencing: each sink subtask has a fence
//! (the newest attempt that announced itself); requests from older attempts are
//! rejected, so a stale task cannot change committed output. Aborting a
//! transaction that already committed changes nothing (as with XA, whose
//! committed transactions are forgotten).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use halab_engine::protocol::{SinkRequest, SinkResponse};
use halab_engine::record::Record;
use halab_engine::sink::TxnId;
use halab_engine::trace::{TraceEvent, Tracer};

use crate::reference::SourceContent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxnState {
    Open,
    PreCommitted,
    Committed,
    Aborted,
}

#[derive(Debug)]
struct Txn {
    state: TxnState,
    records: Vec<Record>,
    /// A write was refused; the transaction can no longer pre-commit.
    poisoned: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Per sink instance (vertex, subtask): the newest attempt seen.
    fences: BTreeMap<(u32, u32), u32>,
    txns: BTreeMap<TxnId, Txn>,
    committed: Vec<Record>,
    rejected: u64,
    /// Which source records have at least one committed output.
    seen: Vec<bool>,
    /// Window results committed, by (key, window start).
    windows: std::collections::BTreeSet<(u64, u64)>,
    distinct: u64,
}

/// The sink store's state (shared with the harness and the checkers).
#[derive(Debug)]
pub struct SinkStore {
    inner: Mutex<Inner>,
    content: SourceContent,
    tracer: Tracer,
    node: String,
}

impl SinkStore {
    /// `content` sizes the bookkeeping of distinct committed records.
    pub fn new(tracer: Tracer, node: &str, content: SourceContent) -> Arc<Self> {
        Arc::new(SinkStore {
            inner: Mutex::new(Inner {
                seen: vec![false; content.total() as usize],
                ..Inner::default()
            }),
            content,
            tracer,
            node: node.to_string(),
        })
    }

    fn reject(&self, inner: &mut Inner, why: String) -> SinkResponse {
        inner.rejected += 1;
        self.tracer.record(
            &self.node,
            TraceEvent::RequestRejected {
                service: "sink-store".into(),
                reason: why.clone(),
            },
        );
        SinkResponse::Rejected(why)
    }

    fn stale(inner: &Inner, vertex: u32, subtask: u32, by: u32) -> Option<String> {
        let fence = inner.fences.get(&(vertex, subtask)).copied().unwrap_or(0);
        (by < fence).then(|| format!("attempt {by} of sink subtask {subtask} is fenced by attempt {fence}"))
    }

    pub fn handle(&self, req: SinkRequest) -> Option<SinkResponse> {
        let mut g = self.inner.lock().expect("invariant: lock not poisoned");
        let inner = &mut *g;
        match req {
            SinkRequest::Fence { vertex, subtask, by } => Some(match Self::stale(inner, vertex, subtask, by) {
                Some(why) => self.reject(inner, why),
                None => {
                    inner.fences.insert((vertex, subtask), by);
                    SinkResponse::Ok
                }
            }),
            SinkRequest::Write { txn, by, records } => {
                let refusal = Self::stale(inner, txn.vertex, txn.subtask, by).or_else(|| {
                    (by != txn.attempt).then(|| format!("attempt {by} writes into {txn} of another attempt"))
                });
                let t = inner.txns.entry(txn).or_insert_with(|| Txn {
                    state: TxnState::Open,
                    records: Vec::new(),
                    poisoned: false,
                });
                Some(match (refusal, t.state) {
                    (None, TxnState::Open) => {
                        t.records.extend(records);
                        SinkResponse::Ok
                    }
                    (Some(why), _) => {
                        t.poisoned = true;
                        self.reject(inner, why)
                    }
                    (None, s) => {
                        t.poisoned = true;
                        self.reject(inner, format!("write into {txn} in state {s:?}"))
                    }
                })
            }
            SinkRequest::PreCommit { txn, by } => {
                if let Some(why) = Self::stale(inner, txn.vertex, txn.subtask, by) {
                    return Some(self.reject(inner, why));
                }
                let t = inner.txns.entry(txn).or_insert_with(|| Txn {
                    state: TxnState::Open,
                    records: Vec::new(),
                    poisoned: false,
                });
                Some(match t.state {
                    TxnState::Open if !t.poisoned => {
                        t.state = TxnState::PreCommitted;
                        SinkResponse::Ok
                    }
                    TxnState::PreCommitted => SinkResponse::Ok,
                    s => {
                        let why = format!("pre-commit of {txn} in state {s:?} (poisoned: {})", t.poisoned);
                        self.reject(inner, why)
                    }
                })
            }
            SinkRequest::Commit { txn, by } => {
                if let Some(why) = Self::stale(inner, txn.vertex, txn.subtask, by) {
                    return Some(self.reject(inner, why));
                }
                let Some(t) = inner.txns.get_mut(&txn) else {
                    return Some(self.reject(inner, format!("commit of unknown {txn}")));
                };
                Some(match t.state {
                    TxnState::Committed => SinkResponse::Ok,
                    TxnState::PreCommitted => {
                        t.state = TxnState::Committed;
                        let records = std::mem::take(&mut t.records);
                        self.tracer.record(
                            &self.node,
                            TraceEvent::TxnCommitted {
                                txn: txn.to_string(),
                                records: records.len() as u64,
                            },
                        );
                        for r in &records {
                            if let Some(start) = r.origin.window_start() {
                                if inner.windows.insert((r.key, start)) {
                                    inner.distinct += 1;
                                }
                            } else if self.content.contains(r.origin) {
                                let i = (u64::from(r.origin.partition) * self.content.records_per_partition
                                    + r.origin.offset) as usize;
                                if !inner.seen[i] {
                                    inner.seen[i] = true;
                                    inner.distinct += 1;
                                }
                            }
                        }
                        inner.committed.extend(records);
                        SinkResponse::Ok
                    }
                    s => self.reject(inner, format!("commit of {txn} in state {s:?}")),
                })
            }
            SinkRequest::Abort { txn, by } => {
                if let Some(why) = Self::stale(inner, txn.vertex, txn.subtask, by) {
                    return Some(self.reject(inner, why));
                }
                match inner.txns.get_mut(&txn) {
                    // Like XA, a committed transaction is forgotten: rolling it
                    // back finds nothing to undo, and recovery code treats
                    // that as done (Flink's XA sink ignores XAER_NOTA there).
                    Some(t) if t.state == TxnState::Committed => {
                        self.tracer.record(
                            &self.node,
                            TraceEvent::Note {
                                text: format!("abort of committed {txn}: nothing to undo"),
                            },
                        );
                        Some(SinkResponse::Ok)
                    }
                    Some(t) => {
                        t.state = TxnState::Aborted;
                        t.records.clear();
                        self.tracer
                            .record(&self.node, TraceEvent::TxnAborted { txn: txn.to_string() });
                        Some(SinkResponse::Ok)
                    }
                    None => {
                        inner.txns.insert(
                            txn,
                            Txn {
                                state: TxnState::Aborted,
                                records: Vec::new(),
                                poisoned: false,
                            },
                        );
                        Some(SinkResponse::Ok)
                    }
                }
            }
        }
    }

    /// Committed records, in commit order.
    pub fn committed(&self) -> Vec<Record> {
        self.inner
            .lock()
            .expect("invariant: lock not poisoned")
            .committed
            .clone()
    }

    pub fn committed_len(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").committed.len() as u64
    }

    /// Distinct outputs committed: source records with at least one
    /// committed output, plus distinct window results.
    pub fn distinct_committed(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").distinct
    }

    /// Requests refused (fencing or protocol misuse).
    pub fn rejected(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").rejected
    }
}
