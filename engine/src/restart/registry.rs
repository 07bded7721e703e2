//! Restart strategies by name: the built-ins (Flink's, with their aliases,
//! and this project's) and the plug-ins a user's crate registers with
//! [`register_restart_strategy`]. [`super::load_restart_strategy`] resolves
//! `restart-strategy.type` here, for the JobManager and for the conformance
//! checker alike, so a plug-in is replayed as the built-ins are.

use std::collections::BTreeMap;

use super::{RestartBackoffTimeStrategy, RestartConfigError};
use crate::plugins::Registry;

/// Builds a strategy from the job's configuration (its own keys included).
pub type RestartStrategyFactory =
    fn(&BTreeMap<String, String>) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError>;

/// A registered strategy: its factory and the configuration keys it reads
/// (accepted in scenarios besides Flink's).
#[derive(Clone, Copy)]
pub struct Registered {
    pub factory: RestartStrategyFactory,
    pub keys: &'static [&'static str],
}

static PLUGINS: Registry<Registered> = Registry::new("restart strategy");

/// The built-ins, by every name Flink accepts (lower case).
fn builtin(name: &str) -> Option<RestartStrategyFactory> {
    Some(match name {
        "none" | "off" | "disable" => super::load_none,
        "fixed-delay" | "fixeddelay" => super::load_fixed_delay,
        "failure-rate" | "failurerate" => super::load_failure_rate,
        "exponential-delay" | "exponentialdelay" => super::load_exponential,
        "crash-loop-backoff" | "crashloopbackoff" => super::load_crash_loop,
        "supervisor" => super::load_supervisor,
        _ => return None,
    })
}

/// Register a restart strategy under `name` (lower case; not a built-in's
/// name, not registered before), reading the configuration `keys`.
pub fn register_restart_strategy(
    name: &str,
    factory: RestartStrategyFactory,
    keys: &'static [&'static str],
) -> Result<(), String> {
    PLUGINS.register(name, |n| builtin(n).is_some(), Registered { factory, keys })?;
    // Looked up as the configuration names it (any case, padded): found.
    assert!(restart_strategy_factory(name).is_some(), "invariant: {name} not found");
    Ok(())
}

/// The factory of the strategy called `name` (any case), built-in or
/// registered.
pub fn restart_strategy_factory(name: &str) -> Option<RestartStrategyFactory> {
    let name = name.trim().to_lowercase();
    let builtin = builtin(&name);
    // Registration refuses built-in names, so a plug-in never hides behind one.
    let plugin = PLUGINS.get(&name).map(|r| r.factory);
    assert!(builtin.is_none() || plugin.is_none(), "invariant: `{name}` shadowed");
    builtin.or(plugin)
}

/// Whether a registered strategy reads configuration key `key`.
pub fn is_plugin_key(key: &str) -> bool {
    PLUGINS.any(|r| r.keys.contains(&key))
}

/// The registered (plug-in) strategies' names.
pub fn registered_restart_strategies() -> Vec<String> {
    PLUGINS.names()
}
