//! Rate limits: a sliding-window counter per key, in memory, with a bounded
//! number of keys ([`RateLimiter`]); and [`Limit`], which on PostgreSQL
//! counts in the database instead, so every node of a cluster counts the
//! same hits (SQLite serves one node, whose memory is the shared place).

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

/// Windows are counted in this many slots; a slot ages out whole.
const SLOTS: i64 = 6;

/// A named limit, counted where every node sees it.
#[derive(Debug)]
pub(crate) struct Limit {
    name: &'static str,
    limit: u32,
    window: Duration,
    local: RateLimiter,
    shared: Option<switchboard_store::Store>,
}

impl Limit {
    pub(crate) fn new(name: &'static str, limit: u32, window: Duration, store: &switchboard_store::Store) -> Self {
        Limit {
            name,
            limit,
            window,
            local: RateLimiter::new(limit, window),
            shared: store.pg_pool().is_some().then(|| store.clone()),
        }
    }

    /// The stored name of a key: hashed, so an e-mail address used as a
    /// key is not kept in clear.
    fn bucket(&self, key: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!("{}\n{key}", self.name)))
    }

    fn slot_ms(&self) -> i64 {
        (self.window.as_millis() as i64 / SLOTS).max(1)
    }

    /// The windows' slots still counted at `now`: (start, hits).
    async fn counted(
        &self,
        store: &switchboard_store::Store,
        bucket: &str,
        now: i64,
    ) -> switchboard_store::Result<Vec<(i64, i64)>> {
        let window = self.window.as_millis() as i64;
        store.reader().rate_hits_since(bucket, now - window + 1).await
    }

    /// Seconds until the oldest counted slot ages out.
    fn wait(&self, slots: &[(i64, i64)], now: i64) -> u64 {
        let window = self.window.as_millis() as i64;
        let oldest = slots.iter().map(|(start, _)| *start).min().unwrap_or(now);
        ((oldest + window - now) / 1000).max(1) as u64
    }

    async fn shared_wait(
        &self,
        store: &switchboard_store::Store,
        bucket: &str,
    ) -> switchboard_store::Result<Option<u64>> {
        let now = switchboard_store::now_ms();
        let slots = self.counted(store, bucket, now).await?;
        let total: i64 = slots.iter().map(|(_, hits)| hits).sum();
        Ok((total >= i64::from(self.limit)).then(|| self.wait(&slots, now)))
    }

    fn slot_of(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.slot_ms())
    }

    async fn shared_hit(&self, store: &switchboard_store::Store, bucket: &str) -> switchboard_store::Result<()> {
        let now = switchboard_store::now_ms();
        store
            .reader()
            .add_rate_hits(bucket, self.slot_of(now), 1)
            .await
            .map(|_| ())
    }

    /// Count the hit first, then judge it: the current slot's count comes
    /// back from the same statement that raised it, so of many concurrent
    /// requests on any nodes exactly the allowance gets through.
    async fn shared_check_and_hit(
        &self,
        store: &switchboard_store::Store,
        bucket: &str,
    ) -> switchboard_store::Result<Result<(), u64>> {
        let now = switchboard_store::now_ms();
        let slot = self.slot_of(now);
        let current = store.reader().add_rate_hits(bucket, slot, 1).await?;
        let slots = self.counted(store, bucket, now).await?;
        let earlier: i64 = slots
            .iter()
            .filter(|(start, _)| *start < slot)
            .map(|(_, hits)| hits)
            .sum();
        if earlier + current > i64::from(self.limit) {
            return Ok(Err(self.wait(&slots, now)));
        }
        Ok(Ok(()))
    }

    /// Seconds to wait if `key` is over the limit, without counting a hit.
    pub(crate) async fn blocked_for(&self, key: &str) -> Option<u64> {
        let Some(store) = &self.shared else {
            return self.local.blocked_for(key);
        };
        match self.shared_wait(store, &self.bucket(key)).await {
            Ok(wait) => wait,
            Err(e) => {
                // The database is unwell: limit this node alone meanwhile.
                tracing::warn!(error = %e, limit = self.name, "shared rate limit unavailable");
                self.local.blocked_for(key)
            }
        }
    }

    pub(crate) async fn hit(&self, key: &str) {
        let Some(store) = &self.shared else {
            return self.local.hit(key);
        };
        if let Err(e) = self.shared_hit(store, &self.bucket(key)).await {
            tracing::warn!(error = %e, limit = self.name, "shared rate limit unavailable");
            self.local.hit(key);
        }
    }

    /// Count a hit and say whether it is still within the limit.
    pub(crate) async fn check_and_hit(&self, key: &str) -> Result<(), u64> {
        let Some(store) = &self.shared else {
            return self.local.check_and_hit(key);
        };
        match self.shared_check_and_hit(store, &self.bucket(key)).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::warn!(error = %e, limit = self.name, "shared rate limit unavailable");
                self.local.check_and_hit(key)
            }
        }
    }

    pub(crate) async fn clear(&self, key: &str) {
        self.local.clear(key);
        if let Some(store) = &self.shared
            && let Err(e) = store.reader().clear_rate_hits(&self.bucket(key)).await
        {
            tracing::warn!(error = %e, limit = self.name, "could not clear a shared rate limit");
        }
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
