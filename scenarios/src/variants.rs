//! Suite variants: a catalogue scenario with one setting changed, named for
//! the change (`<base><infix><value>`), so that a record names the variant
//! it ran and its repro file can be written under that name.
//!
//! - [`Variation::CheckpointInterval`] sets `execution.checkpointing.interval`,
//!   infix `-checkpoint-interval-` (`interval-tradeoff-checkpoint-interval-2s`);
//! - [`Variation::StatePerKey`] sets `[job] state-bytes-per-key`, infix
//!   `-state-per-key-` (`restore-remote-state-per-key-10KB`).
//!
//! Names are canonical (`2s`, not `2000ms`; `10KB`, not `10000B`), so one
//! variant has one name. Which records belong to which sweep comes from the
//! suite ([`crate::suite`]), never from parsing a name.

use std::time::Duration;

use halab_engine::duration::format_duration;
use halab_engine::resources::units::ByteSize;
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

/// `base` varied by `v`, renamed and validated.
pub fn apply(base: &Scenario, v: Variation) -> Result<Scenario, String> {
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
    s.validate().map_err(|e| format!("variant {}: {e}", s.name))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical() {
        let name = |ms| variant_name("tm-crash", Variation::CheckpointInterval(ms));
        assert_eq!(name(200), "tm-crash-checkpoint-interval-200ms");
        assert_eq!(name(2000), "tm-crash-checkpoint-interval-2s");
        assert_eq!(name(1500), "tm-crash-checkpoint-interval-1500ms");
        let v = Variation::StatePerKey(10_000);
        assert_eq!(variant_name("restore-local", v), "restore-local-state-per-key-10KB");
        assert_eq!(Variation::StatePerKey(1_500).value_text(), "1500B");
    }

    #[test]
    fn apply_changes_the_one_setting() {
        let base = crate::catalogue::load("tm-crash").expect("built-in").expect("valid");
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
        let mut same = base.clone();
        same.name = s.name.clone();
        same.description = s.description.clone();
        same.job.state_bytes_per_key = Some(HumanBytes(1_000_000));
        assert_eq!(same, s, "nothing else changes");
    }
}
