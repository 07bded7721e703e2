//! The one shape of the strategy registries (`restart::registry`,
//! `failover::registry`, `partition::registry`): plug-ins by name, beside
//! built-ins that keep their names. A name is registered once, lower case,
//! without spaces, and never shadows a built-in.

use std::collections::BTreeMap;
use std::sync::RwLock;

/// Named plug-ins of one kind (`what`: "restart strategy", ...).
pub struct Registry<T> {
    what: &'static str,
    plugins: RwLock<BTreeMap<String, T>>,
}

impl<T: Copy> Registry<T> {
    /// An empty registry of `what`s.
    pub const fn new(what: &'static str) -> Self {
        Registry {
            what,
            plugins: RwLock::new(BTreeMap::new()),
        }
    }

    /// Register `plugin` under `name`; `is_builtin` says whether a built-in
    /// has that name.
    pub fn register(&self, name: &str, is_builtin: impl Fn(&str) -> bool, plugin: T) -> Result<(), String> {
        let what = self.what;
        let name = name.trim();
        if name.is_empty() || name != name.to_lowercase() || name.contains(char::is_whitespace) {
            return Err(format!(
                "{what} name `{name}`: use a non-empty lower-case name without spaces"
            ));
        }
        if is_builtin(name) {
            return Err(format!("{what} `{name}` is built in"));
        }
        let mut plugins = self
            .plugins
            .write()
            .map_err(|_| "the registry lock is poisoned".to_string())?;
        if plugins.contains_key(name) {
            return Err(format!("{what} `{name}` is registered already"));
        }
        let earlier = plugins.insert(name.to_string(), plugin);
        assert!(
            earlier.is_none(),
            "invariant: {what} `{name}` was checked unregistered under the same write lock"
        );
        Ok(())
    }

    /// The plug-in registered as `name` (exact).
    pub fn get(&self, name: &str) -> Option<T> {
        self.plugins.read().ok().and_then(|p| p.get(name).copied())
    }

    /// Whether any plug-in satisfies `f`.
    pub fn any(&self, f: impl Fn(&T) -> bool) -> bool {
        self.plugins.read().is_ok_and(|p| p.values().any(f))
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.plugins
            .read()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_registered_once() {
        let r: Registry<u8> = Registry::new("widget");
        let builtin = |n: &str| n == "stock";
        assert_eq!(
            r.register("stock", builtin, 1).unwrap_err(),
            "widget `stock` is built in"
        );
        for bad in ["", " ", "Big", "a b"] {
            assert!(
                r.register(bad, builtin, 1).unwrap_err().contains("lower-case"),
                "{bad:?}"
            );
        }
        r.register(" b ", builtin, 2).expect("new");
        r.register("a", builtin, 1).expect("new");
        assert_eq!(
            r.register("a", builtin, 3).unwrap_err(),
            "widget `a` is registered already"
        );
        assert_eq!((r.get("a"), r.get("b"), r.get("c")), (Some(1), Some(2), None));
        assert_eq!(r.names(), ["a", "b"]);
        assert!(r.any(|&v| v == 2));
        assert!(!r.any(|&v| v == 3));
    }
}
