//! Message templates through the API: admins manage them (audited), every
//! member lists and previews them, and the rules of their fields (names,
//! languages, numbered placeholders) answer 422 naming the field.

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::Reply;
use switchboard_testkit::fixtures::Org;

fn ids(list: &Reply) -> Vec<String> {
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A 422 whose message names the field (or the value that is wrong).
fn assert_invalid(r: &Reply, field: &str) {
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(field), "{message:?} names {field}");
}

/// A 409 naming the field: values that do not fit this template.
fn assert_misfit(r: &Reply, field: &str) {
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], field, "{:?}", r.body);
}

async fn create(org: &Org, body: Value) -> Reply {
    org.admin.post(&org.path("/templates"), body).await
}

#[tokio::test]
async fn admins_manage_templates_and_every_member_lists_and_previews_them() {
    let app = TestApp::spawn_with(
        switchboard_testkit::TestOptions::default().with_stand_in(switchboard_core::ChannelKind::Whatsapp),
    )
    .await;
    let org = Org::create(&app).await;

    // A template for any channel, and one bound to the shop channel.
    let any = create(
        &org,
        json!({"name": "order_update", "language": "en_US", "category": "utility",
               "body": "Hi {{1}}, your order {{2}} is on its way. Thanks, {{1}}!"}),
    )
    .await;
    assert_eq!(any.status, 201, "{:?}", any.body);
    assert_eq!(any["channel_id"], Value::Null);
    assert_eq!(any["placeholder_count"], 2);
    assert_eq!(any["status"], "approved", "approved unless given");
    assert_eq!(any["category"], "utility");
    assert_eq!(any["workspace_id"], org.ws.as_str());
    let any_id = any["id"].as_str().unwrap().to_owned();
    let shop = create(
        &org,
        json!({"name": "order_update", "language": "en_US", "category": "utility", "channel_id": org.channel,
               "body": "Your order {{1}} shipped.", "status": "pending"}),
    )
    .await;
    assert_eq!(shop.status, 201, "{:?}", shop.body);
    assert_eq!(
        (shop["channel_id"].as_str(), &shop["status"]),
        (Some(org.channel.as_str()), &json!("pending"))
    );
    let shop_id = shop["id"].as_str().unwrap().to_owned();
    let portuguese = create(
        &org,
        json!({"name": "order_update", "language": "pt_BR", "category": "utility", "body": "Olá {{1}}!"}),
    )
    .await;
    assert_eq!(portuguese.status, 201, "{:?}", portuguese.body);
    let portuguese_id = portuguese["id"].as_str().unwrap().to_owned();

    // One name and language per channel; "any channel" counts as one.
    for channel in [Value::Null, json!(org.channel)] {
        let again = create(
            &org,
            json!({"name": "order_update", "language": "en_US", "category": "marketing", "body": "x", "channel_id": channel}),
        )
        .await;
        assert_eq!(
            (again.status.as_u16(), again.code()),
            (409, "conflict"),
            "{:?}",
            again.body
        );
    }

    // Every field's rule, named in the answer.
    for (body, field) in [
        (
            json!({"name": "Order Update", "language": "en", "category": "utility", "body": "x"}),
            "name",
        ),
        (
            json!({"name": "", "language": "en", "category": "utility", "body": "x"}),
            "name",
        ),
        (
            json!({"name": "a".repeat(513), "language": "en", "category": "utility", "body": "x"}),
            "name",
        ),
        (
            json!({"name": "ok", "language": "english", "category": "utility", "body": "x"}),
            "language",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "Hi {{2}}"}),
            "body",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "Hi {{1}} {{3}}"}),
            "body",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "Hi {{name}}"}),
            "body",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "  "}),
            "body",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "x".repeat(1025)}),
            "body",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "promo", "body": "x"}),
            "promo",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "x", "status": "live"}),
            "live",
        ),
        (
            json!({"name": "ok", "language": "en", "category": "utility", "body": "x", "colour": "red"}),
            "colour",
        ),
    ] {
        assert_invalid(&create(&org, body).await, field);
    }
    assert!(
        create(
            &org,
            json!({"name": "ok", "language": "en", "category": "utility", "body": "x".repeat(1024)})
        )
        .await
        .status
            == 201
    );
    let unknown_channel = create(
        &org,
        json!({"name": "ok2", "language": "en", "category": "utility", "body": "x",
               "channel_id": "00000000-0000-7000-8000-000000000000"}),
    )
    .await;
    assert_eq!(
        (unknown_channel.status.as_u16(), unknown_channel.code()),
        (404, "not_found")
    );

    // Agents list them (they pick templates) …
    let all = ids(&org.agent.get(&org.path("/templates")).await);
    assert_eq!(all.len(), 4);
    assert!([&any_id, &shop_id, &portuguese_id].iter().all(|id| all.contains(id)));
    let on_shop = ids(&org
        .agent
        .get(&org.path(&format!("/templates?channel={}", org.channel)))
        .await);
    assert_eq!(on_shop.len(), 4, "the shop's own and those for any channel");
    let other_channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "WhatsApp line"}),
        )
        .await;
    assert_eq!(other_channel.status, 201, "{:?}", other_channel.body);
    let on_other = ids(&org
        .agent
        .get(&org.path(&format!("/templates?channel={}", other_channel["id"].as_str().unwrap())))
        .await);
    assert!(!on_other.contains(&shop_id) && on_other.contains(&any_id) && on_other.len() == 3);
    assert_eq!(
        ids(&org.agent.get(&org.path("/templates?status=pending")).await),
        std::slice::from_ref(&shop_id)
    );
    let one = org.agent.get(&org.path(&format!("/templates/{any_id}"))).await;
    assert_eq!((one.status.as_u16(), &one["name"]), (200, &json!("order_update")));

    // … and preview them filled in.
    let preview = org
        .agent
        .post(
            &org.path(&format!("/templates/{any_id}/preview")),
            json!({"values": ["Ana", "A-123"]}),
        )
        .await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    assert_eq!(preview["text"], "Hi Ana, your order A-123 is on its way. Thanks, Ana!");
    for values in [
        json!(["Ana"]),
        json!(["Ana", "A-123", "extra"]),
        json!([]),
        json!(["Ana", " "]),
    ] {
        let r = org
            .agent
            .post(
                &org.path(&format!("/templates/{any_id}/preview")),
                json!({"values": values}),
            )
            .await;
        assert_misfit(&r, "values");
    }
    assert_invalid(
        &org.agent
            .post(&org.path(&format!("/templates/{any_id}/preview")), json!({}))
            .await,
        "values",
    );

    // But they change nothing.
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/templates".to_owned(),
            Some(json!({"name": "mine", "language": "en", "category": "utility", "body": "x"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/templates/{any_id}"),
            Some(json!({"body": "changed"})),
        ),
        (reqwest::Method::DELETE, format!("/templates/{any_id}"), None),
    ] {
        let r = org.agent.send(method.clone(), &org.path(&path), body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "forbidden"),
            "{method} {path}: {:?}",
            r.body
        );
    }
    assert_eq!(
        org.admin.get(&org.path(&format!("/templates/{any_id}"))).await["body"],
        any["body"]
    );

    // Admins change them: the placeholder count follows the body.
    let changed = org
        .admin
        .patch(
            &org.path(&format!("/templates/{any_id}")),
            json!({"body": "Order {{1}} for {{2}} ships on {{3}}.", "category": "marketing", "status": "rejected"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(
        (&changed["placeholder_count"], &changed["category"], &changed["status"]),
        (&json!(3), &json!("marketing"), &json!("rejected"))
    );
    assert!(changed["updated_at"].as_i64() >= any["updated_at"].as_i64());
    let preview = org
        .admin
        .post(
            &org.path(&format!("/templates/{any_id}/preview")),
            json!({"values": ["A-1", "Ana", "Monday"]}),
        )
        .await;
    assert_eq!(preview["text"], "Order A-1 for Ana ships on Monday.");
    assert_invalid(
        &org.admin
            .patch(&org.path(&format!("/templates/{any_id}")), json!({"body": "{{2}}"}))
            .await,
        "body",
    );
    assert_invalid(
        &org.admin
            .patch(&org.path(&format!("/templates/{any_id}")), json!({"language": "EN"}))
            .await,
        "language",
    );
    // Moving the shop's template to "any channel" collides with the one there.
    let collide = org
        .admin
        .patch(
            &org.path(&format!("/templates/{shop_id}")),
            json!({"any_channel": true}),
        )
        .await;
    assert_eq!(
        (collide.status.as_u16(), collide.code()),
        (409, "conflict"),
        "{:?}",
        collide.body
    );
    let renamed = org
        .admin
        .patch(
            &org.path(&format!("/templates/{shop_id}")),
            json!({"name": "shipping_notice", "any_channel": true}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(
        (&renamed["name"], &renamed["channel_id"]),
        (&json!("shipping_notice"), &Value::Null)
    );
    let moved = org
        .admin
        .patch(
            &org.path(&format!("/templates/{shop_id}")),
            json!({"channel_id": org.channel}),
        )
        .await;
    assert_eq!(moved["channel_id"], org.channel.as_str());

    // Deleted: gone for everyone.
    let deleted = org
        .admin
        .delete(&org.path(&format!("/templates/{portuguese_id}")))
        .await;
    assert_eq!(deleted.status, 204);
    for r in [
        org.admin.get(&org.path(&format!("/templates/{portuguese_id}"))).await,
        org.admin
            .delete(&org.path(&format!("/templates/{portuguese_id}")))
            .await,
        org.agent
            .post(
                &org.path(&format!("/templates/{portuguese_id}/preview")),
                json!({"values": ["x"]}),
            )
            .await,
    ] {
        assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "{:?}", r.body);
    }

    // Every change is in the audit log, with what it was about.
    let log = org.admin.get(&org.path("/audit-log?limit=200")).await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    let template_entries: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_kind"] == "template")
        .map(|e| (e["action"].as_str().unwrap(), e["target_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        template_entries,
        [
            ("template.deleted", portuguese_id.as_str()),
            ("template.updated", shop_id.as_str()),
            ("template.updated", shop_id.as_str()),
            ("template.updated", any_id.as_str()),
            ("template.created", template_entries[4].1),
            ("template.created", portuguese_id.as_str()),
            ("template.created", shop_id.as_str()),
            ("template.created", any_id.as_str()),
        ],
        "newest first; refused changes left nothing"
    );
    let update = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "template.updated" && e["target_id"] == any_id.as_str())
        .unwrap();
    assert_eq!(update["details"]["changed"], json!(["category", "body", "status"]));
}

#[tokio::test]
async fn a_channels_templates_go_with_it() {
    let app = TestApp::spawn_with(
        switchboard_testkit::TestOptions::default().with_stand_in(switchboard_core::ChannelKind::Whatsapp),
    )
    .await;
    let org = Org::create(&app).await;
    let line = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "WhatsApp line"}),
        )
        .await;
    let line = line["id"].as_str().unwrap().to_owned();
    let bound = create(
        &org,
        json!({"name": "welcome", "language": "en", "category": "marketing", "body": "Welcome!", "channel_id": line}),
    )
    .await;
    assert_eq!(bound.status, 201, "{:?}", bound.body);
    let free = create(
        &org,
        json!({"name": "welcome", "language": "en", "category": "marketing", "body": "Welcome!"}),
    )
    .await;
    assert_eq!(free.status, 201, "{:?}", free.body);
    assert_eq!(
        org.admin.delete(&org.path(&format!("/channels/{line}"))).await.status,
        204
    );
    let left = ids(&org.admin.get(&org.path("/templates")).await);
    assert_eq!(left, [free["id"].as_str().unwrap().to_owned()]);
}
