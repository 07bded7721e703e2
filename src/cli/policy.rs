//! `halab policy`: ask a restart strategy what it would do.
//!
//! The strategy is built from Flink keys (`--set k=v`, or `--config` with a
//! TOML file holding a `[config]` table or the keys at top level), exactly as
//! the JobManager builds it. A script on stdin drives it, one JSON object per
//! line:
//! `{"op":"advance","ms":N}`, `{"op":"notify_failure"}`, `{"op":"can_restart"}`,
//! `{"op":"backoff_ms"}`. Each line gets one JSON answer on stdout:
//! `{"op":...,"now_ms":...,"result":...}`, with `{"error":"..."}` as the result
//! when the strategy refuses (e.g. a backoff before any failure). With
//! `--failures 0s,10s,...` a table of decisions is printed instead.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use halab_engine::config::{check_known_keys, parse_bounded_duration, MAX_DURATION};
use halab_engine::restart::{load_restart_strategy, RestartBackoffTimeStrategy};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

pub struct Options {
    pub set: Vec<String>,
    pub config: Option<PathBuf>,
    pub seed: u64,
    pub failures: Option<String>,
}

fn configuration(opts: &Options) -> anyhow::Result<BTreeMap<String, String>> {
    let mut conf = BTreeMap::new();
    if let Some(path) = &opts.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let doc: toml::Table = toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))?;
        let table = match doc.get("config") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => doc,
        };
        for (k, v) in table {
            let v = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            conf.insert(k, v);
        }
    }
    for kv in &opts.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("--set `{kv}`: expected key=value"))?;
        conf.insert(k.trim().to_string(), v.trim().to_string());
    }
    if let Some(k) = conf
        .keys()
        .find(|k| !k.starts_with("restart-strategy") && *k != "execution.checkpointing.interval")
    {
        bail!("`{k}` is not a restart-strategy key");
    }
    check_known_keys(&conf).map_err(|e| anyhow!("`{}` = `{}`: {}", e.key, e.value, e.message))?;
    Ok(conf)
}

/// The policy clock after `ms` more: it may reach [`MAX_DURATION`] at most,
/// so no sum of times can wrap.
fn advance(now: i64, ms: i64) -> anyhow::Result<i64> {
    let max = i64::try_from(MAX_DURATION.as_millis()).expect("invariant: 365 days fit in i64 ms");
    match now.checked_add(ms) {
        Some(t) if t <= max => Ok(t),
        _ => bail!("advance by {ms} ms would take the clock past {max} ms (365 days), the limit of any time in halab"),
    }
}

fn strategy(opts: &Options) -> anyhow::Result<Box<dyn RestartBackoffTimeStrategy>> {
    let conf = configuration(opts)?;
    // Flink's default (exponential-delay) applies when checkpointing is on.
    let checkpointing = conf.contains_key("execution.checkpointing.interval");
    load_restart_strategy(&conf, checkpointing).map_err(|e| anyhow!("{e}"))
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let mut s = strategy(&opts)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    if let Some(list) = &opts.failures {
        return table(s.as_mut(), &mut rng, list);
    }
    eprintln!("policy: {}", s.describe());
    let mut now: i64 = 0;
    let stdin = std::io::stdin();
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| anyhow!("stdin line {}: {e}", i + 1))?;
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("stdin line {}: missing \"op\"", i + 1))?;
        let result = match op {
            "advance" => {
                let ms = v
                    .get("ms")
                    .and_then(Value::as_i64)
                    .filter(|m| *m >= 0)
                    .ok_or_else(|| anyhow!("stdin line {}: advance needs a non-negative integer \"ms\"", i + 1))?;
                now = advance(now, ms).map_err(|e| anyhow!("stdin line {}: {e}", i + 1))?;
                Value::Null
            }
            "notify_failure" => json!(s.notify_failure(now, &mut rng)),
            "can_restart" => json!(s.can_restart(now)),
            "backoff_ms" => match s.backoff_time_ms(now) {
                Ok(ms) => json!(ms),
                Err(e) => json!({ "error": e.to_string() }),
            },
            other => bail!(
                "stdin line {}: unknown op `{other}` (advance, notify_failure, can_restart, backoff_ms)",
                i + 1
            ),
        };
        println!("{}", json!({ "op": op, "now_ms": now, "result": result }));
    }
    Ok(0)
}

/// The human-friendly form: one row per failure time.
fn table(s: &mut dyn RestartBackoffTimeStrategy, rng: &mut StdRng, list: &str) -> anyhow::Result<i32> {
    let mut times = Vec::new();
    for t in list.split(',').filter(|t| !t.trim().is_empty()) {
        let d = parse_bounded_duration(t.trim()).map_err(|e| anyhow!("--failures: {e}"))?;
        times.push(i64::try_from(d.as_millis()).expect("invariant: a bounded duration fits in i64 ms"));
    }
    if times.windows(2).any(|w| w[1] < w[0]) {
        bail!("--failures: times must not decrease");
    }
    println!("policy: {}", s.describe());
    println!(
        "{:>10}  {:>12}  {:>11}  {:>10}  decision",
        "failure at", "new attempt", "can restart", "backoff"
    );
    for t in times {
        let new = s.notify_failure(t, rng);
        let can = s.can_restart(t);
        let backoff = s
            .backoff_time_ms(t)
            .map(|b| format!("{b}ms"))
            .unwrap_or_else(|e| e.to_string());
        let decision = match (can, new) {
            (false, _) => "job FAILED".to_string(),
            (true, true) => format!("restart at {}ms", t + s.backoff_time_ms(t).unwrap_or(0)),
            (true, false) => "merged into the scheduled restart".to_string(),
        };
        println!("{:>8}ms  {:>12}  {:>11}  {:>10}  {decision}", t, new, can, backoff);
        if !can {
            break;
        }
    }
    Ok(0)
}
