//! A fault plan's entries as records carry them: `{"at": "3145ms", "kill": "tm-1"}`.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::duration::parse_duration_ms;

/// The verbs of a fault plan; the first of each pair disturbs, the second heals.
pub const FAULT_VERBS: [&str; 15] = [
    "kill",
    "restart",
    "pause",
    "resume",
    "partition",
    "heal",
    "partition-one-way",
    "heal-one-way",
    "clog",
    "unclog",
    "network",
    "restore-network",
    "slow",
    "cut-off",
    "restore",
];

/// One entry of `fault_plan`: `{"at": "3145ms", "kill": "tm-1"}`.
///
/// The verb's argument is kept as JSON (a node name, two groups of nodes, a
/// link, network settings, a service, `true`), since the plots only compare
/// and print it.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEntry {
    pub at_ms: u64,
    /// `kill`, `pause`, `partition`, ... (see [`FAULT_VERBS`]).
    pub verb: String,
    pub target: Value,
    /// With `slow`: the latency multiplier.
    pub factor: Option<u64>,
}

impl FaultEntry {
    pub fn new(at_ms: u64, verb: &str, target: Value) -> Self {
        FaultEntry {
            at_ms,
            verb: verb.to_string(),
            target,
            factor: None,
        }
    }

    /// Whether this entry ends a disturbance (the second verb of a pair).
    pub fn is_heal(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "restart" | "resume" | "heal" | "heal-one-way" | "unclog" | "restore-network" | "restore"
        )
    }

    /// Whether `heal` ends the disturbance this entry starts: the verbs pair
    /// up and name the same node, groups, link or service.
    pub fn is_healed_by(&self, heal: &FaultEntry) -> bool {
        let same = self.target == heal.target;
        match (self.verb.as_str(), heal.verb.as_str()) {
            ("kill", "restart")
            | ("pause", "resume")
            | ("partition", "heal")
            | ("partition-one-way", "heal-one-way")
            | ("clog", "unclog")
            | ("slow", "restore")
            | ("cut-off", "restore") => same,
            ("network", "restore-network") => true,
            _ => false,
        }
    }

    /// The verb's argument as text, in the simulator's notation.
    pub fn target_text(&self) -> String {
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
        };
        match &self.target {
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Null => String::new(),
            Value::Array(items) if items.len() == 2 && items.iter().all(Value::is_array) => {
                let groups: Vec<String> = items
                    .iter()
                    .map(|g| format!("[{}]", strings(g).unwrap_or_default().join(",")))
                    .collect();
                groups.join(" | ")
            }
            Value::Array(_) => strings(&self.target)
                .map(|l| l.join(" <-> "))
                .unwrap_or_else(|| self.target.to_string()),
            Value::Object(m) => {
                let loss = m.get("loss").and_then(Value::as_f64).unwrap_or(0.0);
                match strings(m.get("latency").unwrap_or(&Value::Null)) {
                    Some(l) if l.len() == 2 => format!("loss {loss} latency {}..{}", l[0], l[1]),
                    _ => self.target.to_string(),
                }
            }
            Value::Number(n) => n.to_string(),
        }
    }
}

/// A fault plan as one line: `6966ms kill tm-2; 9106ms restart tm-2`.
pub fn plan_text(plan: &[FaultEntry]) -> String {
    plan.iter()
        .map(|f| format!("{}ms {f}", f.at_ms))
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for FaultEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.target_text();
        match (target.is_empty(), self.factor) {
            (true, _) => f.write_str(&self.verb),
            (false, Some(x)) => write!(f, "{} {target} x{x}", self.verb),
            (false, None) => write!(f, "{} {target}", self.verb),
        }
    }
}

impl<'de> Deserialize<'de> for FaultEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let at_ms = match map.get("at") {
            Some(Value::String(s)) => parse_duration_ms(s).map_err(D::Error::custom)?,
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| D::Error::custom("`at` must be a non-negative number of ms"))?,
            Some(_) => return Err(D::Error::custom("`at` must be a duration such as \"500ms\"")),
            None => return Err(D::Error::missing_field("at")),
        };
        let factor = map.get("factor").and_then(Value::as_u64);
        // A known verb wins over keys a newer schema may add; a single unknown
        // key is taken as a verb this crate does not know yet.
        let (verb, target) = map
            .iter()
            .find(|(k, _)| FAULT_VERBS.contains(&k.as_str()))
            .or_else(|| map.iter().find(|(k, _)| *k != "at" && *k != "factor"))
            .ok_or_else(|| D::Error::custom("a fault entry needs a verb besides `at`"))?;
        Ok(FaultEntry {
            at_ms,
            verb: verb.clone(),
            target: target.clone(),
            factor,
        })
    }
}

impl Serialize for FaultEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        map.insert("at".into(), Value::String(format!("{}ms", self.at_ms)));
        map.insert(self.verb.clone(), self.target.clone());
        if let Some(f) = self.factor {
            map.insert("factor".into(), Value::from(f));
        }
        map.serialize(s)
    }
}
