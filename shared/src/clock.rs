//! The time every rule is judged at, injected so tests can move it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, as milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_millis(&self) -> u64;

    fn now(&self) -> Now {
        Now::from_millis(self.now_millis())
    }
}

/// One reading of a clock, in the two units the rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub secs: u64,
    pub millis: u64,
}

impl Now {
    pub fn from_millis(millis: u64) -> Self {
        Now {
            secs: millis / 1000,
            millis,
        }
    }
}

/// The system's wall clock: what every function runs with.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to (tests). Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Starts at the system's current time.
    pub fn starting_now() -> Self {
        Self::at_millis(SystemClock.now_millis())
    }

    pub fn at_millis(millis: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(millis)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Seconds since the Unix epoch, by the system clock.
pub fn now_secs() -> u64 {
    SystemClock.now().secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_millis(1_500);
        let shared = clock.clone();
        assert_eq!(
            clock.now(),
            Now {
                secs: 1,
                millis: 1_500
            }
        );
        shared.advance(Duration::from_millis(600));
        assert_eq!(
            clock.now(),
            Now {
                secs: 2,
                millis: 2_100
            }
        );
    }
}
