//! Run histories: what a run committed, in commit order, with what the
//! source offered and the whole trace, as JSON Lines (schema in
//! docs/history.md) — for checking a run with another tool, and for
//! [`History::check`], which re-runs halab's checkers on a history alone.
//!
//! Lines, each an object with a `kind`:
//! - `header`: the scenario (its TOML text), the seed, the source's content
//!   (`seed`, `partitions`, `records_per_partition`, `keys`,
//!   `records_per_second`), and the run's verdict and trace hash;
//! - `offered`: one per source record (`partition`, `offset`, `key`,
//!   `timestamp_ms`), in partition and offset order;
//! - `commit`: one per committed transaction (`t_ms`, `txn` named
//!   `txn-<vertex>-<subtask>-<checkpoint>`, `records` in order, each
//!   `{key, value, origin: {partition, offset}, timestamp_ms}`);
//! - `trace`: one per trace event (`t_ms`, `node`, `event`, ...);
//! - `load`: every simulated second, each subtask's totals so far
//!   (`busy_ns`, `back_pressured_ns`, `records_in`, summed over its
//!   attempts);
//! - `state`: per completed checkpoint, its completion time and each
//!   subtask's snapshot size in bytes;
//! - `end`: the facts the checkers read besides these (`completed_at_ms`,
//!   `deadline_ms`, `end_ms`, `latest_consumed`).

use std::fmt::Write as _;

use halab_engine::trace::TraceEntry;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::harness::{judge, output_check, RunFacts};
use crate::reference::SourceContent;
use crate::scenario::Scenario;
use crate::services::sink_store::CommittedTxn;
use crate::Verdict;

/// A run's history.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub scenario: Scenario,
    pub seed: u64,
    pub content: SourceContent,
    pub verdict: Verdict,
    pub message: Option<String>,
    pub trace_hash: String,
    pub commits: Vec<CommittedTxn>,
    pub trace: Vec<TraceEntry>,
    /// Every simulated second, each subtask's load so far.
    pub load: Vec<LoadSample>,
    /// Per completed checkpoint, each subtask's state size.
    pub state: Vec<StateSample>,
    pub end: End,
}

/// Each subtask's load totals at `t_ms` (cumulative over the run).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSample {
    pub t_ms: u64,
    pub subtasks: Vec<SubtaskTotals>,
}

/// One subtask's totals, by its name (`v1[0]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtaskTotals {
    pub task: String,
    pub busy_ns: u64,
    pub back_pressured_ns: u64,
    pub records_in: u64,
}

/// A completed checkpoint's snapshot size per subtask.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSample {
    pub checkpoint: u64,
    pub t_ms: u64,
    /// `(subtask, bytes)` in subtask order.
    pub subtasks: Vec<(String, u64)>,
}

/// The run's facts besides its commits and trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    pub completed_at_ms: Option<u64>,
    pub deadline_ms: u64,
    pub end_ms: u64,
    pub latest_consumed: Option<u64>,
}

/// What [`History::check`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOutcome {
    pub verdict: Verdict,
    pub message: Option<String>,
}

impl History {
    /// The history as JSON Lines.
    pub fn to_jsonl(&self) -> Result<String, String> {
        let c = &self.content;
        let mut out = String::new();
        let mut line = |v: Value| {
            let _ = writeln!(out, "{v}");
        };
        line(json!({
            "kind": "header",
            "schema": 1,
            "scenario": self.scenario.to_toml()?,
            "seed": self.seed,
            "content": {
                "seed": c.seed,
                "partitions": c.partitions,
                "records_per_partition": c.records_per_partition,
                "keys": c.keys,
                "records_per_second": c.records_per_second,
            },
            "verdict": self.verdict,
            "message": self.message,
            "trace_hash": self.trace_hash,
        }));
        for p in 0..c.partitions {
            for o in 0..c.partition_len(p) {
                let (key, value) = c.record_at(p, o);
                let mut offered = json!({
                    "kind": "offered",
                    "partition": p,
                    "offset": o,
                    "key": key,
                    "timestamp_ms": c.timestamp_at(p, o),
                });
                if c.nexmark.is_some() {
                    offered["value"] = json!(value);
                }
                line(offered);
            }
        }
        for t in &self.commits {
            let mut v = serde_json::to_value(t).map_err(|e| e.to_string())?;
            v["kind"] = json!("commit");
            line(v);
        }
        for e in &self.trace {
            let mut v = serde_json::to_value(e).map_err(|e| e.to_string())?;
            v["kind"] = json!("trace");
            line(v);
        }
        for s in &self.load {
            let mut v = serde_json::to_value(s).map_err(|e| e.to_string())?;
            v["kind"] = json!("load");
            line(v);
        }
        for s in &self.state {
            let mut v = serde_json::to_value(s).map_err(|e| e.to_string())?;
            v["kind"] = json!("state");
            line(v);
        }
        let mut end = serde_json::to_value(self.end).map_err(|e| e.to_string())?;
        end["kind"] = json!("end");
        line(end);
        Ok(out)
    }

    /// Read a history; errors name the line.
    pub fn from_jsonl(text: &str) -> Result<History, String> {
        let mut header: Option<Value> = None;
        let (mut commits, mut trace, mut end) = (Vec::new(), Vec::new(), None);
        let (mut load, mut state) = (Vec::new(), Vec::new());
        for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = |e: String| format!("line {}: {e}", i + 1);
            let mut v: Value = serde_json::from_str(l).map_err(|e| at(e.to_string()))?;
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
            }
            match kind.as_str() {
                "header" => header = Some(v),
                "offered" => {}
                "commit" => commits.push(serde_json::from_value(v).map_err(|e| at(e.to_string()))?),
                "trace" => trace.push(serde_json::from_value(v).map_err(|e| at(e.to_string()))?),
                "end" => end = Some(serde_json::from_value(v).map_err(|e| at(e.to_string()))?),
                "load" => load.push(serde_json::from_value(v).map_err(|e| at(e.to_string()))?),
                "state" => state.push(serde_json::from_value(v).map_err(|e| at(e.to_string()))?),
                other => return Err(at(format!("unknown kind `{other}`"))),
            }
        }
        let h = header.ok_or("no header line")?;
        let toml = h["scenario"].as_str().ok_or("header: no scenario")?;
        let scenario: Scenario = toml::from_str(toml).map_err(|e| format!("header: scenario: {e}"))?;
        let c = &h["content"];
        let num = |v: &Value, k: &str| v[k].as_u64().ok_or(format!("header: no {k}"));
        let content = SourceContent::of(&scenario, num(c, "seed")?);
        Ok(History {
            scenario,
            seed: num(&h, "seed")?,
            content,
            verdict: serde_json::from_value(h["verdict"].clone()).map_err(|e| format!("header: verdict: {e}"))?,
            message: h["message"].as_str().map(str::to_string),
            trace_hash: h["trace_hash"].as_str().unwrap_or_default().to_string(),
            commits,
            trace,
            load,
            state,
            end: end.ok_or("no end line")?,
        })
    }

    /// Re-run the checkers on this history alone: the output check fed the
    /// commits in order, and the trace's checkers. If the commits no longer
    /// hold every expected output, the run did not complete.
    pub fn check(&self) -> CheckOutcome {
        let mut check = output_check(&self.scenario, &self.content);
        for r in self.commits.iter().flat_map(|t| &t.records) {
            check.observe(r);
        }
        let (distinct, expected) = (check.distinct(), check.expected());
        let facts = RunFacts {
            distinct,
            expected,
            eo: check.finish().unwrap_or_default(),
            completed_at_ms: self.end.completed_at_ms.filter(|_| distinct == expected),
            deadline_ms: self.end.deadline_ms,
            latest_consumed: self.end.latest_consumed,
        };
        let j = judge(&self.scenario, self.seed, &self.content, &facts, &self.trace);
        CheckOutcome {
            verdict: j.verdict,
            message: j.message,
        }
    }
}
