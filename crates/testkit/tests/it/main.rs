//! All integration tests of the testkit crate in one binary, so CI links
//! the server once (as crates.io does).

mod accounts;
mod address_rules;
mod api_channel_files;
mod api_shape;
mod app_browser;
mod app_contacts;
mod app_escaping;
mod app_forms;
mod attachments;
mod audit_log;
mod bad_input;
mod bots;
mod bots_browser;
mod channel_port;
mod contacts;
mod delivery;
mod events;
mod hook_channels;
mod idempotency;
mod ingest_batch;
mod isolation;
mod job_lanes;
mod notifications;
mod outreach;
mod pages_browser;
mod quick_replies;
mod retention;
mod routing;
mod s3_storage;
mod story;
mod templates;
mod transcripts;
mod webhooks;
mod widget;
mod widget_browser;
