//! Polling with exponential backoff: the first wait is the run's `poll_interval`, each next one
//! twice the last, up to `poll_max_interval` (against a real cloud never under a second; see
//! [`crate::config::RunSettings`]).

use std::time::{Duration, Instant};

use crate::config::RunSettings;
use crate::interrupt;

/// The waits between the polls of one thing.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    /// A step's wait stops when the run is interrupted; cleanup's does not.
    interruptible: bool,
}

impl Backoff {
    /// A step's polls.
    pub fn new(settings: &RunSettings) -> Backoff {
        Backoff { next: settings.poll_interval, max: settings.poll_max_interval, interruptible: true }
    }

    /// Cleanup's polls: they go on after Ctrl-C.
    pub fn for_cleanup(settings: &RunSettings) -> Backoff {
        Backoff { interruptible: false, ..Backoff::new(settings) }
    }

    /// The wait the next [`Backoff::sleep_until`] would make.
    #[cfg(test)]
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// Sleeps before the next poll, no later than `deadline`.
    pub async fn sleep_until(&mut self, deadline: Instant) {
        if self.interruptible {
            interrupt::check();
        }
        let wait = self.next.min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(wait).await;
        self.next = (self.next * 2).min(self.max.max(self.next));
        if self.interruptible {
            interrupt::check();
        }
    }
}

/// Polls `probe` until it gives `Some`, or `timeout` passes (then `None`).
pub async fn until<T, F, Fut>(mut backoff: Backoff, timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        backoff.sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Capabilities, RunSettings};

    #[test]
    fn waits_double_up_to_the_cap() {
        let mut settings = RunSettings::resolve(&Capabilities::default(), false);
        settings.poll_interval = Duration::from_millis(1);
        settings.poll_max_interval = Duration::from_millis(5);
        let mut b = Backoff::new(&settings);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let mut seen = Vec::new();
        let far = Instant::now() + Duration::from_secs(5);
        for _ in 0..5 {
            seen.push(b.peek());
            rt.block_on(b.sleep_until(far));
        }
        let ms = Duration::from_millis;
        assert_eq!(seen, vec![ms(1), ms(2), ms(4), ms(5), ms(5)]);
        // Real-cloud defaults: 1 s, 2 s, 4 s, 8 s, 10 s, 10 s.
        let real = Backoff::new(&RunSettings::resolve(&Capabilities::default(), false));
        assert_eq!((real.peek(), real.max), (Duration::from_secs(1), Duration::from_secs(10)));
    }
}
