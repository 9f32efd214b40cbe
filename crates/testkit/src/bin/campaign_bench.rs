//! Customer traffic while a campaign runs, against the same traffic without
//! one, measured in one run (issue 19's benchmark; DESIGN.md §13 "campaigns
//! and exports running: inbound and reply p99 ≤ 2 × idle").
//!
//! A Switchboard server in this process on a SQLite file, a WhatsApp number
//! served by the Graph API test server. For `--seconds`, customers' signed
//! webhooks arrive at `--inbound` a second and the agent replies at
//! `--replies` a second; the acknowledgement time of each is recorded
//! (webhook: until Meta would get its 200; reply: until the API answers
//! 201). Then a campaign of `--recipients` starts at `--rate` messages a
//! second, Meta's three statuses (sent, delivered, read) come back as
//! signed webhooks for every message it accepts, and the same traffic is
//! measured again.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin campaign_bench -- --recipients 100000 --rate 200 --seconds 30
//! ```
//!
//! It prints a table and asserts nothing about speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use switchboard_channels::whatsapp::{SIGNATURE_HEADER, sign};
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::graph::{GraphServer, webhook};
use switchboard_testkit::{Backend, TestApp, TestDb, TestOptions};

/// The server binary's allocator, so figures match what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PHONE_ID: &str = "106540352242922";
const TOKEN: &str = "bench-access-token";
const APP_SECRET: &str = "bench-app-secret";
const TARGET: &str = "4915000000001";

struct Args {
    recipients: usize,
    rate: u32,
    seconds: u64,
    inbound: u64,
    replies: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        recipients: 100_000,
        rate: 200,
        seconds: 30,
        inbound: 20,
        replies: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: u64 = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--recipients" => args.recipients = value as usize,
            "--rate" => args.rate = value as u32,
            "--seconds" => args.seconds = value.max(1),
            "--inbound" => args.inbound = value.max(1),
            "--replies" => args.replies = value.max(1),
            other => bail!("unknown option {other}; use --recipients, --rate, --seconds, --inbound, --replies"),
        }
    }
    Ok(args)
}

/// p50 and p99 in milliseconds.
fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    if times.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.50).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

struct Bench {
    _app: TestApp,
    org: Org,
    http: reqwest::Client,
    hook: String,
    conversation: String,
    sequence: AtomicUsize,
}

impl Bench {
    async fn post_hook(&self, body: Vec<u8>) -> anyhow::Result<Duration> {
        let signature = sign(APP_SECRET, &body);
        let start = Instant::now();
        let r = self
            .http
            .post(&self.hook)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await?;
        let took = start.elapsed();
        if !r.status().is_success() {
            bail!("webhook answered {}", r.status());
        }
        Ok(took)
    }

    fn customer_text(&self, from: &str) -> Vec<u8> {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        webhook(
            PHONE_ID,
            json!([{"profile": {"name": "Customer"}, "wa_id": from}]),
            json!([{"from": from, "id": format!("wamid.IN{n}"), "timestamp": "1730000000", "type": "text",
                    "text": {"body": format!("question {n}")}}]),
            Value::Null,
        )
    }

    /// Customer webhooks and agent replies at their rates for `seconds`.
    async fn traffic(&self, args: &Args) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
        let end = Instant::now() + Duration::from_secs(args.seconds);
        let inbound = async {
            let mut times = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.inbound));
            let mut n = 0u64;
            while Instant::now() < end {
                tick.tick().await;
                n += 1;
                let from = format!("49160{:08}", n % 500);
                times.push(self.post_hook(self.customer_text(&from)).await?);
            }
            anyhow::Ok(times)
        };
        let replies = async {
            let mut times = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.replies));
            let path = self.org.path(&format!("/conversations/{}/messages", self.conversation));
            while Instant::now() < end {
                tick.tick().await;
                let start = Instant::now();
                let r = self
                    .org
                    .agent
                    .post(&path, json!({"kind": "text", "body": "On it."}))
                    .await;
                times.push(start.elapsed());
                if r.status != 201 {
                    bail!("reply answered {}: {:?}", r.status, r.body);
                }
            }
            Ok(times)
        };
        let (inbound, replies) = tokio::join!(inbound, replies);
        Ok((inbound?, replies?))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let graph = GraphServer::start(TOKEN).await;
    let mut options = TestOptions {
        body_limit: 64 << 20,
        ..TestOptions::default()
    };
    options.service.channels = Registry::standard_with(&ProviderApis {
        whatsapp: graph.api(),
        ..Default::default()
    });
    options.service.job_poll_interval = Duration::from_secs(1);
    let app = TestApp::spawn_on(TestDb::for_backend(Backend::Sqlite).await, options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "Bench line", "default_team_id": org.team,
                   "config": {"phone_number_id": PHONE_ID, "business_account_id": "1", "access_token": TOKEN,
                              "app_secret": APP_SECRET}}),
        )
        .await;
    if r.status != 201 {
        bail!("channel: {:?}", r.body);
    }
    let channel = r["id"].as_str().context("channel id")?.to_owned();
    let template = org
        .admin
        .post(
            &org.path("/templates"),
            json!({"name": "sale", "language": "en", "category": "marketing", "body": "Hi {{1}}, our sale is on."}),
        )
        .await;
    let bench = Bench {
        hook: app.url(&format!("/hooks/whatsapp/{channel}")),
        http: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
        conversation: String::new(),
        sequence: AtomicUsize::new(0),
        _app: app,
        org,
    };
    // The chat the agent answers in.
    bench.post_hook(bench.customer_text(TARGET)).await?;
    let list = bench.org.admin.get(&bench.org.path("/conversations?limit=1")).await;
    let conversation = list["items"][0]["id"].as_str().context("the agent's chat")?.to_owned();
    let bench = Bench { conversation, ..bench };

    println!(
        "baseline: {} s of {} webhooks/s and {} replies/s, no campaign",
        args.seconds, args.inbound, args.replies
    );
    let (idle_in, idle_out) = bench.traffic(&args).await?;

    let mut csv = String::with_capacity(args.recipients * 24);
    csv.push_str("phone,name\n");
    for i in 0..args.recipients {
        csv.push_str(&format!("4917{:09},R{i}\n", i));
    }
    let created = Instant::now();
    let r = bench
        .org
        .admin
        .post(
            &bench.org.path("/campaigns"),
            json!({"name": "Bench", "channel_id": channel, "template_id": template["id"], "csv": csv,
                   "rate_per_second": args.rate, "values": {"body": [{"from": "column", "column": "name"}]}}),
        )
        .await;
    if r.status != 201 {
        bail!("campaign: {:?}", r.body);
    }
    let campaign = r["id"].as_str().context("campaign id")?.to_owned();
    println!(
        "campaign of {} created in {:.1} s",
        args.recipients,
        created.elapsed().as_secs_f64()
    );

    // Meta's statuses for every message it accepts: sent, delivered, read.
    let feeding = Arc::new(AtomicBool::new(true));
    let statuses = Arc::new(AtomicUsize::new(0));
    let first_accepted = graph.accepted_since(0).len();
    let feeder = {
        let (feeding, statuses, graph) = (feeding.clone(), statuses.clone(), graph.clone());
        let (hook, http) = (bench.hook.clone(), bench.http.clone());
        tokio::spawn(async move {
            let mut seen = first_accepted;
            while feeding.load(Ordering::Relaxed) {
                let fresh = graph.accepted_since(seen);
                seen += fresh.len();
                let bodies: Vec<Vec<u8>> = fresh
                    .iter()
                    .filter(|(_, to)| to.starts_with("4917"))
                    .flat_map(|(id, to)| {
                        ["sent", "delivered", "read"].map(|s| {
                            webhook(
                                PHONE_ID,
                                Value::Null,
                                Value::Null,
                                json!([{"id": id, "status": s, "timestamp": "1730000100", "recipient_id": to}]),
                            )
                        })
                    })
                    .collect();
                let sends = futures::stream::iter(bodies).map(|body| {
                    let (http, hook, statuses) = (http.clone(), hook.clone(), statuses.clone());
                    async move {
                        let signature = sign(APP_SECRET, &body);
                        if http
                            .post(&hook)
                            .header("content-type", "application/json")
                            .header(SIGNATURE_HEADER, signature)
                            .body(body)
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success())
                        {
                            statuses.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                use futures::StreamExt;
                sends.buffer_unordered(8).collect::<Vec<()>>().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Wait for the campaign to be sending.
    let started = Instant::now();
    while graph.accepted_since(first_accepted).is_empty() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the campaign did not start sending");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let campaign_sends = |graph: &GraphServer| {
        graph
            .accepted_since(0)
            .iter()
            .filter(|(_, to)| to.starts_with("4917"))
            .count()
    };
    let before = campaign_sends(&graph);
    let statuses_before = statuses.load(Ordering::Relaxed);
    println!("with the campaign running: the same traffic for {} s", args.seconds);
    let measured = Instant::now();
    let (busy_in, busy_out) = bench.traffic(&args).await?;
    let window = measured.elapsed().as_secs_f64();
    let campaign_sent = campaign_sends(&graph) - before;
    let status_hooks = statuses.load(Ordering::Relaxed) - statuses_before;
    feeding.store(false, Ordering::Relaxed);
    let _ = feeder.await;
    let view = bench
        .org
        .admin
        .get(&bench.org.path(&format!("/campaigns/{campaign}")))
        .await;
    let _ = bench
        .org
        .admin
        .post(
            &bench.org.path(&format!("/campaigns/{campaign}/actions")),
            json!({"action": "cancel"}),
        )
        .await;

    let (i50, i99) = percentiles(idle_in);
    let (b50, b99) = percentiles(busy_in);
    let (r50, r99) = percentiles(idle_out);
    let (q50, q99) = percentiles(busy_out);
    println!();
    println!("| measured | no campaign p50 / p99 (ms) | campaign running p50 / p99 (ms) | p99 ratio |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| inbound webhook acknowledged | {i50:.1} / {i99:.1} | {b50:.1} / {b99:.1} | {:.2} |",
        b99 / i99
    );
    println!(
        "| agent reply acknowledged | {r50:.1} / {r99:.1} | {q50:.1} / {q99:.1} | {:.2} |",
        q99 / r99
    );
    println!();
    println!(
        "campaign: {campaign_sent} messages accepted by the test server in {window:.1} s ({:.0}/s, asked {}/s); {status_hooks} status webhooks stored ({:.0}/s); counts then: {}",
        campaign_sent as f64 / window,
        args.rate,
        status_hooks as f64 / window,
        view["counts"]
    );
    drop(bench);
    Ok(())
}
