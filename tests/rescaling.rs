//! Rescaling in a running job (reactive mode): state follows its keys to
//! their new owners under every partitioner, a crash during the migration
//! loses nothing, a lost TaskManager with no spare slots lowers the
//! parallelism instead of stopping the job, and a restore that drops moved
//! state is caught.

use halab_engine::config::Sabotage;
use halab_scenarios::catalogue;
use halab_sim::scenario::ConfigValue;
use halab_sim::{run_seed, Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

#[test]
fn scale_out_moves_state_with_its_keys_and_reports_the_move() {
    let r = run_seed(&scenario("rescale-scale-out"), 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    let steps: Vec<(u32, u32)> = r.rescales.iter().map(|m| (m.from, m.to)).collect();
    assert_eq!(steps, vec![(4, 5), (5, 6)], "two TaskManagers join one after the other");
    for m in &r.rescales {
        assert!(m.moved_key_fraction > 0.0 && m.moved_key_fraction <= 1.0);
        // Growing by one: 1/(n+1) must move; 2/(n+1) when the restored
        // checkpoint predates the previous rescale (4 → 6 in effect).
        assert!(
            [1.0, 2.0]
                .iter()
                .any(|k| (m.optimal_fraction - k / f64::from(m.to)).abs() < 1e-9),
            "{}→{}: optimum {}",
            m.from,
            m.to,
            m.optimal_fraction
        );
        assert!(m.max_over_mean_load >= 1.0);
        assert_eq!(m.state_bytes_total, 1_000 * 1_000_000, "1,000 keys of 1 MB");
        // Every subtask downloads what it owns at 200 MB/s (+ 20 ms): the
        // migration lasts at least the largest share's download, and at most
        // that plus the resource-stabilization timeout (300 ms) and the
        // deployment.
        let largest_share = m.max_over_mean_load * m.state_bytes_total as f64 / f64::from(m.to);
        let download_ms = largest_share / 200e6 * 1000.0 + 20.0;
        let ms = m.migration_ms as f64;
        assert!(
            ms >= download_ms && ms <= download_ms + 400.0,
            "{}→{}: migration {ms} ms, download of the largest share {download_ms:.0} ms",
            m.from,
            m.to
        );
    }
}

#[test]
fn consistent_hashing_moves_near_the_optimum_and_key_groups_about_half() {
    let moved = |name: &str| -> f64 {
        let r = run_seed(&scenario(name), 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{name}: {:?}", r.message);
        r.rescales
            .iter()
            .map(|m| m.moved_key_fraction / m.optimal_fraction)
            .sum::<f64>()
            / r.rescales.len() as f64
    };
    let key_groups = moved("rescale-scale-out");
    assert!(
        key_groups > 2.0,
        "Flink's contiguous ranges move about half the keys: {key_groups}x the optimum"
    );
    for name in ["rescale-ring", "rescale-rendezvous", "rescale-jump", "rescale-maglev"] {
        let ratio = moved(name);
        assert!(ratio < 1.5, "{name} moved {ratio}x the optimum");
    }
}

#[test]
fn a_lost_taskmanager_without_spare_slots_lowers_the_parallelism_and_it_comes_back() {
    let r = run_seed(&scenario("tm-loss-no-spare"), 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    let steps: Vec<(u32, u32)> = r.rescales.iter().map(|m| (m.from, m.to)).collect();
    assert_eq!(steps, vec![(6, 4), (4, 6)]);
    assert!(
        r.rescales[0].t_ms < 4_000,
        "it did not wait for the TaskManager to return at 7 s"
    );
}

#[test]
fn a_crash_during_the_migration_loses_no_state() {
    let s = scenario("rescale-scale-in-crash");
    for seed in 1..=8 {
        let r = run_seed(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert!(r.rescales.len() >= 2, "seed {seed}: scaled in twice at least");
    }
}

#[test]
fn a_restore_that_drops_the_state_of_moved_keys_is_caught() {
    let mut s = scenario("rescale-scale-out");
    s.sabotage = Sabotage::RescaleDropsMovedState;
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(
        r.message.as_deref().is_some_and(|m| m.contains("keyed state")),
        "{:?}",
        r.message
    );
    assert!(r.miscounted > 0, "counts restarted from zero for the moved keys");
}

#[test]
fn bad_rescaling_configurations_are_refused() {
    let set = |name: &str, key: &str, value: &str| {
        let mut s = scenario(name);
        s.config.insert(key.into(), ConfigValue::String(value.into()));
        s.validate()
    };
    let e = set("rescale-scale-out", "execution.checkpointing.unaligned.enabled", "true").expect_err("unaligned");
    assert!(e.message.contains("aligned checkpoints"), "{e}");
    let e = set("tm-crash", "halab.partitioner", "bounded-loads").expect_err("bounded loads");
    assert!(e.message.contains("halab partition"), "{e}");
    let e = set("tm-crash", "halab.partitioner", "consistent").expect_err("unknown");
    assert!(e.path.contains("halab.partitioner"), "{e}");
    let e = set("region-failover", "scheduler-mode", "reactive").expect_err("two pipelines");
    assert!(e.message.contains("pipelines"), "{e}");
}
