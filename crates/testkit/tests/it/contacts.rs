//! Contacts through the API: their tags (the workspace's tag records, set and
//! replaced on create and update, validated like conversation tags) and the
//! list's filters by tag and by channel, alongside the search, all kept within
//! the workspace.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::{ApiClient, Reply, post_hook};
use switchboard_testkit::fixtures::Org;

/// A 422 naming `tags` as the field at fault.
fn assert_invalid_tags(r: &Reply) {
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "tags", "{:?}", r.body);
}

/// A 409 naming `tags`: a name no tag of the workspace has.
fn assert_unknown_tags(r: &Reply) {
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "tags", "{:?}", r.body);
}

fn tags_of(r: &Reply) -> Vec<String> {
    assert!(r.status.is_success(), "{:?}", r.body);
    r["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("tags in {:?}", r.body))
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// The names of a list's contacts.
fn names(list: &Reply) -> BTreeSet<String> {
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

async fn define_tag(client: &ApiClient, ws: &str, name: &str) -> String {
    let r = client
        .post(&format!("/api/v1/workspaces/{ws}/tags"), json!({"name": name}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r["id"].as_str().unwrap().to_owned()
}

/// An API channel of the workspace: its id and secret.
async fn api_channel(client: &ApiClient, ws: &str, name: &str) -> (String, String) {
    let r = client
        .post(
            &format!("/api/v1/workspaces/{ws}/channels"),
            json!({"kind": "api", "name": name}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r["id"].as_str().unwrap().to_owned(),
        r["secret"].as_str().unwrap().to_owned(),
    )
}

/// A customer writes on an API channel; returns the contact ingest created
/// (found by the customer's id on that channel).
async fn customer(
    app: &TestApp,
    client: &ApiClient,
    ws: &str,
    (channel, secret): (&str, &str),
    external_id: &str,
    name: &str,
) -> String {
    let hook = post_hook(
        app,
        channel,
        secret,
        &json!({"message_id": format!("m-{external_id}"), "contact": {"id": external_id, "name": name}, "text": "hello"}),
    )
    .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let found = client
        .get(&format!("/api/v1/workspaces/{ws}/contacts?q={external_id}"))
        .await;
    assert_eq!(names(&found), set(&[name]));
    let contact = &found["items"][0];
    assert_eq!(contact["identities"][0]["channel_id"], channel);
    contact["id"].as_str().unwrap().to_owned()
}

async fn plain_contact(client: &ApiClient, ws: &str, body: Value) -> Reply {
    client.post(&format!("/api/v1/workspaces/{ws}/contacts"), body).await
}

#[tokio::test]
async fn tags_are_set_replaced_validated_and_read_back() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let vip = define_tag(&org.admin, &org.ws, "vip").await;
    define_tag(&org.admin, &org.ws, "late-payer").await;
    define_tag(&org.admin, &org.ws, "wholesale").await;
    let carla = customer(
        &app,
        &org.admin,
        &org.ws,
        (&org.channel, &org.secret),
        "carla-1",
        "Carla Customer",
    )
    .await;
    let path = org.path(&format!("/contacts/{carla}"));
    assert_eq!(
        tags_of(&org.admin.get(&path).await),
        Vec::<String>::new(),
        "no tags yet"
    );

    // Trimmed, deduplicated and sorted, like conversation tags; an agent may
    // tag a contact.
    let r = org
        .agent
        .patch(&path, json!({"tags": ["vip", " late-payer ", "vip"]}))
        .await;
    assert_eq!(tags_of(&r), ["late-payer", "vip"]);
    assert_eq!(tags_of(&org.admin.get(&path).await), ["late-payer", "vip"]);

    // Replaced, not merged.
    let r = org.admin.patch(&path, json!({"tags": ["wholesale"]})).await;
    assert_eq!(tags_of(&r), ["wholesale"]);
    assert_eq!(tags_of(&org.admin.get(&path).await), ["wholesale"]);

    // Left alone when not given.
    let r = org.admin.patch(&path, json!({"country": "BR"})).await;
    assert_eq!(
        (tags_of(&r), &r["country"]),
        (vec!["wholesale".to_owned()], &json!("BR"))
    );

    // Names that are no tag of the workspace (409), blank names and too
    // many (422) name the field, and change nothing (not even the rest).
    let too_many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let r = org
        .admin
        .patch(&path, json!({"name": "Renamed", "tags": ["vip", "no-such-tag"]}))
        .await;
    assert_unknown_tags(&r);
    for bad in [json!([" "]), json!(too_many)] {
        let r = org.admin.patch(&path, json!({"name": "Renamed", "tags": bad})).await;
        assert_invalid_tags(&r);
    }
    let now = org.admin.get(&path).await;
    assert_eq!(
        (tags_of(&now), &now["name"]),
        (vec!["wholesale".to_owned()], &json!("Carla Customer"))
    );

    // The list carries the tags too.
    let list = org.admin.get(&org.path("/contacts")).await;
    assert_eq!(list["items"][0]["id"], carla.as_str());
    assert_eq!(list["items"][0]["tags"], json!(["wholesale"]));

    // `[]` removes them all.
    let r = org.admin.patch(&path, json!({"tags": []})).await;
    assert_eq!(tags_of(&r), Vec::<String>::new());
    assert_eq!(tags_of(&org.admin.get(&path).await), Vec::<String>::new());

    // Saved with tags; a wrong name saves nothing.
    let bruno = plain_contact(
        &org.admin,
        &org.ws,
        json!({"name": "Bruno Plain", "tags": ["vip", "wholesale"]}),
    )
    .await;
    assert_eq!(bruno.status, 201, "{:?}", bruno.body);
    assert_eq!(tags_of(&bruno), ["vip", "wholesale"]);
    let bruno_path = org.path(&format!("/contacts/{}", bruno["id"].as_str().unwrap()));
    assert_eq!(tags_of(&org.admin.get(&bruno_path).await), ["vip", "wholesale"]);
    let r = plain_contact(&org.admin, &org.ws, json!({"name": "Nobody", "tags": ["nope"]})).await;
    assert_unknown_tags(&r);
    assert!(names(&org.admin.get(&org.path("/contacts?q=Nobody")).await).is_empty());

    // Deleting a tag takes it off its contacts.
    let r = org.admin.delete(&org.path(&format!("/tags/{vip}"))).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(tags_of(&org.admin.get(&bruno_path).await), ["wholesale"]);
}

#[tokio::test]
async fn the_list_filters_by_tag_and_channel_alongside_the_search() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    for tag in ["vip", "wholesale", "unused"] {
        define_tag(&org.admin, &org.ws, tag).await;
    }
    let shop = (org.channel.as_str(), org.secret.as_str());
    let (backoffice, backoffice_secret) = api_channel(&org.admin, &org.ws, "Backoffice").await;
    let backoffice = (backoffice.as_str(), backoffice_secret.as_str());
    let carla = customer(&app, &org.admin, &org.ws, shop, "carla-1", "Carla Customer").await;
    let dora = customer(&app, &org.admin, &org.ws, backoffice, "dora-1", "Dora Diaz").await;
    customer(&app, &org.admin, &org.ws, shop, "eve-1", "Eve Untagged").await;
    let bruno = plain_contact(&org.admin, &org.ws, json!({"name": "Bruno Plain", "tags": ["vip"]})).await;
    assert_eq!(bruno.status, 201, "{:?}", bruno.body);
    for (contact, tags) in [(&carla, json!(["vip"])), (&dora, json!(["vip", "wholesale"]))] {
        let r = org
            .admin
            .patch(&org.path(&format!("/contacts/{contact}")), json!({"tags": tags}))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let list = |query: String| {
        let client = &org.admin;
        let path = org.path(&format!("/contacts?{query}"));
        async move { names(&client.get(&path).await) }
    };
    let everyone = set(&["Bruno Plain", "Carla Customer", "Dora Diaz", "Eve Untagged"]);
    assert_eq!(list(String::new()).await, everyone);

    // By tag.
    assert_eq!(
        list("tag=vip".into()).await,
        set(&["Bruno Plain", "Carla Customer", "Dora Diaz"])
    );
    assert_eq!(list("tag=wholesale".into()).await, set(&["Dora Diaz"]));
    assert_eq!(list("tag=unused".into()).await, set(&[]));
    assert_eq!(list("tag=no-such-tag".into()).await, set(&[]));
    assert_eq!(list("tag=".into()).await, everyone, "a blank tag filters nothing");

    // By channel: contacts with an identity on it.
    assert_eq!(
        list(format!("channel_id={}", org.channel)).await,
        set(&["Carla Customer", "Eve Untagged"])
    );
    assert_eq!(list(format!("channel_id={}", backoffice.0)).await, set(&["Dora Diaz"]));

    // Composed with each other and with the search.
    assert_eq!(
        list(format!("tag=vip&channel_id={}", org.channel)).await,
        set(&["Carla Customer"])
    );
    assert_eq!(
        list(format!("tag=wholesale&channel_id={}", org.channel)).await,
        set(&[])
    );
    assert_eq!(list("tag=vip&q=dora".into()).await, set(&["Dora Diaz"]));
    assert_eq!(list("tag=vip&q=carla-1".into()).await, set(&["Carla Customer"]));
    assert_eq!(list("tag=wholesale&q=carla".into()).await, set(&[]));
    assert_eq!(list(format!("q=customer&channel_id={}", backoffice.0)).await, set(&[]));

    // Filtered pages follow the cursor.
    let first = org.admin.get(&org.path("/contacts?tag=vip&limit=2")).await;
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = org
        .admin
        .get(&org.path(&format!("/contacts?tag=vip&limit=2&cursor={cursor}")))
        .await;
    assert_eq!(second["next_cursor"], Value::Null, "{:?}", second.body);
    let mut paged = names(&first);
    paged.extend(names(&second));
    assert_eq!(paged, set(&["Bruno Plain", "Carla Customer", "Dora Diaz"]));

    // A channel id must be one: 422 naming the parameter.
    let r = org.admin.get(&org.path("/contacts?channel_id=shop")).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("channel_id: UUID parsing failed"), "{message}");
}

#[tokio::test]
async fn tags_and_filters_stay_within_the_workspace() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    define_tag(&org.admin, &org.ws, "vip").await;
    define_tag(&org.admin, &org.ws, "wholesale").await;
    let carla = customer(
        &app,
        &org.admin,
        &org.ws,
        (&org.channel, &org.secret),
        "carla-1",
        "Carla Customer",
    )
    .await;
    let r = org
        .admin
        .patch(&org.path(&format!("/contacts/{carla}")), json!({"tags": ["vip"]}))
        .await;
    assert_eq!(tags_of(&r), ["vip"]);

    // Workspace B: its own "vip" tag, channel and customer.
    let (olga, b) = app.other_workspace("olga@other.test").await;
    let b = b.to_string();
    define_tag(&olga, &b, "vip").await;
    let (b_channel, b_secret) = api_channel(&olga, &b, "Other shop").await;
    let olivia = customer(&app, &olga, &b, (&b_channel, &b_secret), "olivia-1", "Olivia Other").await;
    let b_path = |rest: &str| format!("/api/v1/workspaces/{b}{rest}");

    // B tags its contact with its own "vip"; A's "wholesale" is no tag of B.
    let r = olga
        .patch(&b_path(&format!("/contacts/{olivia}")), json!({"tags": ["vip"]}))
        .await;
    assert_eq!(tags_of(&r), ["vip"]);
    let r = olga
        .patch(&b_path(&format!("/contacts/{olivia}")), json!({"tags": ["wholesale"]}))
        .await;
    assert_unknown_tags(&r);

    // A's contact is not found from B, read or changed, through either path.
    for path in [
        b_path(&format!("/contacts/{carla}")),
        org.path(&format!("/contacts/{carla}")),
    ] {
        let r = olga.get(&path).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{path}: {:?}",
            r.body
        );
        let r = olga.patch(&path, json!({"tags": ["vip"], "name": "Taken"})).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{path}: {:?}",
            r.body
        );
    }
    let r = olga
        .patch(&b_path(&format!("/contacts/{carla}")), json!({"tags": []}))
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let still = org.admin.get(&org.path(&format!("/contacts/{carla}"))).await;
    assert_eq!(
        (tags_of(&still), &still["name"]),
        (vec!["vip".to_owned()], &json!("Carla Customer"))
    );

    // B's list never shows A's contacts, whatever A's tag name or channel id.
    let b_list = |query: String| {
        let olga = &olga;
        let path = b_path(&format!("/contacts?{query}"));
        async move { names(&olga.get(&path).await) }
    };
    assert_eq!(b_list(String::new()).await, set(&["Olivia Other"]));
    assert_eq!(b_list("tag=vip".into()).await, set(&["Olivia Other"]));
    assert_eq!(b_list("tag=wholesale".into()).await, set(&[]));
    assert_eq!(b_list(format!("channel_id={}", org.channel)).await, set(&[]));
    assert_eq!(b_list(format!("tag=vip&channel_id={}", org.channel)).await, set(&[]));
    assert_eq!(b_list(format!("channel_id={b_channel}")).await, set(&["Olivia Other"]));
    assert_eq!(b_list("tag=vip&q=carla".into()).await, set(&[]));

    // And the other way round.
    let a_list = |query: String| {
        let client = &org.admin;
        let path = org.path(&format!("/contacts?{query}"));
        async move { names(&client.get(&path).await) }
    };
    assert_eq!(a_list("tag=vip".into()).await, set(&["Carla Customer"]));
    assert_eq!(a_list(format!("channel_id={b_channel}")).await, set(&[]));
}
