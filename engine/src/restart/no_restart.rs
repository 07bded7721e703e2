//! Flink's `NoRestartBackoffTimeStrategy`: never restarts; `notify_failure`
//! returns `true` (as in 1.20.0), back-off 0.

use rand::RngCore;

use super::{RestartBackoffTimeStrategy, RestartError};

/// Flink `NoRestartBackoffTimeStrategy`: never restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRestartBackoffTimeStrategy;

impl RestartBackoffTimeStrategy for NoRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, _now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        false
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        Ok(0)
    }

    fn describe(&self) -> String {
        "NoRestartBackoffTimeStrategy".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::rng;

    #[test]
    fn no_restart_strategy() {
        let mut r = rng();
        let mut s = NoRestartBackoffTimeStrategy;
        assert!(s.notify_failure(0, &mut r));
        assert!(!s.can_restart(0));
        assert_eq!(s.backoff_time_ms(0), Ok(0));
        assert_eq!(s.describe(), "NoRestartBackoffTimeStrategy");
    }
}
