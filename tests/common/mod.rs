//! Helpers shared by the integration tests that read a run's trace.

use serde_json::Value;

/// Trace lines as (t_ms, node, event JSON).
pub fn events(trace: &[String]) -> Vec<(u64, String, Value)> {
    trace
        .iter()
        .map(|l| {
            let mut words = l.split_whitespace();
            let t: f64 = words.next().expect("time").trim_end_matches('s').parse().expect("t");
            let node = words.next().expect("node").to_string();
            let v: Value = serde_json::from_str(&l[l.find('{').expect("json")..]).expect("json");
            ((t * 1000.0).round() as u64, node, v)
        })
        .collect()
}

/// The events of one kind (`"lease_granted"`, ...), in trace order.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn of<'a>(ev: &'a [(u64, String, Value)], kind: &str) -> Vec<&'a (u64, String, Value)> {
    ev.iter().filter(|(_, _, v)| v["event"] == kind).collect()
}
