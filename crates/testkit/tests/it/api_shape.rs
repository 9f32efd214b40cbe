//! Cross-cutting API behaviour: cursor pagination, filters, and the OpenAPI
//! document describing every route with schemas that resolve.

use std::collections::HashSet;

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::Org;
use switchboard_web::api_routes;

async fn all_pages(client: &ApiClient, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=2&cursor={c}"),
            None => format!("{path}{sep}limit=2"),
        };
        let page = client.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {:?}", page.body);
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn lists_page_with_cursors_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let mut conversation = String::new();
    for i in 0..5 {
        let hook = org
            .customer_says(&app, &format!("m-{i}"), &format!("customer-{i}"), "hello")
            .await;
        conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    }
    let (items, pages) = all_pages(&org.admin, &org.path("/conversations")).await;
    assert_eq!((items.len(), pages), (5, 3));
    let ids: HashSet<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5);
    // Newest first.
    let order: Vec<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted);
    assert_eq!(items[0]["id"], conversation.as_str());

    // Messages, oldest first: the opening activity and the customer's text,
    // then four notes.
    for i in 0..4 {
        let r = org
            .admin
            .post(
                &org.path(&format!("/conversations/{conversation}/messages")),
                json!({"kind": "note", "body": format!("note {i}")}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let (messages, _) = all_pages(
        &org.admin,
        &org.path(&format!("/conversations/{conversation}/messages")),
    )
    .await;
    let kinds: Vec<&str> = messages.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["activity", "text", "note", "note", "note", "note"]);
    let (newest_first, _) = all_pages(
        &org.admin,
        &org.path(&format!("/conversations/{conversation}/messages?order=desc")),
    )
    .await;
    assert_eq!(newest_first[0]["body"], "note 3");

    // Filters.
    let (by_channel, _) = all_pages(
        &org.admin,
        &org.path(&format!("/conversations?channel={}", org.channel)),
    )
    .await;
    assert_eq!(by_channel.len(), 5);
    let (unassigned, _) = all_pages(&org.admin, &org.path("/conversations?assignee=none&status=queued")).await;
    assert_eq!(unassigned.len(), 5);
    let (mine, _) = all_pages(
        &org.admin,
        &org.path(&format!("/conversations?assignee={}", org.agent_id)),
    )
    .await;
    assert!(mine.is_empty());
    let (tickets, _) = all_pages(&org.admin, &org.path("/conversations?section=tickets")).await;
    assert_eq!(tickets.len(), 5, "nobody was online, so every chat is a ticket");
    let bad = org.admin.get(&org.path("/conversations?limit=0")).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_input"));
    let bad = org.admin.get(&org.path("/conversations?status=sleeping")).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_input"));
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_describes_every_route_and_its_schemas_resolve() {
    let app = TestApp::spawn().await;
    let doc = ApiClient::anonymous(&app).get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for route in api_routes() {
        if route.websocket {
            // OpenAPI has no WebSocket operation: listed apart, not as a GET.
            assert!(doc["paths"][route.path].is_null(), "{route:?}");
            let listed = doc["x-websockets"].as_array().unwrap();
            assert!(listed.iter().any(|w| w["path"] == route.path), "{route:?} is listed");
            continue;
        }
        let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        assert_eq!(op["operationId"], route.operation_id, "{route:?} is documented");
    }
    let mut found = Vec::new();
    refs(&doc.body, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{r} resolves");
    }
    let codes: Vec<&str> = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), switchboard_web::ERROR_CODES.len());
}
