//! `halab.checkpointing.protocol`: how a job's checkpoints are taken.
//!
//! - `coordinated` (the default, Flink's): the JobManager triggers the
//!   sources, barriers flow with the records (aligned, unaligned or
//!   alternating), and a checkpoint completes when every task acknowledged
//!   it.
//! - `uncoordinated`: every task snapshots on its own timer, with no
//!   barriers, and logs the records it sends; the JobManager assembles the
//!   latest consistent set of the tasks' snapshots (the recovery line,
//!   [`super::recovery_line`]) and restores from it, replaying from the
//!   senders' logs the records in flight at it.
//! - `communication-induced` (index-based, Briatico, Ciuffoletti and
//!   Simoncini's): as uncoordinated, and every snapshot carries an index
//!   (a task's own timer raises it by one); the index travels with the
//!   first record batch a task sends on a channel after it rose, and a
//!   task that receives a higher index takes a *forced* snapshot at that
//!   index before processing the batch. Then, for every k, each task's
//!   first snapshot at index k or above form a consistent set: the
//!   recovery line is that set for the highest k all tasks reached, with
//!   no search and no domino effect, paid for by forced snapshots and
//!   the piggybacked indexes.
//!
//! The uncoordinated protocol does not combine with what assumes barriers
//! or one checkpoint id across tasks; each such key is refused, naming it.

use crate::config::{ConfigError, Configuration};

/// The key.
pub const KEY: &str = "halab.checkpointing.protocol";

/// How a job's checkpoints are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckpointProtocol {
    #[default]
    Coordinated,
    Uncoordinated,
    CommunicationInduced,
}

impl CheckpointProtocol {
    /// `halab.checkpointing.protocol`, case-insensitive.
    pub fn from_configuration(conf: &Configuration) -> Result<Self, ConfigError> {
        let Some(value) = conf.get(KEY) else {
            return Ok(CheckpointProtocol::Coordinated);
        };
        match value.to_ascii_lowercase().as_str() {
            "coordinated" => Ok(CheckpointProtocol::Coordinated),
            "uncoordinated" => Ok(CheckpointProtocol::Uncoordinated),
            "communication-induced" => Ok(CheckpointProtocol::CommunicationInduced),
            _ => Err(ConfigError::new(
                KEY,
                value,
                "must be `coordinated` (barriers, Flink's), `uncoordinated` (a snapshot per task on its own timer, with message logging) or `communication-induced` (as uncoordinated, with snapshots forced by piggybacked indexes)",
            )),
        }
    }

    /// [`Self::from_configuration`], refusing a key that conflicts with
    /// the protocol ([`uncoordinated_conflict`]).
    pub fn checked(conf: &Configuration) -> Result<Self, ConfigError> {
        let protocol = Self::from_configuration(conf)?;
        if protocol.has_local_snapshots() {
            if let Some((key, value, why)) = uncoordinated_conflict(conf) {
                return Err(ConfigError::new(
                    key,
                    &value,
                    format!("with uncoordinated checkpoints: {why}"),
                ));
            }
        }
        Ok(protocol)
    }

    /// Whether tasks snapshot on their own timers (no barriers): the
    /// uncoordinated and communication-induced protocols.
    pub fn has_local_snapshots(self) -> bool {
        matches!(
            self,
            CheckpointProtocol::Uncoordinated | CheckpointProtocol::CommunicationInduced
        )
    }

    /// Whether snapshots carry indexes that force others' (CIC).
    pub fn is_communication_induced(self) -> bool {
        self == CheckpointProtocol::CommunicationInduced
    }
}

/// A key, the values of it that conflict, and why.
type Conflict = (&'static str, fn(&str) -> bool, &'static str);

/// A key whose value does not combine with uncoordinated checkpoints:
/// (key, value set, why).
pub fn uncoordinated_conflict(conf: &Configuration) -> Option<(&'static str, String, &'static str)> {
    let set = |k: &str| conf.get(k).map(|v| v.to_ascii_lowercase());
    let conflicts: [Conflict; 6] = [
        (
            "execution.checkpointing.mode",
            |v| v == "at_least_once",
            "uncoordinated checkpoints log every record sent and replay exactly what was in flight: they are exactly-once",
        ),
        (
            "execution.checkpointing.unaligned.enabled",
            |v| v == "true",
            "unaligned is a kind of barrier; uncoordinated checkpoints have no barriers",
        ),
        (
            "execution.checkpointing.aligned-checkpoint-timeout",
            |v| !v.is_empty(),
            "an aligned-checkpoint timeout is a kind of barrier; uncoordinated checkpoints have no barriers",
        ),
        (
            "scheduler-mode",
            |v| v == "reactive",
            "a rescale would redistribute keyed state, but a task's message log and channel counts are per channel",
        ),
        (
            "high-availability.type",
            |v| v != "none",
            "a new leader would need every task's snapshots and their channel counts, which only the JobManager keeps",
        ),
        (
            "execution.checkpointing.incremental",
            |v| v == "true",
            "incremental uploads count changes since the last completed checkpoint, which a task's own timer does not know",
        ),
    ];
    conflicts
        .into_iter()
        .find_map(|(key, conflicts, why)| set(key).filter(|v| conflicts(v)).map(|v| (key, v, why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_protocol_is_coordinated_unless_set() {
        assert_eq!(
            CheckpointProtocol::from_configuration(&conf(&[])),
            Ok(CheckpointProtocol::Coordinated)
        );
        let unc = conf(&[(KEY, "Uncoordinated")]);
        assert_eq!(
            CheckpointProtocol::from_configuration(&unc),
            Ok(CheckpointProtocol::Uncoordinated)
        );
        let cic = conf(&[(KEY, "communication-induced")]);
        assert_eq!(
            CheckpointProtocol::from_configuration(&cic),
            Ok(CheckpointProtocol::CommunicationInduced)
        );
        let e = CheckpointProtocol::from_configuration(&conf(&[(KEY, "chandy-lamport")])).expect_err("refused");
        assert_eq!((e.key.as_str(), e.value.as_str()), (KEY, "chandy-lamport"));
    }

    #[test]
    fn barrier_keys_conflict_with_uncoordinated_checkpoints() {
        assert_eq!(uncoordinated_conflict(&conf(&[])), None);
        assert_eq!(
            uncoordinated_conflict(&conf(&[("execution.checkpointing.mode", "EXACTLY_ONCE")])),
            None
        );
        for (key, value) in [
            ("execution.checkpointing.mode", "AT_LEAST_ONCE"),
            ("execution.checkpointing.unaligned.enabled", "true"),
            ("execution.checkpointing.aligned-checkpoint-timeout", "100ms"),
            ("scheduler-mode", "reactive"),
            ("high-availability.type", "kubernetes"),
            ("execution.checkpointing.incremental", "true"),
        ] {
            let found = uncoordinated_conflict(&conf(&[(key, value)])).map(|(k, _, _)| k);
            assert_eq!(found, Some(key), "{key} = {value}");
        }
    }
}
