//! Domain types and rules of Switchboard. Nothing in this crate performs I/O:
//! it holds identifiers, validated values, the conversation lifecycle and the
//! permission rules, so every other layer shares one definition of them.

pub mod assist;
pub mod bot;
pub mod campaign;
pub mod capabilities;
pub mod hours;
pub mod ids;
pub mod legs;
pub mod lifecycle;
pub mod media;
pub mod mentions;
pub mod metrics;
pub mod model;
pub mod permissions;
pub mod report;
pub mod routing;
pub mod search;
pub mod template;
pub mod threads;
pub mod time;
pub mod transcript;
pub mod validate;
pub mod widget;
pub mod windows;
pub mod zip;

pub use ids::*;
pub use model::*;
pub use time::Millis;
