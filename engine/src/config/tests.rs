//! The typed configuration against Flink's keys and defaults.

use super::*;

fn conf(pairs: &[(&str, &str)]) -> Configuration {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn high_availability_takes_none_and_kubernetes_in_any_case_and_refuses_zookeeper() {
    let ha = |v: &str| EngineConfig::from_configuration(&conf(&[("high-availability.type", v)]));
    assert_eq!(ha("NONE").expect("none").high_availability, HighAvailabilityType::None);
    assert_eq!(
        ha("Kubernetes").expect("kubernetes").high_availability,
        HighAvailabilityType::Kubernetes
    );
    let e = ha("zookeeper").expect_err("refused");
    assert_eq!(
        (e.key.as_str(), e.value.as_str()),
        ("high-availability.type", "zookeeper")
    );
    assert!(e.message.contains("use `kubernetes`"), "{e}");
    let e = ha("etcd").expect_err("unknown");
    assert_eq!(e.value, "etcd");
}

#[test]
fn defaults_are_flinks() {
    let c = EngineConfig::from_configuration(&Configuration::new()).expect("defaults valid");
    assert_eq!(c.checkpoint_interval, None);
    assert_eq!(c.heartbeat_interval, Duration::from_secs(10));
    assert_eq!(c.heartbeat_timeout, Duration::from_secs(50));
    assert_eq!(c.checkpoint_timeout, Duration::from_secs(600));
    assert_eq!(c.failover_strategy, "region");
    assert_eq!(c.effective_max_parallelism(4), Ok(128));
}

#[test]
fn checkpointing_modes() {
    let c = EngineConfig::from_configuration(&conf(&[
        ("execution.checkpointing.unaligned.enabled", "true"),
        ("execution.checkpointing.aligned-checkpoint-timeout", "30ms"),
    ]))
    .expect("valid");
    assert_eq!(c.barrier_config().aligned_timeout_ms, 30);
    assert!(c.barrier_config().unaligned);
    let a =
        EngineConfig::from_configuration(&conf(&[("execution.checkpointing.mode", "AT_LEAST_ONCE")])).expect("valid");
    assert_eq!(a.checkpointing_mode, CheckpointingMode::AtLeastOnce);
    assert!(EngineConfig::from_configuration(&conf(&[
        ("execution.checkpointing.mode", "at-least-once"),
        ("execution.checkpointing.unaligned.enabled", "true")
    ]))
    .is_err());
    assert!(EngineConfig::from_configuration(&conf(&[("execution.checkpointing.mode", "sometimes")])).is_err());
}

#[test]
fn unknown_key_is_rejected() {
    let e = EngineConfig::from_configuration(&conf(&[("execution.checkpointing.intervall", "1s")])).unwrap_err();
    assert_eq!(e.key, "execution.checkpointing.intervall");
    assert!(e.to_string().contains("unknown configuration key"));
}

#[test]
fn zero_intervals_name_their_own_key() {
    for key in ["halab.rpc.timeout", "halab.source.poll-interval"] {
        let e = EngineConfig::from_configuration(&conf(&[(key, "0ms")])).unwrap_err();
        assert_eq!(e.key, key);
    }
}

#[test]
fn bad_values_name_the_key() {
    let e = EngineConfig::from_configuration(&conf(&[("heartbeat.interval", "soon")])).unwrap_err();
    assert_eq!(e.key, "heartbeat.interval");
    let e = EngineConfig::from_configuration(&conf(&[("heartbeat.interval", "10s"), ("heartbeat.timeout", "5s")]))
        .unwrap_err();
    assert_eq!(e.key, "heartbeat.timeout");
    let e = EngineConfig::from_configuration(&conf(&[("restart-strategy.type", "sometimes")])).unwrap_err();
    assert!(e.to_string().contains("sometimes"), "{e}");
    assert_eq!(e.key, "restart-strategy.type");
    // A restart strategy's own key is named, with its value.
    let e = EngineConfig::from_configuration(&conf(&[
        ("restart-strategy.type", "fixed-delay"),
        ("restart-strategy.fixed-delay.attempts", "three"),
    ]))
    .unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.value.as_str()),
        ("restart-strategy.fixed-delay.attempts", "three")
    );
    assert!(e.message.contains("not a 32-bit integer"), "{e}");
}

#[test]
fn max_parallelism_smaller_than_parallelism_is_impossible() {
    let c = EngineConfig::from_configuration(&conf(&[("pipeline.max-parallelism", "2")])).expect("valid");
    assert!(c.effective_max_parallelism(4).is_err());
}
