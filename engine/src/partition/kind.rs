//! Selecting a partitioner by name: [`PartitionerKind`] (`key-groups`,
//! `ring`, `rendezvous`, `jump`, `maglev`, `bounded-loads`) and the
//! parameters they take ([`PartitionerParams`]), with a constructor returning
//! a `Box<dyn Partitioner>`. Scenarios and the CLI select partitioners this
//! way, so names and parameter keys are part of the file format.

use std::fmt;
use std::str::FromStr;

use super::{
    bounded_loads, key_groups, maglev, ring, BoundedLoadsPartitioner, JumpPartitioner, KeyGroupPartitioner,
    MaglevPartitioner, PartitionError, Partitioner, RendezvousPartitioner, RingPartitioner,
};

/// The partitioners halab knows, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartitionerKind {
    /// Flink's key groups (`key-groups`).
    KeyGroups,
    /// Consistent-hash ring with virtual nodes (`ring`).
    Ring,
    /// Rendezvous / highest-random-weight hashing (`rendezvous`).
    Rendezvous,
    /// Jump consistent hash (`jump`).
    Jump,
    /// Maglev hashing (`maglev`).
    Maglev,
    /// Consistent hashing with bounded loads (`bounded-loads`).
    BoundedLoads,
}

impl PartitionerKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [PartitionerKind; 6] = [
        PartitionerKind::KeyGroups,
        PartitionerKind::Ring,
        PartitionerKind::Rendezvous,
        PartitionerKind::Jump,
        PartitionerKind::Maglev,
        PartitionerKind::BoundedLoads,
    ];

    /// The name used in scenario files, the CLI and reports.
    pub fn name(self) -> &'static str {
        match self {
            PartitionerKind::KeyGroups => "key-groups",
            PartitionerKind::Ring => "ring",
            PartitionerKind::Rendezvous => "rendezvous",
            PartitionerKind::Jump => "jump",
            PartitionerKind::Maglev => "maglev",
            PartitionerKind::BoundedLoads => "bounded-loads",
        }
    }

    /// Build the partitioner with the parameters it uses (the others are
    /// ignored).
    pub fn build(self, params: &PartitionerParams) -> Result<Box<dyn Partitioner>, PartitionError> {
        let built: Box<dyn Partitioner> = match self {
            PartitionerKind::KeyGroups => Box::new(KeyGroupPartitioner::try_new(params.max_parallelism)?),
            PartitionerKind::Ring => Box::new(RingPartitioner::new(params.vnodes)?),
            PartitionerKind::Rendezvous => Box::new(RendezvousPartitioner),
            PartitionerKind::Jump => Box::new(JumpPartitioner),
            PartitionerKind::Maglev => Box::new(MaglevPartitioner::new(params.table_size)?),
            PartitionerKind::BoundedLoads => Box::new(BoundedLoadsPartitioner::new(params.vnodes, params.epsilon)?),
        };
        assert_eq!(
            built.name(),
            self.name(),
            "invariant: a built-in reports its kind's name"
        );
        assert!(
            built.check_parallelism(0).is_err() && built.check_parallelism(1).is_ok(),
            "invariant: {self} refuses zero owners and accepts one"
        );
        Ok(built)
    }
}

impl fmt::Display for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PartitionerKind {
    type Err = PartitionError;

    /// Exact, case-sensitive names as listed in [`PartitionerKind::ALL`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartitionerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| PartitionError::UnknownPartitioner {
                name: s.to_string(),
                known: PartitionerKind::ALL.map(PartitionerKind::name).join(", "),
            })
    }
}

/// Parameters of the partitioners; each uses only its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartitionerParams {
    /// `max-parallelism`: the number of key groups (`key-groups`), 1..=32768.
    pub max_parallelism: i32,
    /// `vnodes`: virtual nodes per owner (`ring`, `bounded-loads`).
    pub vnodes: u32,
    /// `table-size`: Maglev's lookup table size, a prime (`maglev`).
    pub table_size: u64,
    /// `epsilon`: capacity factor `1 + ε` (`bounded-loads`), `> 0`.
    pub epsilon: f64,
}

impl Default for PartitionerParams {
    /// Flink's default max parallelism for small jobs (128), 160 virtual
    /// nodes, the Maglev paper's 65537 slots, ε = 0.25.
    fn default() -> Self {
        PartitionerParams {
            max_parallelism: key_groups::DEFAULT_LOWER_BOUND_MAX_PARALLELISM,
            vnodes: ring::DEFAULT_VNODES,
            table_size: maglev::DEFAULT_TABLE_SIZE,
            epsilon: bounded_loads::DEFAULT_EPSILON,
        }
    }
}

impl PartitionerParams {
    /// The parameter keys [`PartitionerParams::set`] accepts.
    pub const KEYS: [&'static str; 4] = ["max-parallelism", "vnodes", "table-size", "epsilon"];

    /// Check every parameter, whichever partitioner uses it: building each
    /// kind checks its own.
    pub fn validate(&self) -> Result<(), PartitionError> {
        for kind in PartitionerKind::ALL {
            kind.build(self)?;
        }
        Ok(())
    }

    /// Set one parameter from text, e.g. `("vnodes", "200")`. The value is
    /// only parsed here; the partitioner checks its range when built.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), PartitionError> {
        let bad = || PartitionError::BadParameterValue {
            key: key.to_string(),
            value: value.to_string(),
        };
        let v = value.trim();
        match key {
            "max-parallelism" => self.max_parallelism = v.parse().map_err(|_| bad())?,
            "vnodes" => self.vnodes = v.parse().map_err(|_| bad())?,
            "table-size" => self.table_size = v.parse().map_err(|_| bad())?,
            "epsilon" => self.epsilon = v.parse().map_err(|_| bad())?,
            _ => return Err(PartitionError::UnknownParameter { key: key.to_string() }),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_build_with_defaults() {
        let params = PartitionerParams::default();
        for kind in PartitionerKind::ALL {
            assert_eq!(kind.name().parse::<PartitionerKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.name());
            let p = kind.build(&params).expect("defaults are valid");
            assert_eq!(p.name(), kind.name());
            let o = p.owner(42, 7);
            assert!(o < 7);
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let e = "consistent".parse::<PartitionerKind>().unwrap_err();
        assert_eq!(
            e,
            PartitionError::UnknownPartitioner {
                name: "consistent".into(),
                known: "key-groups, ring, rendezvous, jump, maglev, bounded-loads".into(),
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("`consistent`"), "{msg}");
        for kind in PartitionerKind::ALL {
            assert!(msg.contains(kind.name()), "{msg}");
        }
        assert!("Ring".parse::<PartitionerKind>().is_err());
        assert!("".parse::<PartitionerKind>().is_err());
    }

    #[test]
    fn parameters_parse_and_are_checked_on_build() {
        let mut params = PartitionerParams::default();
        params.set("vnodes", "200").expect("valid");
        params.set("epsilon", " 0.5 ").expect("valid");
        params.set("table-size", "251").expect("valid");
        params.set("max-parallelism", "256").expect("valid");
        assert_eq!(
            params,
            PartitionerParams {
                max_parallelism: 256,
                vnodes: 200,
                table_size: 251,
                epsilon: 0.5
            }
        );
        assert!(matches!(
            params.set("vnodes", "many"),
            Err(PartitionError::BadParameterValue { .. })
        ));
        assert!(matches!(
            params.set("replicas", "3"),
            Err(PartitionError::UnknownParameter { .. })
        ));

        let bad = |f: fn(&mut PartitionerParams), kind: PartitionerKind| {
            let mut p = PartitionerParams::default();
            f(&mut p);
            kind.build(&p).is_err()
        };
        assert!(bad(|p| p.max_parallelism = 0, PartitionerKind::KeyGroups));
        assert!(bad(|p| p.max_parallelism = 32_769, PartitionerKind::KeyGroups));
        assert!(bad(|p| p.vnodes = 0, PartitionerKind::Ring));
        assert!(bad(|p| p.vnodes = 0, PartitionerKind::BoundedLoads));
        assert!(bad(|p| p.table_size = 65_536, PartitionerKind::Maglev));
        assert!(bad(|p| p.epsilon = 0.0, PartitionerKind::BoundedLoads));
        assert!(bad(|p| p.epsilon = -1.0, PartitionerKind::BoundedLoads));
        // Parameters a kind does not use do not matter to it...
        assert!(!bad(|p| p.epsilon = -1.0, PartitionerKind::Ring));
        // ...but `validate` checks them all.
        assert!(PartitionerParams::default().validate().is_ok());
        let eps = PartitionerParams {
            epsilon: -1.0,
            ..PartitionerParams::default()
        };
        assert_eq!(eps.validate(), Err(PartitionError::BadEpsilon(-1.0)));
    }
}
