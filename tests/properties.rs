//! Property tests: random fault plans over a small cluster keep exactly-once
//! and liveness; and with a broken engine, proptest finds a failing plan and
//! shrinks it to a minimal one.

use halab_engine::config::Sabotage;
use halab_scenarios::parse_scenario;
use halab_sim::faults::{Fault, FaultPlan, NetworkSettings, ScheduledFault, Service};
use halab_sim::human::HumanDuration;
use halab_sim::{run_seed, Scenario, Verdict};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

const BASE: &str = r#"
name = "property"
description = "random fault plans over a small cluster"
duration = "6s"

[cluster]
task-managers = 3
slots-per-task-manager = 2

[job]
source-partitions = 4
source-parallelism = 2
count-parallelism = 5
sink-parallelism = 2
records-per-second = 500
keys = 100

[config]
"execution.checkpointing.interval" = "500ms"
"heartbeat.interval" = "500ms"
"heartbeat.timeout" = "3s"
"halab.rpc.timeout" = "2s"

[expect]
recovery-bound = "120s"
"#;

fn base() -> Scenario {
    parse_scenario(BASE, "property.toml").expect("valid")
}

/// One disturbance: (kind, target index, start ms, length ms).
type Unit = (u8, usize, u64, u64);

fn units() -> impl Strategy<Value = Vec<Unit>> {
    prop::collection::vec((0u8..7, 0usize..3, 200u64..6000, 100u64..5000), 0..=4)
}

fn plan(units: &[Unit]) -> FaultPlan {
    let mut v = Vec::new();
    let at = |ms: u64, fault: Fault| ScheduledFault {
        at: HumanDuration::from_millis(ms),
        fault,
    };
    for &(kind, target, start, len) in units {
        let tm = format!("tm-{target}");
        let service = Service::ALL[target % 3];
        let (d, h) = match kind {
            0 => (Fault::Kill { node: tm.clone() }, Fault::Restart { node: tm }),
            1 => (Fault::Pause { node: tm.clone() }, Fault::Resume { node: tm }),
            2 => {
                let groups = [vec![tm], vec!["jm".to_string()]];
                (Fault::Partition { groups: groups.clone() }, Fault::Heal { groups })
            }
            3 => {
                let link = [tm, format!("tm-{}", (target + 1) % 3)];
                (Fault::Clog { link: link.clone() }, Fault::Unclog { link })
            }
            4 => (
                Fault::Network(NetworkSettings {
                    loss: 0.05,
                    latency: [HumanDuration::from_millis(1), HumanDuration::from_millis(40)],
                }),
                Fault::RestoreNetwork,
            ),
            5 => (Fault::Slow { service, factor: 30 }, Fault::Restore { service }),
            _ => (Fault::CutOff { service }, Fault::Restore { service }),
        };
        v.push(at(start, d));
        v.push(at(start + len, h));
    }
    FaultPlan(v).normalized()
}

proptest! {
    #![proptest_config(Config::with_cases(48))]

    #[test]
    fn random_fault_plans_keep_exactly_once_and_liveness(units in units(), seed in 1u64..1_000_000) {
        let s = base().with_explicit_plan(&plan(&units));
        let r = run_seed(&s, seed).expect("valid");
        prop_assert_eq!(
            r.verdict,
            Verdict::Pass,
            "seed {} plan {:?}: {:?} lost {} dup {} unexpected {}",
            seed, r.fault_plan, r.message, r.lost, r.duplicated, r.unexpected
        );
    }
}

#[test]
fn a_failing_plan_shrinks_through_proptest() {
    let mut broken = base();
    broken.sabotage = Sabotage::SourceIgnoresRestoredOffsets;
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&units(), |units| {
        let s = broken.with_explicit_plan(&plan(&units));
        let r = run_seed(&s, 1).expect("valid");
        prop_assert_eq!(r.verdict, Verdict::Pass);
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, minimal)) => {
            // Usually one disturbance; a crash before the first checkpoint
            // shows nothing alone, so the shrinker may stop at two.
            assert!(minimal.len() <= 2, "a minimal plan is small: {minimal:?}");
            let s = broken.with_explicit_plan(&plan(&minimal));
            assert_eq!(run_seed(&s, 1).expect("valid").verdict, Verdict::Violation);
        }
        other => panic!("the broken engine must fail some plan, got {other:?}"),
    }
}
