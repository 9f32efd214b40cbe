//! A sliding-window counter per key, in memory, with a bounded number of keys.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    fn prune(&self, entries: &mut VecDeque<Instant>, now: Instant) {
        while entries.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            entries.pop_front();
        }
    }

    /// Seconds to wait if `key` is over the limit, without counting a hit.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let entries = hits.get_mut(key)?;
        self.prune(entries, now);
        if entries.len() as u32 >= self.limit {
            let oldest = *entries.front()?;
            Some(self.window.saturating_sub(now.duration_since(oldest)).as_secs().max(1))
        } else {
            None
        }
    }

    /// Count one hit for `key`.
    pub fn hit(&self, key: &str) {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() >= MAX_KEYS && !hits.contains_key(key) {
            // Forget keys whose window has passed; if still full, start over
            // rather than grow without bound.
            hits.retain(|_, v| v.back().is_some_and(|t| now.duration_since(*t) < self.window));
            if hits.len() >= MAX_KEYS {
                hits.clear();
            }
        }
        let entries = hits.entry(key.to_owned()).or_default();
        self.prune(entries, now);
        entries.push_back(now);
    }

    /// Count a hit and say whether it is still within the limit.
    pub fn check_and_hit(&self, key: &str) -> Result<(), u64> {
        if let Some(wait) = self.blocked_for(key) {
            return Err(wait);
        }
        self.hit(key);
        Ok(())
    }

    pub fn clear(&self, key: &str) {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let r = RateLimiter::new(2, Duration::from_secs(60));
        assert!(r.check_and_hit("a").is_ok());
        assert!(r.check_and_hit("a").is_ok());
        assert!(r.check_and_hit("a").is_err());
        assert!(r.check_and_hit("b").is_ok());
        r.clear("a");
        assert!(r.check_and_hit("a").is_ok());
    }
}
