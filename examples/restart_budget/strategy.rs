//! A token-bucket restart budget, as a plug-in restart strategy: the job
//! may restart while it has tokens; each restart spends one, and one comes
//! back every `restart-budget.refill`, up to `restart-budget.tokens`. So a
//! burst of failures is absorbed, a sustained storm fails the job, and a
//! quiet job earns its budget back (unlike fixed-delay's lifetime count).
//!
//! Keys: `restart-budget.tokens` (default 2), `restart-budget.refill`
//! (default 10s), `restart-budget.delay` (default 1s).

use std::collections::BTreeMap;

use halab_engine::duration::parse_duration;
use halab_engine::restart::registry::register_restart_strategy;
use halab_engine::restart::{RestartBackoffTimeStrategy, RestartConfigError, RestartError};

pub const NAME: &str = "restart-budget";
pub const KEYS: &[&str] = &["restart-budget.tokens", "restart-budget.refill", "restart-budget.delay"];

#[derive(Debug, Clone)]
pub struct RestartBudget {
    capacity: u32,
    refill_ms: i64,
    delay_ms: i64,
    tokens: u32,
    /// When the last token was counted back.
    refilled_at_ms: i64,
    /// Whether the latest failure found a token.
    allowed: Option<bool>,
}

impl RestartBudget {
    pub fn new(capacity: u32, refill_ms: i64, delay_ms: i64) -> Self {
        RestartBudget {
            capacity,
            refill_ms,
            delay_ms,
            tokens: capacity,
            refilled_at_ms: 0,
            allowed: None,
        }
    }
}

impl RestartBackoffTimeStrategy for RestartBudget {
    fn notify_failure(&mut self, now_ms: i64, _rng: &mut dyn rand::RngCore) -> bool {
        let earned = (now_ms - self.refilled_at_ms).max(0) / self.refill_ms;
        if self.tokens < self.capacity && earned > 0 {
            self.tokens = self.capacity.min(self.tokens + earned as u32);
            self.refilled_at_ms += earned * self.refill_ms;
        }
        if self.tokens == self.capacity {
            // A full bucket refills from now on.
            self.refilled_at_ms = now_ms;
        }
        let allowed = self.tokens > 0;
        if allowed {
            self.tokens -= 1;
        }
        self.allowed = Some(allowed);
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        self.allowed.unwrap_or(true)
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        self.allowed.map(|_| self.delay_ms).ok_or(RestartError::NoFailureYet)
    }

    fn describe(&self) -> String {
        format!(
            "RestartBudget(tokens={}, capacity={}, refillMS={}, delayMS={})",
            self.tokens, self.capacity, self.refill_ms, self.delay_ms
        )
    }
}

fn duration_ms(conf: &BTreeMap<String, String>, key: &str, default_ms: i64) -> Result<i64, RestartConfigError> {
    let Some(v) = conf.get(key) else { return Ok(default_ms) };
    let bad = |reason: String| RestartConfigError::InvalidValue {
        key: key.to_string(),
        value: v.clone(),
        reason,
    };
    let d = parse_duration(v).map_err(|e| bad(e.to_string()))?;
    i64::try_from(d.as_millis()).map_err(|e| bad(e.to_string()))
}

/// Build the strategy from the job's configuration.
pub fn load(conf: &BTreeMap<String, String>) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    let tokens = match conf.get("restart-budget.tokens") {
        None => 2,
        Some(v) => v.parse::<u32>().map_err(|e| RestartConfigError::InvalidValue {
            key: "restart-budget.tokens".into(),
            value: v.clone(),
            reason: e.to_string(),
        })?,
    };
    let refill_ms = duration_ms(conf, "restart-budget.refill", 10_000)?;
    if refill_ms <= 0 {
        return Err(RestartConfigError::InvalidValue {
            key: "restart-budget.refill".into(),
            value: refill_ms.to_string(),
            reason: "must be positive".into(),
        });
    }
    let delay_ms = duration_ms(conf, "restart-budget.delay", 1_000)?;
    Ok(Box::new(RestartBudget::new(tokens, refill_ms, delay_ms)))
}

/// Register the strategy (once per process).
pub fn register() -> Result<(), String> {
    register_restart_strategy(NAME, load, KEYS)
}
