//! Machine time is integer milliseconds since the Unix epoch, everywhere:
//! in the database, in the API and in the rules.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs * 1000)
    }
    pub fn plus_ms(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
    /// `self - earlier` in milliseconds.
    pub fn since(self, earlier: Millis) -> i64 {
        self.0 - earlier.0
    }
}
