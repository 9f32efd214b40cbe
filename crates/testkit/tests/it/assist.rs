//! AI assist (issue 22) against `llmock`, an OpenAI-compatible server with
//! scripted faults: each action's request carries its instructions and the
//! masked text; streamed and plain answers; 401, an unknown model, 429
//! with Retry-After, 500, a stalled and a truncated stream each give a
//! clear message and no answer to accept; a summary saved as a note is
//! private; the rate limit holds; the API key is never shown.

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::llmock::Llmock;

const KEY: &str = "sk-test-very-secret-4242";

struct Setup {
    app: TestApp,
    org: Org,
    mock: Llmock,
    chat: String,
}

impl Setup {
    fn assist(&self) -> String {
        self.org.path(&format!("/conversations/{}/assist", self.chat))
    }

    async fn configure(&self, extra: Value) {
        let mut body =
            json!({"base_url": self.mock.base_url(), "model": "tiny-model", "api_key": KEY, "timeout_seconds": 2});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let r = self.org.admin.put(&self.org.path("/assist/settings"), body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    /// The system and user texts of the latest request llmock received.
    async fn last_prompt(&self) -> (String, String, Value) {
        let requests = self.mock.requests().await;
        let body = requests.last().expect("a request reached the provider")["body"].clone();
        (
            body["messages"][0]["content"].as_str().unwrap_or_default().to_owned(),
            body["messages"][1]["content"].as_str().unwrap_or_default().to_owned(),
            body,
        )
    }
}

async fn setup() -> Option<Setup> {
    let mock = Llmock::start().await?;
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let r = org
        .customer_says(
            &app,
            "m-1",
            "carla",
            "Hola, soy Carla (carla@example.com, +34 612 345 678). ¿Dónde está mi pedido?",
        )
        .await;
    let chat = r["conversation_id"].as_str().unwrap().to_owned();
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{chat}/assign")),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    Some(Setup { app, org, mock, chat })
}

#[tokio::test]
async fn each_action_sends_its_instructions_and_the_masked_text_and_answers_cleanly() {
    let Some(s) = setup().await else { return };
    // Not set up yet: a clear refusal, and the composer keeps working.
    let r = s
        .org
        .agent
        .post(&s.assist(), json!({"action": "rephrase", "draft": "hi"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (409, Some("action")),
        "{:?}",
        r.body
    );
    s.configure(json!({})).await;

    // Tone: the preamble the model adds is not part of the answer.
    s.mock
        .script(json!([{"type": "reply", "text": "Sure! Here is the rewritten message:\n\nDear Carla, your order ships today."}]))
        .await;
    let r = s
        .org
        .agent
        .post(
            &s.assist(),
            json!({"action": "tone", "tone": "formal", "draft": "hey carla, ships today. mail me at ana@shop.example or 030 1234 5678"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["text"], "Dear Carla, your order ships today.");
    let (system, user, body) = s.last_prompt().await;
    assert!(system.contains("formal and courteous"), "{system}");
    assert_eq!(user, "hey carla, ships today. mail me at [email] or [phone]");
    assert_eq!(body["model"], "tiny-model");

    // Translate with no language: the customer's (masked) words tell it.
    s.mock
        .script(json!([{"type": "reply", "text": "Su pedido sale hoy."}]))
        .await;
    let r = s
        .org
        .agent
        .post(
            &s.assist(),
            json!({"action": "translate", "draft": "Your order ships today."}),
        )
        .await;
    assert_eq!(r["text"], "Su pedido sale hoy.", "{:?}", r.body);
    let (system, _, _) = s.last_prompt().await;
    assert!(system.contains("¿Dónde está mi pedido?"), "{system}");
    assert!(
        !system.contains("carla@example.com") && system.contains("[email]"),
        "{system}"
    );

    // Rephrase and expand carry their own instructions.
    for (action, says) in [
        ("rephrase", "clear, correct and persuasive"),
        ("expand", "complete, polite answer"),
    ] {
        s.mock.script(json!([{"type": "reply", "text": "Done."}])).await;
        let r = s
            .org
            .agent
            .post(&s.assist(), json!({"action": action, "draft": "refund ok"}))
            .await;
        assert_eq!(r["text"], "Done.", "{action}: {:?}", r.body);
        assert!(s.last_prompt().await.0.contains(says), "{action}");
    }

    // Summary: private notes stay out unless the admin allows them.
    let r = s
        .org
        .agent
        .post(
            &s.org.path(&format!("/conversations/{}/messages", s.chat)),
            json!({"kind": "note", "body": "internal: VIP, refund approved"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    s.mock
        .script(json!([{"type": "reply", "text": "```json\n{\"reason\": \"Where is the order\", \"done\": \"Checked\", \"pending\": \"nothing\"}\n```"}]))
        .await;
    let r = s.org.agent.post(&s.assist(), json!({"action": "summarize"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["summary"]["reason"], "Where is the order");
    let (system, user, _) = s.last_prompt().await;
    assert!(system.contains("\"pending\""), "{system}");
    assert!(user.contains("Customer: Hola") && !user.contains("VIP"), "{user}");

    // Saved as a private note, it is in the history and never sent.
    let sent_before = s.org.callback.received().len();
    let r = s
        .org
        .agent
        .post(
            &s.org.path(&format!("/conversations/{}/messages", s.chat)),
            json!({"kind": "note", "body": r["text"]}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r["kind"].as_str()),
        (201, Some("note")),
        "{:?}",
        r.body
    );
    let history = s
        .org
        .admin
        .get(&s.org.path(&format!("/conversations/{}/messages", s.chat)))
        .await;
    assert!(history.body.to_string().contains("Reason: Where is the order"));
    assert_eq!(
        s.org.callback.received().len(),
        sent_before,
        "a note never reaches the customer"
    );

    // An answer that is not the summary asked for is refused, clearly.
    s.mock
        .script(json!([{"type": "reply", "text": "I cannot do that."}]))
        .await;
    let r = s.org.agent.post(&s.assist(), json!({"action": "summarize"})).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("summary"),
        "{:?}",
        r.body
    );

    // The call log: who, what, model, outcome; no texts unless kept.
    let calls = s.org.admin.get(&s.org.path("/assist/calls")).await;
    let items = calls["items"].as_array().unwrap();
    assert!(items.len() >= 6, "{calls:?}");
    assert_eq!(items[0]["outcome"], "unusable_answer");
    assert_eq!(items[1]["action"], "summarize");
    assert!(
        items
            .iter()
            .all(|c| c["input_text"].is_null() && c["model"] == "tiny-model")
    );
    // Agents do not read it.
    assert_eq!(s.org.agent.get(&s.org.path("/assist/calls")).await.status, 403);
    let _ = &s.app;
}

#[tokio::test]
async fn streamed_answers_come_in_pieces_and_broken_streams_give_nothing_to_accept() {
    let Some(s) = setup().await else { return };
    s.configure(json!({})).await;
    let stream = format!("{}/stream", s.assist());
    s.mock
        .script(json!([{"type": "reply", "text": "We ship your order today."}]))
        .await;
    let (status, events) = s
        .org
        .agent
        .post_events(&stream, json!({"action": "rephrase", "draft": "ships today"}))
        .await;
    assert_eq!(status, 200);
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "delta")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "We ship your order today.");
    assert!(events.iter().filter(|e| e["type"] == "delta").count() > 1, "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(
        (&last["type"], &last["answer"]["text"]),
        (&json!("done"), &json!("We ship your order today."))
    );
    assert_eq!(s.mock.requests().await.last().unwrap()["body"]["stream"], true);

    for (fault, code) in [
        (
            json!({"type": "stream_fault", "kind": "truncate", "after_chunks": 3, "match": {"stream": true}}),
            "truncated",
        ),
        (
            json!({"type": "stream_fault", "kind": "stall", "after_chunks": 2, "stall_seconds": 30, "match": {"stream": true}}),
            "timeout",
        ),
        (
            json!({"type": "stream_fault", "kind": "disconnect", "after_chunks": 2, "match": {"stream": true}}),
            "truncated",
        ),
    ] {
        s.mock.reset().await;
        s.mock.script(json!([fault])).await;
        let (status, events) = s
            .org
            .agent
            .post_events(&stream, json!({"action": "rephrase", "draft": "ships today"}))
            .await;
        assert_eq!(status, 200);
        let last = events.last().unwrap();
        assert_eq!(
            (&last["type"], &last["code"]),
            (&json!("failed"), &json!(code)),
            "{events:?}"
        );
        assert!(
            !events.iter().any(|e| e["type"] == "done"),
            "nothing to accept: {events:?}"
        );
    }
}

#[tokio::test]
async fn provider_failures_say_what_went_wrong_and_retries_honour_retry_after() {
    let Some(s) = setup().await else { return };
    s.configure(json!({})).await;
    let draft = json!({"action": "rephrase", "draft": "ships today"});

    s.mock.script(json!([{"type": "fail", "status": 401}])).await;
    let r = s.org.agent.post(&s.assist(), draft.clone()).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("API key"),
        "{:?}",
        r.body
    );
    assert_eq!(s.mock.requests().await.len(), 1, "a 401 is not retried");

    s.mock.reset().await;
    s.mock
        .script(json!([{"type": "fail", "status": 404, "message": "The model `tiny-model` does not exist", "code": "model_not_found"}]))
        .await;
    let r = s.org.agent.post(&s.assist(), draft.clone()).await;
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no model named \"tiny-model\""),
        "{:?}",
        r.body
    );

    // 429 once with Retry-After: 1 s, then an answer; the retry waited.
    s.mock.reset().await;
    s.mock
        .script(
            json!([{"type": "fail", "status": 429, "retry_after": 1, "times": 1}, {"type": "reply", "text": "Fine."}]),
        )
        .await;
    let r = s.org.agent.post(&s.assist(), draft.clone()).await;
    assert_eq!(r["text"], "Fine.", "{:?}", r.body);
    let requests = s.mock.requests().await;
    assert_eq!(requests.len(), 2);
    let waited = requests[1]["started_at"].as_f64().unwrap() - requests[0]["ended_at"].as_f64().unwrap();
    assert!(waited >= 0.95, "waited {waited} s after a Retry-After of 1 s");

    // Rate limited for longer than we wait: the agent is told when to retry.
    s.mock.reset().await;
    s.mock
        .script(json!([{"type": "fail", "status": 429, "retry_after": 60, "times": 3}]))
        .await;
    let r = s.org.agent.post(&s.assist(), draft.clone()).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), Some("60"));

    // 500s are retried a bounded number of times, then reported.
    s.mock.reset().await;
    s.mock
        .script(json!([{"type": "fail", "status": 500, "times": 10}]))
        .await;
    let r = s.org.agent.post(&s.assist(), draft.clone()).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("HTTP 500"),
        "{:?}",
        r.body
    );
    assert_eq!(s.mock.requests().await.len(), 3);

    // Test connection names the failure.
    s.mock.reset().await;
    s.mock.script(json!([{"type": "fail", "status": 401}])).await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(
        (r["ok"].as_bool(), r["code"].as_str()),
        (Some(false), Some("unauthorized")),
        "{:?}",
        r.body
    );
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(
        (r["ok"].as_bool(), r["code"].as_str()),
        (Some(true), Some("ok")),
        "{:?}",
        r.body
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    s.configure(json!({"base_url": format!("http://127.0.0.1:{closed}/v1")}))
        .await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(r["code"], "refused", "{:?}", r.body);
    s.configure(json!({"base_url": "http://no-such-host.invalid/v1"})).await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(r["code"], "dns", "{:?}", r.body);
    // TLS spoken to a plain-HTTP server.
    s.configure(json!({"base_url": s.mock.base_url().replace("http://", "https://")}))
        .await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(r["code"], "tls", "{:?}", r.body);
    // Something that is not a chat-completions endpoint (our own API).
    s.configure(json!({"base_url": s.app.url("/api/v1")})).await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(r["code"], "not_compatible", "{:?}", r.body);
    // Slower than the timeout (2 s).
    s.configure(json!({})).await;
    s.mock.reset().await;
    s.mock.script(json!([{"type": "delay", "seconds": 4}])).await;
    let r = s.org.admin.post(&s.org.path("/assist/test"), json!({})).await;
    assert_eq!(r["code"], "timeout", "{:?}", r.body);
    assert!(r["message"].as_str().unwrap().contains("within 2 s"), "{:?}", r.body);
}

#[tokio::test]
async fn the_key_is_sealed_and_never_shown_and_the_rate_limit_holds() {
    let Some(s) = setup().await else { return };
    s.configure(json!({})).await;
    let settings = s.org.admin.get(&s.org.path("/assist/settings")).await;
    assert_eq!(settings["has_api_key"], true);
    assert!(!settings.body.to_string().contains(KEY));
    let audit = s.org.admin.get(&s.org.path("/audit-log")).await;
    assert!(audit.body.to_string().contains("assist.settings_changed"));
    assert!(!audit.body.to_string().contains(KEY));
    // Stored sealed, not as typed.
    let ws: switchboard_core::WorkspaceId = s.org.ws.parse().unwrap();
    let row = s
        .app
        .services
        .store()
        .reader()
        .assist_settings(ws)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.api_key_sealed.unwrap().contains("very-secret"));
    // Keeping the key: leave it out; agents cannot touch the settings.
    let r = s
        .org
        .admin
        .put(
            &s.org.path("/assist/settings"),
            json!({"base_url": s.mock.base_url(), "model": "other"}),
        )
        .await;
    assert_eq!(
        (r["has_api_key"].as_bool(), r["model"].as_str()),
        (Some(true), Some("other"))
    );
    let r = s
        .org
        .agent
        .put(
            &s.org.path("/assist/settings"),
            json!({"base_url": s.mock.base_url(), "model": "x"}),
        )
        .await;
    assert_eq!(r.status, 403);
    // Bad settings name their field.
    for (body, field) in [
        (json!({"base_url": "ftp://x", "model": "m"}), "base_url"),
        (json!({"base_url": s.mock.base_url(), "model": ""}), "model"),
        (
            json!({"base_url": s.mock.base_url(), "model": "m", "timeout_seconds": 0}),
            "timeout_seconds",
        ),
    ] {
        let r = s.org.admin.put(&s.org.path("/assist/settings"), body).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["field"].as_str()),
            (422, Some(field)),
            "{:?}",
            r.body
        );
    }
    // A feature turned off is refused; an empty draft names the field.
    s.configure(json!({"features": ["summarize"]})).await;
    let r = s
        .org
        .agent
        .post(&s.assist(), json!({"action": "rephrase", "draft": "x"}))
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    s.configure(json!({})).await;
    let r = s
        .org
        .agent
        .post(&s.assist(), json!({"action": "rephrase", "draft": "  "}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("draft"))
    );

    // Twenty calls a minute per member, then 429.
    let mut statuses = Vec::new();
    for i in 0..21 {
        s.mock
            .script(json!([{"type": "reply", "text": format!("Answer {i}")}]))
            .await;
        let r = s
            .org
            .agent
            .post(&s.assist(), json!({"action": "rephrase", "draft": "ships today"}))
            .await;
        statuses.push(r.status.as_u16());
    }
    assert!(statuses[..20].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[20], 429);
}
