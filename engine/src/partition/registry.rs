//! Partitioners by name (`halab.partitioner`): the built-ins of
//! [`PartitionerKind`] and the plug-ins a user's crate registers with
//! [`register_partitioner`]. The configuration is validated against it, the
//! tasks build their partitioner from it, and `halab partition` and the
//! report's rebalancing figures list every name it holds, so a plug-in is
//! compared beside the built-ins.

use super::{PartitionError, Partitioner, PartitionerKind, PartitionerParams};
use crate::config::Configuration;
use crate::plugins::Registry;

/// Builds a partitioner from the built-in parameters (the job's max
/// parallelism among them) and the job's configuration, from which a
/// plug-in reads its own keys.
pub type PartitionerFactory = fn(&PartitionerParams, &Configuration) -> Result<Box<dyn Partitioner>, PartitionError>;

/// A registered partitioner: its factory and the configuration keys it
/// reads (accepted in scenarios besides halab's own).
#[derive(Clone, Copy)]
pub struct PartitionerPlugin {
    pub factory: PartitionerFactory,
    pub keys: &'static [&'static str],
}

/// Whether a partitioner can route an open stream, one key at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// `owner(key, parallelism)` is a pure function: it can route records.
    PerKey,
    /// It places a known key set only (bounded loads); `halab partition`
    /// compares it, a job cannot use it.
    KeySetOnly,
}

static PLUGINS: Registry<PartitionerPlugin> = Registry::new("partitioner");

fn builtin(name: &str) -> Option<PartitionerKind> {
    PartitionerKind::ALL.into_iter().find(|k| k.name() == name)
}

fn plugin(name: &str) -> Option<PartitionerPlugin> {
    PLUGINS.get(name)
}

/// Register a partitioner under `name` (non-empty, lower case, not a
/// built-in's name, not registered before), reading the configuration
/// `keys`.
pub fn register_partitioner(name: &str, plugin: PartitionerPlugin) -> Result<(), String> {
    PLUGINS.register(name, |n| builtin(n).is_some(), plugin)
}

/// Every partitioner's name: the built-ins in [`PartitionerKind::ALL`]'s
/// order, then the plug-ins by name.
pub fn partitioner_names() -> Vec<String> {
    let mut names: Vec<String> = PartitionerKind::ALL.iter().map(|k| k.name().to_string()).collect();
    names.extend(PLUGINS.names());
    let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        distinct.len(),
        names.len(),
        "invariant: no plug-in shadows a built-in partitioner: {names:?}"
    );
    names
}

/// How the partitioner called `name` (exact, case-sensitive) routes, or
/// the error naming every known partitioner.
pub fn routing(name: &str) -> Result<Routing, PartitionError> {
    match builtin(name) {
        Some(PartitionerKind::BoundedLoads) => Ok(Routing::KeySetOnly),
        Some(_) => Ok(Routing::PerKey),
        None if plugin(name).is_some() => Ok(Routing::PerKey),
        None => Err(unknown(name)),
    }
}

/// Build the partitioner called `name` (exact, case-sensitive).
pub fn build_partitioner(
    name: &str,
    params: &PartitionerParams,
    conf: &Configuration,
) -> Result<Box<dyn Partitioner>, PartitionError> {
    if let Some(kind) = builtin(name) {
        return kind.build(params);
    }
    let plugin = plugin(name).ok_or_else(|| unknown(name))?;
    let built = (plugin.factory)(params, conf)?;
    assert_eq!(
        built.name(),
        name,
        "a plug-in partitioner reports the name it is registered under"
    );
    Ok(built)
}

/// Whether a registered partitioner reads configuration key `key`.
pub fn is_plugin_key(key: &str) -> bool {
    PLUGINS.any(|r| r.keys.contains(&key))
}

fn unknown(name: &str) -> PartitionError {
    PartitionError::UnknownPartitioner {
        name: name.to_string(),
        known: partitioner_names().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Modulo;

    impl Partitioner for Modulo {
        fn owner(&self, key: u64, parallelism: u32) -> u32 {
            (key % u64::from(parallelism)) as u32
        }
        fn name(&self) -> &'static str {
            "unit-modulo"
        }
    }

    fn modulo(_: &PartitionerParams, _: &Configuration) -> Result<Box<dyn Partitioner>, PartitionError> {
        Ok(Box::new(Modulo))
    }

    #[test]
    fn builtins_and_plugins_resolve_through_one_registry() {
        let conf = Configuration::new();
        let params = PartitionerParams::default();
        for kind in PartitionerKind::ALL {
            let p = build_partitioner(kind.name(), &params, &conf).expect("defaults are valid");
            assert_eq!(p.name(), kind.name());
        }
        assert_eq!(routing("ring"), Ok(Routing::PerKey));
        assert_eq!(routing("bounded-loads"), Ok(Routing::KeySetOnly));
        let err = build_partitioner("unit-modulo", &params, &conf).expect_err("not yet registered");
        assert!(err.to_string().contains("`unit-modulo`"), "{err}");
        assert!(err.to_string().contains("maglev"), "{err}");

        let plugin = PartitionerPlugin {
            factory: modulo,
            keys: &["halab.partitioner.unit-modulo.k"],
        };
        register_partitioner("unit-modulo", plugin).expect("a new name");
        assert!(register_partitioner("unit-modulo", plugin)
            .expect_err("twice")
            .contains("already"));
        assert!(register_partitioner("ring", plugin)
            .expect_err("built in")
            .contains("built in"));
        assert!(register_partitioner("Modulo", plugin).is_err());
        assert!(register_partitioner("a b", plugin).is_err());
        assert!(register_partitioner(" ", plugin).is_err());

        assert_eq!(routing("unit-modulo"), Ok(Routing::PerKey));
        let p = build_partitioner("unit-modulo", &params, &conf).expect("registered");
        assert_eq!(p.owner(7, 3), 1);
        let names = partitioner_names();
        assert_eq!(names[..6], PartitionerKind::ALL.map(|k| k.name().to_string()));
        assert!(names.contains(&"unit-modulo".to_string()));
        assert!(is_plugin_key("halab.partitioner.unit-modulo.k"));
        assert!(!is_plugin_key("halab.partitioner.vnodes"));
        let err = routing("nope").expect_err("unknown");
        assert!(err.to_string().contains("unit-modulo"), "{err}");
    }
}
