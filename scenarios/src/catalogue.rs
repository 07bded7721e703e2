//! The built-in scenarios: the TOML files in `scenarios/catalogue/`, compiled
//! into the binary so `halab run <name>` works from anywhere.

use halab_sim::Scenario;

use crate::parse::{parse_scenario, ScenarioFileError};

/// `(name, file text)` of every built-in scenario.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("steady", include_str!("../catalogue/steady.toml")),
    ("skew-uniform", include_str!("../catalogue/skew-uniform.toml")),
    ("skew-hot", include_str!("../catalogue/skew-hot.toml")),
    ("skew-zipf", include_str!("../catalogue/skew-zipf.toml")),
    ("checkmate-skew", include_str!("../catalogue/checkmate-skew.toml")),
    ("tm-crash", include_str!("../catalogue/tm-crash.toml")),
    (
        "at-least-once-crashes",
        include_str!("../catalogue/at-least-once-crashes.toml"),
    ),
    (
        "backpressure-aligned",
        include_str!("../catalogue/backpressure-aligned.toml"),
    ),
    (
        "backpressure-alternating",
        include_str!("../catalogue/backpressure-alternating.toml"),
    ),
    (
        "backpressure-unaligned",
        include_str!("../catalogue/backpressure-unaligned.toml"),
    ),
    ("chaos", include_str!("../catalogue/chaos.toml")),
    (
        "chaos-uncoordinated",
        include_str!("../catalogue/chaos-uncoordinated.toml"),
    ),
    (
        "graph-chaos-uncoordinated",
        include_str!("../catalogue/graph-chaos-uncoordinated.toml"),
    ),
    (
        "reachability-uncoordinated",
        include_str!("../catalogue/reachability-uncoordinated.toml"),
    ),
    ("chaos-cic", include_str!("../catalogue/chaos-cic.toml")),
    ("graph-chaos-cic", include_str!("../catalogue/graph-chaos-cic.toml")),
    ("reachability-cic", include_str!("../catalogue/reachability-cic.toml")),
    ("graph-crash", include_str!("../catalogue/graph-crash.toml")),
    ("graph-chaos", include_str!("../catalogue/graph-chaos.toml")),
    ("graph-unaligned", include_str!("../catalogue/graph-unaligned.toml")),
    ("join-crash", include_str!("../catalogue/join-crash.toml")),
    ("join-unaligned", include_str!("../catalogue/join-unaligned.toml")),
    ("nexmark-q1", include_str!("../catalogue/nexmark-q1.toml")),
    ("nexmark-q2", include_str!("../catalogue/nexmark-q2.toml")),
    ("nexmark-q3", include_str!("../catalogue/nexmark-q3.toml")),
    ("nexmark-q5", include_str!("../catalogue/nexmark-q5.toml")),
    ("nexmark-q8", include_str!("../catalogue/nexmark-q8.toml")),
    ("nexmark-q12", include_str!("../catalogue/nexmark-q12.toml")),
    ("placement-none", include_str!("../catalogue/placement-none.toml")),
    ("placement-slots", include_str!("../catalogue/placement-slots.toml")),
    ("placement-tasks", include_str!("../catalogue/placement-tasks.toml")),
    ("placement-load", include_str!("../catalogue/placement-load.toml")),
    ("reachability", include_str!("../catalogue/reachability.toml")),
    (
        "reachability-unaligned",
        include_str!("../catalogue/reachability-unaligned.toml"),
    ),
    (
        "reachability-backpressure",
        include_str!("../catalogue/reachability-backpressure.toml"),
    ),
    (
        "checkpoint-storage-outage",
        include_str!("../catalogue/checkpoint-storage-outage.toml"),
    ),
    (
        "checkpoint-storage-outage-tolerable",
        include_str!("../catalogue/checkpoint-storage-outage-tolerable.toml"),
    ),
    (
        "checkpoint-storage-slow",
        include_str!("../catalogue/checkpoint-storage-slow.toml"),
    ),
    (
        "checkpoint-timeout",
        include_str!("../catalogue/checkpoint-timeout.toml"),
    ),
    (
        "connection-detection",
        include_str!("../catalogue/connection-detection.toml"),
    ),
    (
        "crash-loop-exponential",
        include_str!("../catalogue/crash-loop-exponential.toml"),
    ),
    (
        "heartbeat-detection",
        include_str!("../catalogue/heartbeat-detection.toml"),
    ),
    ("link-clog", include_str!("../catalogue/link-clog.toml")),
    ("lossy-network", include_str!("../catalogue/lossy-network.toml")),
    ("region-failover", include_str!("../catalogue/region-failover.toml")),
    ("restart-exhausted", include_str!("../catalogue/restart-exhausted.toml")),
    ("service-crash", include_str!("../catalogue/service-crash.toml")),
    ("sink-store-outage", include_str!("../catalogue/sink-store-outage.toml")),
    ("source-log-slow", include_str!("../catalogue/source-log-slow.toml")),
    (
        "split-brain-groups",
        include_str!("../catalogue/split-brain-groups.toml"),
    ),
    (
        "storm-crash-loop-backoff",
        include_str!("../catalogue/storm-crash-loop-backoff.toml"),
    ),
    (
        "storm-exponential-delay",
        include_str!("../catalogue/storm-exponential-delay.toml"),
    ),
    (
        "storm-failure-rate",
        include_str!("../catalogue/storm-failure-rate.toml"),
    ),
    ("storm-fixed-delay", include_str!("../catalogue/storm-fixed-delay.toml")),
    ("storm-supervisor", include_str!("../catalogue/storm-supervisor.toml")),
    ("tm-loss-spare", include_str!("../catalogue/tm-loss-spare.toml")),
    ("tm-partition", include_str!("../catalogue/tm-partition.toml")),
    (
        "tm-partition-during-failover",
        include_str!("../catalogue/tm-partition-during-failover.toml"),
    ),
    (
        "tm-partition-one-way",
        include_str!("../catalogue/tm-partition-one-way.toml"),
    ),
    ("tm-pause-long", include_str!("../catalogue/tm-pause-long.toml")),
    ("tm-pause-short", include_str!("../catalogue/tm-pause-short.toml")),
    (
        "union-backpressure",
        include_str!("../catalogue/union-backpressure.toml"),
    ),
    ("window-crash", include_str!("../catalogue/window-crash.toml")),
    ("zombie-tm", include_str!("../catalogue/zombie-tm.toml")),
    ("jm-crash", include_str!("../catalogue/jm-crash.toml")),
    (
        "jm-partition-split-brain",
        include_str!("../catalogue/jm-partition-split-brain.toml"),
    ),
    (
        "jm-partition-from-tms",
        include_str!("../catalogue/jm-partition-from-tms.toml"),
    ),
    (
        "jm-pause-beyond-lease",
        include_str!("../catalogue/jm-pause-beyond-lease.toml"),
    ),
    (
        "coordination-outage",
        include_str!("../catalogue/coordination-outage.toml"),
    ),
    (
        "jm-pause-sole-leader",
        include_str!("../catalogue/jm-pause-sole-leader.toml"),
    ),
    ("ha-chaos", include_str!("../catalogue/ha-chaos.toml")),
    ("ha-storm", include_str!("../catalogue/ha-storm.toml")),
    (
        "ha-chaos-concurrent-checkpoints",
        include_str!("../catalogue/ha-chaos-concurrent-checkpoints.toml"),
    ),
    ("large-state", include_str!("../catalogue/large-state.toml")),
    ("interval-tradeoff", include_str!("../catalogue/interval-tradeoff.toml")),
    ("restore-remote", include_str!("../catalogue/restore-remote.toml")),
    (
        "cpu-backpressure-aligned",
        include_str!("../catalogue/cpu-backpressure-aligned.toml"),
    ),
    (
        "cpu-backpressure-unaligned",
        include_str!("../catalogue/cpu-backpressure-unaligned.toml"),
    ),
    (
        "cpu-backpressure-alternating",
        include_str!("../catalogue/cpu-backpressure-alternating.toml"),
    ),
    ("restore-local", include_str!("../catalogue/restore-local.toml")),
    (
        "restore-incremental",
        include_str!("../catalogue/restore-incremental.toml"),
    ),
    ("bounded-finish", include_str!("../catalogue/bounded-finish.toml")),
    ("cancel-job", include_str!("../catalogue/cancel-job.toml")),
    ("rescale-scale-out", include_str!("../catalogue/rescale-scale-out.toml")),
    (
        "rescale-scale-in-crash",
        include_str!("../catalogue/rescale-scale-in-crash.toml"),
    ),
    ("tm-loss-no-spare", include_str!("../catalogue/tm-loss-no-spare.toml")),
    ("rescale-ring", include_str!("../catalogue/rescale-ring.toml")),
    (
        "rescale-rendezvous",
        include_str!("../catalogue/rescale-rendezvous.toml"),
    ),
    ("rescale-jump", include_str!("../catalogue/rescale-jump.toml")),
    ("rescale-maglev", include_str!("../catalogue/rescale-maglev.toml")),
];

pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|(n, _)| *n).collect()
}

/// Load a built-in scenario by name.
pub fn load(name: &str) -> Option<Result<Scenario, ScenarioFileError>> {
    CATALOGUE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| parse_scenario(text, &format!("scenarios/catalogue/{n}.toml")))
}

/// Every built-in scenario, parsed.
pub fn all() -> Result<Vec<Scenario>, ScenarioFileError> {
    CATALOGUE
        .iter()
        .map(|(n, text)| parse_scenario(text, &format!("scenarios/catalogue/{n}.toml")))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalogue_entry_parses_and_is_named_like_its_file() {
        for (name, text) in super::CATALOGUE {
            let s = super::parse_scenario(text, name).expect("catalogue scenarios are valid");
            assert_eq!(&s.name, name);
            assert!(!s.description.is_empty());
        }
    }
}
