//! The transactional sink store.
//!
//! Transactions are written, pre-committed, then committed (idempotently) or
//! aborted. Committed records become visible in commit order: the store
//! hands each to the run's output check ([`OutputCheck`]) as its transaction
//! commits, and keeps only their count.
//!
//! Transaction ids are reused, as Flink's KafkaSink reuses transactional ids:
//! an attempt that restarts from checkpoint C writes `txn-…-(C+1)` again. The
//! store tells the two apart by the writer's fencing token (leader epoch,
//! attempt), as Kafka does by the producer epoch: the first write of a newer
//! token to an id begins a new transaction under it and drops what an older
//! token left open. Each sink subtask also has a fence (the newest token that
//! announced itself); requests with older tokens are rejected, so a zombie
//! task cannot write into, pre-commit or commit its successor's transaction.
//! Aborting a transaction that already committed changes nothing (as with XA,
//! whose committed transactions are forgotten).
//!
//! The test-only variant without fencing ignores tokens altogether, like a
//! transactional store without producer epochs: a zombie's writes then land
//! in whatever transaction is open under the id.
//!
//! Asserted: a committed transaction has handed out its records, so a
//! repeated commit adds none; with fencing, a write lands only in its
//! writer's own transaction and never from a fenced token, and each commit
//! under an id is of a newer owner than the one before.

use crate::latency::{LatencyHistogram, LatencySummary};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use halab_engine::protocol::{FencingToken, SinkRequest, SinkResponse};
use halab_engine::record::Record;
use halab_engine::sink::TxnId;
use halab_engine::trace::{TraceEvent, Tracer};

use crate::checkers::output::OutputCheck;

use super::Fencing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxnState {
    Open,
    PreCommitted,
    Committed,
    Aborted,
}

/// The transaction currently under an id.
#[derive(Debug)]
struct Txn {
    /// The token that began it.
    owner: FencingToken,
    state: TxnState,
    /// Written records, one chunk per write (kept as sent, not copied).
    records: Vec<Vec<Record>>,
    /// A write was refused; the transaction can no longer pre-commit.
    poisoned: bool,
}

impl Txn {
    fn new(owner: FencingToken, state: TxnState) -> Txn {
        Txn {
            owner,
            state,
            records: Vec::new(),
            poisoned: false,
        }
    }
}

#[derive(Debug)]
struct Inner {
    /// Per sink instance (vertex, subtask): the newest token seen.
    fences: BTreeMap<(u32, u32), FencingToken>,
    txns: BTreeMap<TxnId, Txn>,
    /// Per transaction id, the owner of its latest commit.
    last_commit: BTreeMap<TxnId, FencingToken>,
    /// Fed every committed record, in commit order; taken at the end of the
    /// run.
    check: Option<OutputCheck>,
    committed_len: u64,
    rejected: u64,
    /// End-to-end latency of every committed record.
    latency: LatencyHistogram,
    /// Every commit, in order, when a history was asked for.
    log: Option<Vec<CommittedTxn>>,
}

/// One committed transaction: when, which, and its records in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommittedTxn {
    pub t_ms: u64,
    pub txn: String,
    pub records: Vec<Record>,
}

/// The sink store's state (shared with the harness and the checkers).
#[derive(Debug)]
pub struct SinkStore {
    inner: Mutex<Inner>,
    tracer: Tracer,
    node: String,
    /// Ignored only in the test-only variant that must be caught.
    fencing: Fencing,
}

/// What a request may do with the transaction under its id.
enum Access {
    /// It belongs to the requester (or the requester may take it over).
    Mine,
    /// A newer token owns it.
    Newer(FencingToken),
}

impl SinkStore {
    /// `fencing` is ignored only in the test-only broken variant; `check`
    /// is fed every committed record.
    pub fn new(tracer: Tracer, node: &str, fencing: Fencing, check: OutputCheck) -> Arc<Self> {
        Arc::new(SinkStore {
            inner: Mutex::new(Inner {
                fences: BTreeMap::new(),
                txns: BTreeMap::new(),
                last_commit: BTreeMap::new(),
                check: Some(check),
                committed_len: 0,
                rejected: 0,
                latency: LatencyHistogram::default(),
                log: None,
            }),
            tracer,
            node: node.to_string(),
            fencing,
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

    fn stale(&self, inner: &Inner, vertex: u32, subtask: u32, by: FencingToken) -> Option<String> {
        let fence = inner.fences.get(&(vertex, subtask)).copied().unwrap_or_default();
        (self.fencing.is_checked() && by < fence)
            .then(|| format!("{by} of sink subtask {subtask} is fenced by {fence}"))
    }

    fn access(&self, t: &Txn, by: FencingToken) -> Access {
        if self.fencing.is_checked() && t.owner > by {
            Access::Newer(t.owner)
        } else {
            Access::Mine
        }
    }

    /// Make `txn` an open transaction of `by` if a write or pre-commit by
    /// `by` begins a new one under this id: the id is new, the transaction
    /// under it ended (aborted or committed; Kafka starts a new transaction
    /// under a transactional id after either), or an older token left it
    /// open or pre-committed (it is dropped, as Kafka aborts it when a newer
    /// producer epoch initialises the id).
    fn begin_if_new(&self, inner: &mut Inner, txn: TxnId, by: FencingToken) {
        let fencing = self.fencing.is_checked();
        let superseded = match inner.txns.get(&txn) {
            None => {
                inner.txns.insert(txn, Txn::new(by, TxnState::Open));
                return;
            }
            Some(t) if fencing && t.owner > by => return,
            Some(t) if fencing && t.owner < by => matches!(t.state, TxnState::Open | TxnState::PreCommitted),
            Some(t) if matches!(t.state, TxnState::Aborted) => false,
            Some(t) if matches!(t.state, TxnState::Committed) && (t.owner < by || !fencing) => false,
            Some(_) => return,
        };
        if let Some(t) = inner.txns.get(&txn) {
            assert!(
                !fencing || t.owner <= by,
                "invariant: with fencing only a token as new as the owner begins a transaction under {txn}"
            );
            assert!(
                !fencing || t.state != TxnState::Committed || t.owner < by,
                "invariant: with fencing a committed {txn} is begun again only by a newer token"
            );
        }
        if superseded {
            self.tracer.record(
                &self.node,
                TraceEvent::Note {
                    text: format!("{txn} begun again by {by}; the older transaction is dropped"),
                },
            );
        }
        inner.txns.insert(txn, Txn::new(by, TxnState::Open));
    }

    pub fn handle(&self, req: SinkRequest) -> Option<SinkResponse> {
        let mut g = self.inner.lock().expect("invariant: lock not poisoned");
        let inner = &mut *g;
        let (vertex, subtask, by) = match &req {
            SinkRequest::Fence { vertex, subtask, by } => (*vertex, *subtask, *by),
            SinkRequest::Write { txn, by, .. }
            | SinkRequest::PreCommit { txn, by, .. }
            | SinkRequest::Commit { txn, by }
            | SinkRequest::Abort { txn, by } => (txn.vertex, txn.subtask, *by),
        };
        if let Some(why) = self.stale(inner, vertex, subtask, by) {
            return Some(self.reject(inner, why));
        }
        Some(match req {
            SinkRequest::Fence { vertex, subtask, by } => {
                let fence = inner.fences.entry((vertex, subtask)).or_default();
                *fence = (*fence).max(by);
                SinkResponse::Ok
            }
            SinkRequest::Write { txn, by, records } => self.write(inner, txn, by, records),
            SinkRequest::PreCommit { txn, by, last } => self.flush(inner, txn, by, last),
            SinkRequest::Commit { txn, by } => self.commit(inner, txn, by),
            SinkRequest::Abort { txn, by } => self.abort(inner, txn, by),
        })
    }

    /// Add `records` to `txn` if it is open, unpoisoned and `by`'s; a
    /// refused write by the owner poisons it.
    fn write(&self, inner: &mut Inner, txn: TxnId, by: FencingToken, records: Vec<Record>) -> SinkResponse {
        self.begin_if_new(inner, txn, by);
        let fence = inner
            .fences
            .get(&(txn.vertex, txn.subtask))
            .copied()
            .unwrap_or_default();
        let t = inner.txns.get_mut(&txn).expect("invariant: begun above");
        let refusal = match (self.access(t, by), t.state) {
            (Access::Newer(owner), _) => Some(format!("{by} writes into {txn} of {owner}")),
            (Access::Mine, TxnState::Open) if !t.poisoned => None,
            (Access::Mine, s) => Some(format!("write into {txn} in state {s:?} (poisoned: {})", t.poisoned)),
        };
        match refusal {
            None => {
                assert!(
                    !self.fencing.is_checked() || (t.owner == by && by >= fence),
                    "invariant: with fencing a write lands only in the writer's own transaction, never fenced"
                );
                if !records.is_empty() {
                    t.records.push(records);
                }
                SinkResponse::Ok
            }
            Some(why) => {
                if t.owner == by {
                    t.poisoned = true;
                }
                self.reject(inner, why)
            }
        }
    }

    /// Write `last`, if any, then pre-commit: one request, so a refused
    /// write refuses the pre-commit too.
    fn flush(&self, inner: &mut Inner, txn: TxnId, by: FencingToken, last: Vec<Record>) -> SinkResponse {
        if !last.is_empty() {
            let written = self.write(inner, txn, by, last);
            if written != SinkResponse::Ok {
                return written;
            }
        }
        self.pre_commit(inner, txn, by)
    }

    fn pre_commit(&self, inner: &mut Inner, txn: TxnId, by: FencingToken) -> SinkResponse {
        self.begin_if_new(inner, txn, by);
        let t = inner.txns.get_mut(&txn).expect("invariant: begun above");
        match (self.access(t, by), t.state) {
            (Access::Newer(owner), _) => self.reject(inner, format!("{by} pre-commits {txn} of {owner}")),
            (Access::Mine, TxnState::Open) if !t.poisoned => {
                t.state = TxnState::PreCommitted;
                SinkResponse::Ok
            }
            (Access::Mine, TxnState::PreCommitted) => SinkResponse::Ok,
            (Access::Mine, s) => {
                let why = format!("pre-commit of {txn} in state {s:?} (poisoned: {})", t.poisoned);
                self.reject(inner, why)
            }
        }
    }

    fn commit(&self, inner: &mut Inner, txn: TxnId, by: FencingToken) -> SinkResponse {
        let Some(t) = inner.txns.get_mut(&txn) else {
            return self.reject(inner, format!("commit of unknown {txn}"));
        };
        // A newer attempt may commit what an older one pre-committed
        // (recovery after restore, like KafkaSink resuming a transaction by
        // its stored producer id and epoch).
        match (self.access(t, by), t.state) {
            (Access::Newer(owner), _) => self.reject(inner, format!("{by} commits {txn} of {owner}")),
            (Access::Mine, TxnState::Committed) => {
                assert!(
                    t.records.is_empty(),
                    "invariant: {txn} handed out its records when it committed; committing again adds none"
                );
                SinkResponse::Ok
            }
            (Access::Mine, TxnState::PreCommitted) => {
                t.state = TxnState::Committed;
                let owner = t.owner;
                let chunks = std::mem::take(&mut t.records);
                let previous = inner.last_commit.insert(txn, owner);
                assert!(
                    !self.fencing.is_checked() || (owner <= by && previous.is_none_or(|p| p < owner)),
                    "invariant: with fencing {txn} of {owner} commits once, by a token as new as its owner"
                );
                self.publish(inner, txn, chunks);
                SinkResponse::Ok
            }
            (Access::Mine, s) => self.reject(inner, format!("commit of {txn} in state {s:?}")),
        }
    }

    /// A transaction committed: trace it, and hand its records, in order,
    /// to the output check, the latency histogram and the log.
    fn publish(&self, inner: &mut Inner, txn: TxnId, chunks: Vec<Vec<Record>>) {
        let len: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        self.tracer.record(
            &self.node,
            TraceEvent::TxnCommitted {
                txn: txn.to_string(),
                records: len,
            },
        );
        let now = self.tracer.now_ms();
        let Inner {
            check, latency, log, ..
        } = &mut *inner;
        if let Some(log) = log.as_mut() {
            log.push(CommittedTxn {
                t_ms: now,
                txn: txn.to_string(),
                records: chunks.iter().flatten().copied().collect(),
            });
        }
        for r in chunks.iter().flatten() {
            if let Some(c) = check.as_mut() {
                c.observe(r);
            }
            latency.record(now.saturating_sub(r.timestamp_ms));
        }
        inner.committed_len += len;
    }

    fn abort(&self, inner: &mut Inner, txn: TxnId, by: FencingToken) -> SinkResponse {
        match inner.txns.get_mut(&txn) {
            Some(t) if matches!(self.access(t, by), Access::Newer(_)) => {
                let why = format!("{by} aborts {txn} of {}", t.owner);
                self.reject(inner, why)
            }
            // Like XA, a committed transaction is forgotten: rolling it back
            // finds nothing to undo, and recovery code treats that as done
            // (Flink's XA sink ignores XAER_NOTA there).
            Some(t) if t.state == TxnState::Committed => {
                assert!(
                    t.records.is_empty(),
                    "invariant: {txn} handed out its records when it committed; an abort finds none"
                );
                self.tracer.record(
                    &self.node,
                    TraceEvent::Note {
                        text: format!("abort of committed {txn}: nothing to undo"),
                    },
                );
                SinkResponse::Ok
            }
            Some(t) => {
                t.state = TxnState::Aborted;
                t.owner = t.owner.max(by);
                t.records.clear();
                self.tracer
                    .record(&self.node, TraceEvent::TxnAborted { txn: txn.to_string() });
                SinkResponse::Ok
            }
            None => {
                inner.txns.insert(txn, Txn::new(by, TxnState::Aborted));
                SinkResponse::Ok
            }
        }
    }

    /// Keep every commit from now on, for a run history.
    pub fn keep_log(&self) {
        self.inner.lock().expect("invariant: lock not poisoned").log = Some(Vec::new());
    }

    /// The commits kept since [`Self::keep_log`]; `None` without it.
    pub fn take_log(&self) -> Option<Vec<CommittedTxn>> {
        self.inner.lock().expect("invariant: lock not poisoned").log.take()
    }

    /// Takes the output check out of the store (at the end of a run); `None`
    /// if it was taken before.
    pub fn take_check(&self) -> Option<OutputCheck> {
        self.inner.lock().expect("invariant: lock not poisoned").check.take()
    }

    pub fn committed_len(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").committed_len
    }

    /// Distinct expected outputs committed, as the output check counts them
    /// ([`OutputCheck::distinct`]); 0 once the check was taken.
    pub fn distinct_committed(&self) -> u64 {
        let g = self.inner.lock().expect("invariant: lock not poisoned");
        g.check.as_ref().map_or(0, OutputCheck::distinct)
    }

    /// Distinct outputs a complete run commits ([`OutputCheck::expected`]);
    /// 0 once the check was taken.
    pub fn expected_outputs(&self) -> u64 {
        let g = self.inner.lock().expect("invariant: lock not poisoned");
        g.check.as_ref().map_or(0, OutputCheck::expected)
    }

    /// Mean and max end-to-end latency (ms) of the records committed since
    /// the last call.
    pub fn take_latency_window(&self) -> (u64, u64) {
        self.inner
            .lock()
            .expect("invariant: lock not poisoned")
            .latency
            .take_window()
    }

    /// End-to-end latency over the run so far.
    pub fn latency(&self) -> LatencySummary {
        self.inner
            .lock()
            .expect("invariant: lock not poisoned")
            .latency
            .summary()
    }

    /// Requests refused (fencing or protocol misuse).
    pub fn rejected(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").rejected
    }
}

#[cfg(test)]
mod tests {
    use halab_engine::record::Origin;

    use super::*;

    fn store(fencing: Fencing) -> Arc<SinkStore> {
        SinkStore::new(Tracer::new(), "sink-store", fencing, OutputCheck::Keep(Vec::new()))
    }

    /// The records `s` committed, in commit order.
    fn committed(s: &SinkStore) -> Vec<Record> {
        match s.take_check() {
            Some(OutputCheck::Keep(v)) => v,
            other => panic!("the test store keeps its output, not {other:?}"),
        }
    }

    fn token(epoch: u64, attempt: u32) -> FencingToken {
        FencingToken { epoch, attempt }
    }

    fn record(offset: u64) -> Record {
        Record {
            key: 0,
            value: 1,
            origin: Origin { partition: 0, offset },
            timestamp_ms: 0,
        }
    }

    const TXN: TxnId = TxnId {
        vertex: 2,
        subtask: 0,
        seq: 6,
    };

    /// A zombie (attempt 1) and its successor (attempt 2) both use `TXN`;
    /// the zombie writes again after the successor began.
    fn zombie_race(s: &SinkStore) -> Vec<SinkResponse> {
        let (old, new) = (token(0, 1), token(0, 2));
        let mut out = Vec::new();
        let mut call = |req| out.push(s.handle(req).expect("answered"));
        call(SinkRequest::Fence {
            vertex: 2,
            subtask: 0,
            by: old,
        });
        call(SinkRequest::Write {
            txn: TXN,
            by: old,
            records: vec![record(0)],
        });
        call(SinkRequest::Fence {
            vertex: 2,
            subtask: 0,
            by: new,
        });
        call(SinkRequest::Abort { txn: TXN, by: new });
        call(SinkRequest::Write {
            txn: TXN,
            by: new,
            records: vec![record(1)],
        });
        call(SinkRequest::Write {
            txn: TXN,
            by: old,
            records: vec![record(2)],
        });
        call(SinkRequest::PreCommit {
            txn: TXN,
            by: new,
            last: Vec::new(),
        });
        call(SinkRequest::Commit { txn: TXN, by: new });
        out
    }

    #[test]
    fn a_reused_transaction_id_belongs_to_the_newest_token_and_fences_the_zombie() {
        let s = store(Fencing::Checked);
        let out = zombie_race(&s);
        assert!(
            matches!(out[5], SinkResponse::Rejected(ref why) if why.contains("is fenced by")),
            "{out:?}"
        );
        assert_eq!(
            committed(&s),
            vec![record(1)],
            "only the successor's record is committed"
        );
        assert_eq!(s.rejected(), 1);
    }

    #[test]
    fn without_fencing_the_zombie_write_lands_in_the_successors_transaction() {
        let s = store(Fencing::Ignored);
        let out = zombie_race(&s);
        assert!(out.iter().all(|r| *r == SinkResponse::Ok), "{out:?}");
        assert_eq!(committed(&s), vec![record(1), record(2)]);
    }

    #[test]
    fn a_newer_epoch_outranks_any_attempt_of_an_older_epoch() {
        let s = store(Fencing::Checked);
        let fence = |by| {
            s.handle(SinkRequest::Fence {
                vertex: 2,
                subtask: 0,
                by,
            })
            .expect("answered")
        };
        assert_eq!(fence(token(1, 9)), SinkResponse::Ok);
        assert_eq!(
            fence(token(2, 1)),
            SinkResponse::Ok,
            "a new leader numbers attempts from 1 again"
        );
        assert!(
            matches!(fence(token(1, 10)), SinkResponse::Rejected(_)),
            "the old leader's attempts are stale"
        );
    }

    #[test]
    fn recovery_commits_what_an_older_attempt_pre_committed() {
        let s = store(Fencing::Checked);
        let (old, new) = (token(0, 1), token(0, 2));
        s.handle(SinkRequest::Write {
            txn: TXN,
            by: old,
            records: vec![record(3)],
        });
        s.handle(SinkRequest::PreCommit {
            txn: TXN,
            by: old,
            last: Vec::new(),
        });
        s.handle(SinkRequest::Fence {
            vertex: 2,
            subtask: 0,
            by: new,
        });
        assert_eq!(
            s.handle(SinkRequest::Commit { txn: TXN, by: new }),
            Some(SinkResponse::Ok)
        );
        assert_eq!(
            s.handle(SinkRequest::Commit { txn: TXN, by: new }),
            Some(SinkResponse::Ok),
            "idempotent"
        );
        assert_eq!(committed(&s), vec![record(3)]);
    }

    /// The pre-commit carries the records still buffered: they join the
    /// transaction after every earlier write. A pre-commit whose records
    /// are refused is refused too, and leaves the transaction unprepared.
    #[test]
    fn a_pre_commit_flushes_what_is_still_buffered() {
        let s = store(Fencing::Checked);
        let by = token(0, 1);
        s.handle(SinkRequest::Write {
            txn: TXN,
            by,
            records: vec![record(1)],
        });
        let flush = |by, last| s.handle(SinkRequest::PreCommit { txn: TXN, by, last });
        assert_eq!(flush(by, vec![record(2)]), Some(SinkResponse::Ok));
        assert_eq!(
            flush(by, vec![record(3)]),
            Some(SinkResponse::Rejected(format!(
                "write into {TXN} in state PreCommitted (poisoned: false)"
            ))),
            "nothing joins a prepared transaction"
        );
        assert_eq!(
            flush(by, Vec::new()),
            Some(SinkResponse::Ok),
            "an empty retry is idempotent"
        );
        assert_eq!(s.handle(SinkRequest::Commit { txn: TXN, by }), Some(SinkResponse::Ok));
        assert_eq!(committed(&s), vec![record(1), record(2)]);

        let s = store(Fencing::Checked);
        let newer = token(0, 2);
        s.handle(SinkRequest::Write {
            txn: TXN,
            by: newer,
            records: vec![record(4)],
        });
        let refused = s.handle(SinkRequest::PreCommit {
            txn: TXN,
            by: token(0, 1),
            last: vec![record(5)],
        });
        assert!(matches!(refused, Some(SinkResponse::Rejected(_))), "{refused:?}");
        assert_eq!(s.rejected(), 1);
        assert_eq!(
            s.handle(SinkRequest::Commit { txn: TXN, by: newer }),
            Some(SinkResponse::Rejected(format!("commit of {TXN} in state Open"))),
            "the refused pre-commit prepared nothing"
        );
    }
}
