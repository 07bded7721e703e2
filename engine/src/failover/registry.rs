//! Failover strategies by name (`jobmanager.execution.failover-strategy`):
//! Flink's `full` and `region`, and the plug-ins a user's crate registers
//! with [`register_failover_strategy`]. The configuration is validated
//! against it, and the JobManager builds its strategy from it.

use super::{FailoverStrategy, RegionFailoverStrategy, RestartAllFailoverStrategy};
use crate::graph::JobGraph;
use crate::plugins::Registry;

/// Builds a strategy for a job graph.
pub type FailoverStrategyFactory = fn(&JobGraph) -> Box<dyn FailoverStrategy>;

static PLUGINS: Registry<FailoverStrategyFactory> = Registry::new("failover strategy");

fn full(graph: &JobGraph) -> Box<dyn FailoverStrategy> {
    Box::new(RestartAllFailoverStrategy::new(graph))
}

fn region(graph: &JobGraph) -> Box<dyn FailoverStrategy> {
    Box::new(RegionFailoverStrategy::new(graph))
}

fn builtin(name: &str) -> Option<FailoverStrategyFactory> {
    match name {
        "full" => Some(full),
        "region" => Some(region),
        _ => None,
    }
}

/// Register a failover strategy under `name` (lower case; not `full` or
/// `region`, not registered before).
pub fn register_failover_strategy(name: &str, factory: FailoverStrategyFactory) -> Result<(), String> {
    PLUGINS.register(name, |n| builtin(n).is_some(), factory)?;
    // Looked up as the configuration names it (any case, padded): found.
    assert!(failover_strategy_factory(name).is_some(), "invariant: {name} not found");
    Ok(())
}

/// The factory of the strategy called `name` (any case), built-in or
/// registered.
pub fn failover_strategy_factory(name: &str) -> Option<FailoverStrategyFactory> {
    let name = name.trim().to_lowercase();
    let builtin = builtin(&name);
    // Registration refuses built-in names, so a plug-in never hides behind one.
    let plugin = PLUGINS.get(&name);
    assert!(builtin.is_none() || plugin.is_none(), "invariant: `{name}` shadowed");
    builtin.or(plugin)
}
