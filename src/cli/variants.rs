//! Report variants: a catalogue scenario with one setting changed, named for
//! the change (`<base><infix><value>`), so that a record says by its name
//! alone which variant it ran and `report --from` can regroup records
//! without their configuration.
//!
//! - [`Variation::CheckpointInterval`] sets `execution.checkpointing.interval`,
//!   infix `-checkpoint-interval-` (`interval-tradeoff-checkpoint-interval-2s`);
//! - [`Variation::StatePerKey`] sets `[job] state-bytes-per-key`, infix
//!   `-state-per-key-` (`restore-remote-state-per-key-10KB`).
//!
//! Names are canonical (`2s`, not `2000ms`; `10KB`, not `10000B`), so one
//! variant has one name.

use std::time::Duration;

use anyhow::anyhow;
use halab_engine::duration::{format_duration, parse_duration};
use halab_engine::resources::units::ByteSize;
use halab_scenarios::catalogue;
use halab_sim::human::HumanBytes;
use halab_sim::scenario::ConfigValue;
use halab_sim::Scenario;

const CHECKPOINT_INTERVAL_KEY: &str = "execution.checkpointing.interval";
const INTERVAL_INFIX: &str = "-checkpoint-interval-";
const STATE_INFIX: &str = "-state-per-key-";

/// The one setting a variant changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variation {
    /// The checkpoint interval, in ms (positive).
    CheckpointInterval(u64),
    /// Keyed state per key, in bytes (positive).
    StatePerKey(u64),
}

impl Variation {
    fn infix(self) -> &'static str {
        match self {
            Variation::CheckpointInterval(_) => INTERVAL_INFIX,
            Variation::StatePerKey(_) => STATE_INFIX,
        }
    }

    /// The value as the name writes it.
    pub fn value_text(self) -> String {
        match self {
            Variation::CheckpointInterval(ms) => format_duration(Duration::from_millis(ms)),
            Variation::StatePerKey(bytes) => ByteSize(bytes).to_string(),
        }
    }
}

/// The name of `base` varied by `v`.
pub fn variant_name(base: &str, v: Variation) -> String {
    format!("{base}{}{}", v.infix(), v.value_text())
}

/// `(base, variation)` of a variant's name, written as [`variant_name`]
/// writes it.
pub fn parse_variant(name: &str) -> Option<(&str, Variation)> {
    let parsed = |infix: &str| -> Option<(&str, Variation)> {
        let (base, value) = name.rsplit_once(infix)?;
        let v = if infix == INTERVAL_INFIX {
            let ms = u64::try_from(parse_duration(value).ok()?.as_millis()).ok()?;
            Variation::CheckpointInterval(ms)
        } else {
            Variation::StatePerKey(ByteSize::parse(value).ok()?.0)
        };
        let positive = match v {
            Variation::CheckpointInterval(x) | Variation::StatePerKey(x) => x > 0,
        };
        (!base.is_empty() && positive && variant_name(base, v) == name).then_some((base, v))
    };
    parsed(INTERVAL_INFIX).or_else(|| parsed(STATE_INFIX))
}

/// `base` varied by `v`, renamed and validated.
pub fn apply(base: &Scenario, v: Variation) -> anyhow::Result<Scenario> {
    let mut s = base.clone();
    s.name = variant_name(&base.name, v);
    let what = match v {
        Variation::CheckpointInterval(_) => {
            s.config
                .insert(CHECKPOINT_INTERVAL_KEY.to_string(), ConfigValue::String(v.value_text()));
            "checkpoint interval"
        }
        Variation::StatePerKey(bytes) => {
            s.job.state_bytes_per_key = Some(HumanBytes(bytes));
            "state per key"
        }
    };
    s.description = format!(
        "{} (variant of {} with {what} {}, built by halab report)",
        base.description,
        base.name,
        v.value_text()
    );
    s.validate().map_err(|e| anyhow!("variant {}: {e}", s.name))?;
    Ok(s)
}

pub fn load_catalogue(name: &str) -> Option<anyhow::Result<Scenario>> {
    catalogue::load(name).map(|r| r.map_err(|e| anyhow!("{e}")))
}

/// The variant named `name`, if it names one of a catalogue scenario.
pub fn load_variant(name: &str) -> Option<anyhow::Result<Scenario>> {
    let (base, v) = parse_variant(name)?;
    let base = load_catalogue(base)?;
    Some(base.and_then(|b| apply(&b, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_names_round_trip() {
        let name = |ms| variant_name("tm-crash", Variation::CheckpointInterval(ms));
        assert_eq!(name(200), "tm-crash-checkpoint-interval-200ms");
        assert_eq!(name(2000), "tm-crash-checkpoint-interval-2s");
        for ms in [250, 1500, 8000] {
            assert_eq!(
                parse_variant(&name(ms)),
                Some(("tm-crash", Variation::CheckpointInterval(ms)))
            );
        }
        assert_eq!(parse_variant("tm-crash"), None);
        assert_eq!(parse_variant("tm-crash-checkpoint-interval-"), None);
        assert_eq!(parse_variant("tm-crash-checkpoint-interval-0ms"), None);
        assert_eq!(parse_variant("-checkpoint-interval-1s"), None);
        assert_eq!(
            parse_variant("tm-crash-checkpoint-interval-2000ms"),
            None,
            "not canonical"
        );
        assert_eq!(parse_variant("tm-crash-checkpoint-interval-1500us"), None);
    }

    #[test]
    fn state_names_round_trip() {
        let v = Variation::StatePerKey(10_000);
        assert_eq!(variant_name("restore-local", v), "restore-local-state-per-key-10KB");
        assert_eq!(
            parse_variant("restore-local-state-per-key-10KB"),
            Some(("restore-local", v))
        );
        assert_eq!(
            parse_variant("restore-local-state-per-key-10000B"),
            None,
            "not canonical"
        );
        assert_eq!(parse_variant("restore-local-state-per-key-0B"), None);
        assert_eq!(parse_variant("restore-local-state-per-key-10"), None, "no unit");
        assert_eq!(parse_variant("-state-per-key-1KB"), None);
    }

    #[test]
    fn apply_changes_the_one_setting() {
        let base = load_catalogue("tm-crash").expect("built-in").expect("valid");
        let i = apply(&base, Variation::CheckpointInterval(500)).expect("valid");
        assert_eq!(i.name, "tm-crash-checkpoint-interval-500ms");
        assert_eq!(
            i.config.get(CHECKPOINT_INTERVAL_KEY),
            Some(&ConfigValue::String("500ms".into()))
        );
        let s = apply(&base, Variation::StatePerKey(1_000_000)).expect("valid");
        assert_eq!(s.job.state_bytes_per_key, Some(HumanBytes(1_000_000)));
        assert!(s.sets_resources(), "a state size is a resource key");
        assert!(s.description.contains("state per key 1MB"), "{}", s.description);
        let loaded = load_variant("tm-crash-state-per-key-1MB")
            .expect("a variant")
            .expect("valid");
        assert_eq!(loaded, s);
        assert!(load_variant("no-such-base-state-per-key-1MB").is_none());
    }
}
