//! Failover strategies by name (`jobmanager.execution.failover-strategy`):
//! Flink's `full` and `region`, and the plug-ins a user's crate registers
//! with [`register_failover_strategy`]. The configuration is validated
//! against it, and the JobManager builds its strategy from it.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{FailoverStrategy, RegionFailoverStrategy, RestartAllFailoverStrategy};
use crate::graph::JobGraph;

/// Builds a strategy for a job graph.
pub type FailoverStrategyFactory = fn(&JobGraph) -> Box<dyn FailoverStrategy>;

static PLUGINS: RwLock<BTreeMap<String, FailoverStrategyFactory>> = RwLock::new(BTreeMap::new());

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
    let name = name.trim();
    if name.is_empty() || name != name.to_lowercase() {
        return Err(format!(
            "failover strategy name `{name}`: use a non-empty lower-case name"
        ));
    }
    if builtin(name).is_some() {
        return Err(format!("failover strategy `{name}` is built in"));
    }
    let mut plugins = PLUGINS
        .write()
        .map_err(|_| "the registry lock is poisoned".to_string())?;
    if plugins.contains_key(name) {
        return Err(format!("failover strategy `{name}` is registered already"));
    }
    plugins.insert(name.to_string(), factory);
    Ok(())
}

/// The factory of the strategy called `name` (any case), built-in or
/// registered.
pub fn failover_strategy_factory(name: &str) -> Option<FailoverStrategyFactory> {
    let name = name.trim().to_lowercase();
    builtin(&name).or_else(|| PLUGINS.read().ok().and_then(|p| p.get(&name).copied()))
}
