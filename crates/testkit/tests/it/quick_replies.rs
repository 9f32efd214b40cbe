//! Quick replies (DESIGN.md §3, §7): personal ones are their owner's alone,
//! team ones reach the team's members and are kept by its supervisors,
//! workspace ones reach everyone and are kept by admins. Runs on the backend
//! `SWITCHBOARD_TEST_DB` selects.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::{ApiClient, Reply};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;

/// Add a member with this role and teams, signed in.
async fn create(client: &ApiClient, org: &Org, body: Value) -> Reply {
    client.post(&org.path("/quick-replies"), body).await
}

/// The shortcuts a client may use, as listed.
async fn shortcuts(client: &ApiClient, org: &Org) -> Vec<String> {
    let list = client.get(&org.path("/quick-replies")).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["shortcut"].as_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
fn assert_status(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (status, code),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn scopes_decide_who_sees_and_who_changes_a_quick_reply() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let sales = sales["id"].as_str().unwrap().to_owned();
    let sam = org
        .member(&app, "sam@acme.test", "sam@acme.test", "supervisor", &[&org.team])
        .await
        .0;
    let bo = org
        .member(&app, "bo@acme.test", "bo@acme.test", "agent", &[&sales])
        .await
        .0;

    // An agent keeps personal quick replies, seen by nobody else.
    let hello = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "/hello", "text": "Hello! How can I help?"}),
    )
    .await;
    assert_eq!(hello.status, 201, "{:?}", hello.body);
    assert_eq!(hello["shortcut"], "hello", "the slash people type is dropped");
    assert_eq!(hello["scope"], "personal");
    assert_eq!(hello["owner_user_id"], org.agent_id.as_str());
    assert_eq!(hello["attachment"], Value::Null);
    let hello = hello["id"].as_str().unwrap().to_owned();
    assert_eq!(shortcuts(&org.agent, &org).await, ["hello"]);
    assert!(shortcuts(&bo, &org).await.is_empty());
    assert!(
        shortcuts(&org.admin, &org).await.is_empty(),
        "not even admins see others' personal ones"
    );

    // ... and nothing shared.
    for body in [
        json!({"scope": "team", "team_id": org.team, "shortcut": "refund", "text": "Refunds take 5 days."}),
        json!({"scope": "workspace", "shortcut": "hours", "text": "We answer 9 to 5."}),
    ] {
        assert_status(&create(&org.agent, &org, body).await, 403, "forbidden");
    }

    // A supervisor keeps their team's, which its members use.
    let refund = create(
        &sam,
        &org,
        json!({"scope": "team", "team_id": org.team, "shortcut": "refund", "text": "Refunds take 5 days."}),
    )
    .await;
    assert_eq!(refund.status, 201, "{:?}", refund.body);
    assert_eq!(refund["team_id"], org.team.as_str());
    let refund = refund["id"].as_str().unwrap().to_owned();
    assert_eq!(shortcuts(&org.agent, &org).await, ["hello", "refund"]);
    assert!(shortcuts(&bo, &org).await.is_empty(), "another team's are out of reach");
    assert_eq!(shortcuts(&org.admin, &org).await, ["refund"]);
    let not_their_team = create(
        &sam,
        &org,
        json!({"scope": "team", "team_id": sales, "shortcut": "deal", "text": "A deal!"}),
    )
    .await;
    assert_status(&not_their_team, 403, "forbidden");
    let workspace = create(
        &sam,
        &org,
        json!({"scope": "workspace", "shortcut": "hours", "text": "We answer 9 to 5."}),
    )
    .await;
    assert_status(&workspace, 403, "forbidden");

    // A member uses the team's but does not change it; others do not find it.
    let path = org.path(&format!("/quick-replies/{refund}"));
    assert_status(
        &org.agent.patch(&path, json!({"text": "Mine now"})).await,
        403,
        "forbidden",
    );
    assert_status(&org.agent.delete(&path).await, 403, "forbidden");
    assert_status(&bo.patch(&path, json!({"text": "Mine now"})).await, 404, "not_found");
    assert_status(&bo.delete(&path).await, 404, "not_found");
    let changed = sam.patch(&path, json!({"text": "Refunds take 3 days."})).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed["text"], "Refunds take 3 days.");

    // An admin keeps the workspace's, which everyone uses.
    let hours = create(
        &org.admin,
        &org,
        json!({"scope": "workspace", "shortcut": "hours", "text": "We answer 9 to 5."}),
    )
    .await;
    assert_eq!(hours.status, 201, "{:?}", hours.body);
    for client in [&org.agent, &sam, &bo, &org.admin] {
        assert!(shortcuts(client, &org).await.contains(&"hours".to_owned()));
    }
    let hours_path = org.path(&format!("/quick-replies/{}", hours["id"].as_str().unwrap()));
    assert_status(&sam.patch(&hours_path, json!({"text": "?"})).await, 403, "forbidden");

    // A personal one is changed by its owner only.
    let hello_path = org.path(&format!("/quick-replies/{hello}"));
    for other in [&bo, &sam, &org.admin] {
        assert_status(&other.patch(&hello_path, json!({"text": "?"})).await, 404, "not_found");
        assert_status(&other.delete(&hello_path).await, 404, "not_found");
    }
    let renamed = org.agent.patch(&hello_path, json!({"shortcut": "hi"})).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(
        (renamed["shortcut"].as_str(), renamed["text"].as_str()),
        (Some("hi"), Some("Hello! How can I help?"))
    );
    assert_eq!(org.agent.delete(&hello_path).await.status, 204);
    assert_status(&org.agent.delete(&hello_path).await, 404, "not_found");

    // Admins keep every team's.
    assert_eq!(org.admin.delete(&path).await.status, 204);
    assert_eq!(shortcuts(&org.agent, &org).await, ["hours"]);
}

#[tokio::test]
async fn shortcuts_are_unique_within_their_owner_and_validated() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let bo = org.member(&app, "bo@acme.test", "bo@acme.test", "agent", &[]).await.0;
    let thanks = |scope: &str| {
        let mut body = json!({"scope": scope, "shortcut": "thanks", "text": "Thank you!"});
        if scope == "team" {
            body["team_id"] = json!(org.team);
        }
        body
    };

    // The same shortcut once per user, per team, per workspace.
    assert_eq!(create(&org.agent, &org, thanks("personal")).await.status, 201);
    let again = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "/thanks", "text": "Thanks again"}),
    )
    .await;
    assert_status(&again, 409, "conflict");
    assert!(again.body["error"]["message"].as_str().unwrap().contains("/thanks"));
    assert_eq!(create(&bo, &org, thanks("personal")).await.status, 201);
    assert_eq!(create(&org.admin, &org, thanks("team")).await.status, 201);
    assert_status(&create(&org.admin, &org, thanks("team")).await, 409, "conflict");
    assert_eq!(create(&org.admin, &org, thanks("workspace")).await.status, 201);
    assert_status(&create(&org.admin, &org, thanks("workspace")).await, 409, "conflict");

    // Renaming onto a taken shortcut conflicts too.
    let bye = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "bye", "text": "Bye!"}),
    )
    .await;
    let bye_path = org.path(&format!("/quick-replies/{}", bye["id"].as_str().unwrap()));
    assert_status(
        &org.agent.patch(&bye_path, json!({"shortcut": "thanks"})).await,
        409,
        "conflict",
    );

    // Bad input names the field.
    let team = org.team.as_str();
    for (body, field) in [
        (
            json!({"scope": "personal", "shortcut": "Hello There", "text": "x"}),
            "shortcut",
        ),
        (json!({"scope": "personal", "shortcut": "/", "text": "x"}), "shortcut"),
        (
            json!({"scope": "personal", "shortcut": "a".repeat(33), "text": "x"}),
            "shortcut",
        ),
        (json!({"scope": "personal", "shortcut": "ok", "text": "  "}), "text"),
        (
            json!({"scope": "personal", "shortcut": "ok", "text": "x".repeat(4097)}),
            "text",
        ),
        (json!({"scope": "team", "shortcut": "ok", "text": "x"}), "team_id"),
        (
            json!({"scope": "personal", "team_id": team, "shortcut": "ok", "text": "x"}),
            "team_id",
        ),
        // An unknown scope is named with the ones there are.
        (
            json!({"scope": "everyone", "shortcut": "ok", "text": "x"}),
            "`workspace`",
        ),
        (json!({"shortcut": "ok", "text": "x"}), "scope"),
    ] {
        let reply = create(&org.admin, &org, body.clone()).await;
        assert_status(&reply, 422, "invalid_input");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let reply = org.agent.patch(&bye_path, json!({"shortcut": "No Way"})).await;
    assert_status(&reply, 422, "invalid_input");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("shortcut"));
    let reply = org.agent.patch(&bye_path, json!({"scope": "workspace"})).await;
    assert_status(&reply, 422, "invalid_input");

    // A team that does not exist is not found.
    let nowhere = create(
        &org.admin,
        &org,
        json!({"scope": "team", "team_id": uuid::Uuid::now_v7(), "shortcut": "ok", "text": "x"}),
    )
    .await;
    assert_status(&nowhere, 404, "not_found");
    // Nothing half-made was kept.
    assert_eq!(shortcuts(&org.agent, &org).await, ["bye", "thanks", "thanks", "thanks"]);
}

#[tokio::test]
async fn another_workspaces_quick_replies_are_not_found() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (olga, their_ws) = app.other_workspace("olga@other.test").await;
    let theirs = olga
        .post(
            &format!("/api/v1/workspaces/{their_ws}/quick-replies"),
            json!({"scope": "workspace", "shortcut": "secret", "text": "their secret"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    let id = theirs["id"].as_str().unwrap();

    let path = org.path(&format!("/quick-replies/{id}"));
    assert_status(&org.admin.patch(&path, json!({"text": "ours"})).await, 404, "not_found");
    assert_status(&org.admin.delete(&path).await, 404, "not_found");
    let ours = org.admin.get(&org.path("/quick-replies")).await;
    assert!(!ours.body.to_string().contains(id));
    // Their workspace itself is not ours to read.
    let list = org
        .admin
        .get(&format!("/api/v1/workspaces/{their_ws}/quick-replies"))
        .await;
    assert_status(&list, 404, "not_found");
    // Still theirs, unchanged.
    let list = olga.get(&format!("/api/v1/workspaces/{their_ws}/quick-replies")).await;
    assert_eq!(list["items"][0]["text"], "their secret");
}

#[tokio::test]
async fn a_quick_reply_carries_an_attachment_its_users_can_download() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // Bo is in no team: the Support conversation is out of his reach.
    let bo = org.member(&app, "bo@acme.test", "bo@acme.test", "agent", &[]).await.0;
    let hook = org.customer_says(&app, "m-1", "carla", "hello").await;
    let upload = org
        .admin
        .send_raw(
            Method::POST,
            &org.path(&format!(
                "/conversations/{}/attachments?filename=price-list.png",
                hook["conversation_id"].as_str().unwrap()
            )),
            Some("image/png"),
            png(4, 4, 0),
        )
        .await;
    assert_eq!(upload.status, 201, "{:?}", upload.body);
    let file = &upload["attachments"][0];
    let url = file["url"].as_str().unwrap().to_owned();
    // An agent cannot pick a file out of their reach, nor one that does not exist.
    let pick =
        |attachment: Value| json!({"scope": "personal", "shortcut": "mine", "text": "x", "attachment_id": attachment});
    let quick_replies = org.path("/quick-replies");
    assert_status(&bo.get(&url).await, 404, "not_found");
    assert_status(
        &bo.post(&quick_replies, pick(file["id"].clone())).await,
        404,
        "not_found",
    );
    assert_status(
        &bo.post(&quick_replies, pick(json!(uuid::Uuid::now_v7()))).await,
        404,
        "not_found",
    );

    let created = create(
        &org.admin,
        &org,
        json!({"scope": "workspace", "shortcut": "prices", "text": "Our prices:", "attachment_id": file["id"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created["attachment_id"], file["id"]);
    assert_eq!(created["attachment"]["url"], url.as_str());

    let list = bo.get(&quick_replies).await;
    let item = &list["items"][0];
    assert_eq!(item["shortcut"], "prices");
    assert_eq!(item["attachment"]["url"], url.as_str());
    assert_eq!(item["attachment"]["preview_url"], format!("{url}/preview"));
    assert_eq!(item["attachment"]["filename"], "price-list.png");
    assert_eq!(item["attachment"]["kind"], "image");
    // Whoever may use the quick reply may download its file.
    assert_eq!(bo.get(&url).await.status, 200);

    // Without the file the link closes again for those outside the chat.
    let path = org.path(&format!("/quick-replies/{}", created["id"].as_str().unwrap()));
    let cleared = org.admin.patch(&path, json!({"clear_attachment": true})).await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    assert_eq!(cleared["attachment"], Value::Null);
    assert_eq!(cleared["attachment_id"], Value::Null);
    assert_eq!(cleared["text"], "Our prices:");
    assert_status(&bo.get(&url).await, 404, "not_found");
}

#[tokio::test]
async fn a_quick_reply_is_sent_with_its_file_as_one_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let hook = org.customer_says(&app, "m-1", "carla", "what do you charge?").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let upload = org
        .agent
        .send_raw(
            Method::POST,
            &org.path(&format!(
                "/conversations/{conversation}/attachments?filename=prices.png"
            )),
            Some("image/png"),
            png(4, 4, 7),
        )
        .await;
    assert_eq!(upload.status, 201, "{:?}", upload.body);
    let file = upload["attachments"][0].clone();
    let with_file = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "prices", "text": "Our prices:", "attachment_id": file["id"]}),
    )
    .await;
    assert_eq!(with_file.status, 201, "{:?}", with_file.body);
    let plain = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "hi", "text": "Hello there!"}),
    )
    .await;
    let send = |id: &Value| {
        org.path(&format!(
            "/conversations/{conversation}/quick-replies/{}",
            id.as_str().unwrap()
        ))
    };

    // The agent's edit of the text goes with the file, in one message.
    let sent = org
        .agent
        .post(&send(&with_file["id"]), json!({"text": "Our prices, as promised:"}))
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(
        (sent["kind"].clone(), sent["body"].clone()),
        (json!("media"), json!("Our prices, as promised:"))
    );
    let copy = &sent["attachments"][0];
    assert_ne!(copy["id"], file["id"], "a new attachment of the new message");
    assert_eq!(
        (copy["sha256"].clone(), copy["filename"].clone()),
        (file["sha256"].clone(), json!("prices.png"))
    );
    let download = org.agent.get(copy["url"].as_str().unwrap()).await;
    assert_eq!(download.status, 200);
    // The copy keeps the file's preview.
    assert_eq!(
        copy["preview_url"],
        format!("{}/preview", copy["url"].as_str().unwrap())
    );
    let preview = org.agent.get(copy["preview_url"].as_str().unwrap()).await;
    let original = org.agent.get(file["preview_url"].as_str().unwrap()).await;
    assert_eq!((preview.status.as_u16(), original.status.as_u16()), (200, 200));
    assert_eq!(preview.headers.get("etag"), original.headers.get("etag"));
    // Without an edit, the quick reply's own text; without a file, a text reply.
    let sent = org.agent.post(&send(&with_file["id"]), json!({})).await;
    assert_eq!(sent["body"], "Our prices:");
    let sent = org.agent.post(&send(&plain["id"]), json!({})).await;
    assert_eq!(
        (sent.status.as_u16(), sent["kind"].clone()),
        (201, json!("text")),
        "{:?}",
        sent.body
    );
    let history = org
        .agent
        .get(&org.path(&format!("/conversations/{conversation}/messages")))
        .await;
    let media = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "media")
        .count();
    assert_eq!(media, 3, "the upload and the two quick replies with the file");

    // Someone else's personal quick reply, an unknown one: 404. A supervisor
    // who may see the chat does not write to the customer: 403.
    let sam = org
        .member(&app, "sam@acme.test", "sam@acme.test", "supervisor", &[&org.team])
        .await
        .0;
    assert_status(&sam.post(&send(&with_file["id"]), json!({})).await, 404, "not_found");
    assert_status(
        &org.agent
            .post(&send(&json!(uuid::Uuid::now_v7().to_string())), json!({}))
            .await,
        404,
        "not_found",
    );
    let shared = create(
        &org.admin,
        &org,
        json!({"scope": "workspace", "shortcut": "prices-all", "text": "Prices:", "attachment_id": file["id"]}),
    )
    .await;
    assert_eq!(shared.status, 201, "{:?}", shared.body);
    assert_status(&sam.post(&send(&shared["id"]), json!({})).await, 403, "forbidden");
    // Malformed input is refused before anything is sent.
    assert_status(
        &org.agent.post(&send(&plain["id"]), json!({"text": ""})).await,
        422,
        "invalid_input",
    );
}

/// Upload a file to the caller's library (no conversation, no message).
async fn library_upload(client: &ApiClient, org: &Org, filename: &str, bytes: Vec<u8>) -> Reply {
    client
        .send_raw(
            Method::POST,
            &org.path(&format!("/attachments?filename={filename}")),
            Some("application/octet-stream"),
            bytes,
        )
        .await
}

#[tokio::test]
async fn a_file_uploaded_for_a_quick_reply_is_posted_nowhere_and_reaches_only_its_users() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let bo = org.member(&app, "bo@acme.test", "bo@acme.test", "agent", &[]).await.0;
    let sam = org
        .member(&app, "sam@acme.test", "sam@acme.test", "supervisor", &[&org.team])
        .await
        .0;
    let hook = org.customer_says(&app, "m-1", "carla", "what do you charge?").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let history = org.path(&format!("/conversations/{conversation}/messages"));
    let messages_before = org.agent.get(&history).await["items"].as_array().unwrap().len();
    let conversations_before = org.admin.get(&org.path("/conversations")).await.body.to_string();

    // Any member stores a file in their library: 201, the attachment, no message.
    let bytes = png(6, 6, 11);
    let upload = library_upload(&org.agent, &org, "price-list.png", bytes.clone()).await;
    assert_eq!(upload.status, 201, "{:?}", upload.body);
    assert_eq!(upload["conversation_id"], Value::Null);
    assert_eq!(upload["message_id"], Value::Null);
    assert_eq!(
        (
            upload["kind"].as_str(),
            upload["mime"].as_str(),
            upload["filename"].as_str()
        ),
        (Some("image"), Some("image/png"), Some("price-list.png"))
    );
    let sha = upload["sha256"].as_str().unwrap().to_owned();
    let url = upload["url"].as_str().unwrap().to_owned();
    assert_eq!(
        org.agent.get(&history).await["items"].as_array().unwrap().len(),
        messages_before,
        "nothing posted in the chat"
    );
    assert_eq!(
        org.admin.get(&org.path("/conversations")).await.body.to_string(),
        conversations_before,
        "no conversation made or touched"
    );
    // Only the uploader downloads it while no quick reply carries it.
    assert_eq!(org.agent.get(&url).await.status, 200);
    for other in [&bo, &sam, &org.admin] {
        assert_status(&other.get(&url).await, 404, "not_found");
    }
    // Others cannot attach it to their quick replies either.
    assert_status(
        &create(
            &org.admin,
            &org,
            json!({"scope": "workspace", "shortcut": "stolen", "text": "x", "attachment_id": upload["id"]}),
        )
        .await,
        404,
        "not_found",
    );

    // A personal quick reply carries it: still the owner's alone.
    let mine = create(
        &org.agent,
        &org,
        json!({"scope": "personal", "shortcut": "prices", "text": "Our prices:", "attachment_id": upload["id"]}),
    )
    .await;
    assert_eq!(mine.status, 201, "{:?}", mine.body);
    assert_eq!(mine["attachment"]["url"], url.as_str());
    assert_status(&bo.get(&url).await, 404, "not_found");

    // An admin's library file on a workspace quick reply: everyone who may
    // use it downloads it; another workspace does not.
    let shared = library_upload(&org.admin, &org, "hours.png", png(5, 5, 3)).await;
    assert_eq!(shared.status, 201, "{:?}", shared.body);
    let shared_url = shared["url"].as_str().unwrap().to_owned();
    assert_status(&bo.get(&shared_url).await, 404, "not_found");
    let hours = create(
        &org.admin,
        &org,
        json!({"scope": "workspace", "shortcut": "hours", "text": "Our hours", "attachment_id": shared["id"]}),
    )
    .await;
    assert_eq!(hours.status, 201, "{:?}", hours.body);
    for user in [&bo, &sam, &org.agent] {
        assert_eq!(user.get(&shared_url).await.status, 200);
    }
    let (olga, their_ws) = app.other_workspace("olga@other.test").await;
    assert_status(&olga.get(&shared_url).await, 404, "not_found");
    assert_status(
        &olga.get(&shared_url.replace(&org.ws, &their_ws.to_string())).await,
        404,
        "not_found",
    );

    // Sending the quick reply posts the file as media, a copy of the record
    // on the same stored content.
    let sent = org
        .agent
        .post(
            &org.path(&format!(
                "/conversations/{conversation}/quick-replies/{}",
                mine["id"].as_str().unwrap()
            )),
            json!({}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(
        (sent["kind"].as_str(), sent["body"].as_str()),
        (Some("media"), Some("Our prices:"))
    );
    let copy = &sent["attachments"][0];
    assert_ne!(copy["id"], upload["id"]);
    assert_eq!(copy["sha256"], sha.as_str());
    assert_eq!(copy["conversation_id"], conversation.as_str());
    assert_eq!(copy["filename"], "price-list.png");
    // Sam sees the chat, so the copy; the library file stays the agent's.
    let download = sam.get(copy["url"].as_str().unwrap()).await;
    assert_eq!(download.status, 200);
    assert_status(&sam.get(&url).await, 404, "not_found");
    let mut raw = org
        .agent
        .http
        .get(format!("{}{}", org.agent.base, copy["url"].as_str().unwrap()));
    if let Some(token) = &org.agent.bearer {
        raw = raw.bearer_auth(token);
    }
    let raw = raw.send().await.unwrap().bytes().await.unwrap();
    assert_eq!(raw.to_vec(), bytes, "the very bytes uploaded");
}

#[tokio::test]
async fn a_library_upload_keeps_the_limits_and_the_type_rules() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    const MB: usize = 1024 * 1024;

    let big = library_upload(&org.agent, &org, "big.png", png(16, 16, 6 * MB)).await;
    assert_status(&big, 413, "payload_too_large");
    let message = big.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("5 MB") && message.contains("images"), "{message}");

    let html = library_upload(
        &org.agent,
        &org,
        "cat.png",
        b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>".to_vec(),
    )
    .await;
    assert_status(&html, 422, "unsupported_type");
    assert!(
        html.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed are images")
    );
    assert_status(
        &library_upload(&org.agent, &org, "empty.png", Vec::new()).await,
        422,
        "invalid_input",
    );
    // A conversation upload's caption has no place here.
    let captioned = org
        .agent
        .send_raw(
            Method::POST,
            &org.path("/attachments?filename=a.png&caption=hi"),
            Some("image/png"),
            png(2, 2, 0),
        )
        .await;
    assert!(captioned.status.is_client_error(), "{:?}", captioned.body);
    // Nothing stored for the refused ones.
    fn files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| if e.path().is_dir() { files(&e.path()) } else { 1 })
            .sum()
    }
    assert_eq!(
        files(app.attachments.path()),
        0,
        "no object kept, not even a partial one"
    );
}
