//! Internal notes and tags on orders: written with their author, on the timeline, kept
//! out of what leaves Orderly, refused when malformed or by a role that may not.

use crate::helpers::*;
use orderly_domain::actor::Role;
use serde_json::{Value, json};

async fn timeline_summaries(app: &TestApp, id: &str) -> Vec<String> {
    app.get(&format!("/orders/{id}/timeline")).await.expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn support_writes_notes_that_read_newest_first_on_the_order_and_its_timeline() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 2000).await;
    app.receive("TEE-BLK-M", "wh-east", 5).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 2000)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let (_, support) = app.key(Role::Support).await;

    let first = send(
        app.req_as(
            &support,
            reqwest::Method::POST,
            &format!("/orders/{id}/notes"),
        )
        .header("idempotency-key", "note-1")
        .json(&json!({"text": "Customer called:\nneeds it before Friday"})),
    )
    .await
    .expect(201);
    assert_eq!(first["text"], "Customer called:\nneeds it before Friday");
    let author = first["author"].as_str().unwrap().to_owned();
    assert!(author.contains("support"), "{first}");
    // The same key and body replay the note; no second one is written.
    let again = send(
        app.req_as(
            &support,
            reqwest::Method::POST,
            &format!("/orders/{id}/notes"),
        )
        .header("idempotency-key", "note-1")
        .json(&json!({"text": "Customer called:\nneeds it before Friday"})),
    )
    .await
    .expect(201);
    assert_eq!(again["id"], first["id"]);
    let second = app
        .post(
            &format!("/orders/{id}/notes"),
            &json!({"text": "Promised a call back"}),
        )
        .await
        .expect(201);

    let notes = app.get(&format!("/orders/{id}/notes")).await.expect(200);
    let texts: Vec<&str> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Promised a call back",
            "Customer called:\nneeds it before Friday"
        ]
    );
    assert_eq!(notes["data"][0]["id"], second["id"]);
    let view = app.get(&format!("/orders/{id}")).await.expect(200);
    assert_eq!(view["notes_count"], 2);
    assert!(
        view.get("notes").is_none(),
        "notes stay out of the order view"
    );
    let timeline = timeline_summaries(&app, id).await;
    assert!(
        timeline.contains(&format!(
            "Note by {author}: Customer called:\nneeds it before Friday"
        )),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn tags_change_in_one_event_and_a_change_that_changes_nothing_records_nothing() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 2000).await;
    app.receive("TEE-BLK-M", "wh-east", 5).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 2000)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let tagged = app
        .post(
            &format!("/orders/{id}/tags"),
            &json!({"add": ["VIP", "gift"]}),
        )
        .await
        .expect(200);
    assert_eq!(tagged["tags"], json!(["gift", "vip"]));
    let version = tagged["version"].as_u64().unwrap();
    let same = app
        .post(
            &format!("/orders/{id}/tags"),
            &json!({"add": ["vip"], "remove": ["late"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        same["version"].as_u64().unwrap(),
        version,
        "nothing recorded"
    );
    let changed = app
        .post(
            &format!("/orders/{id}/tags"),
            &json!({"add": ["wholesale"], "remove": ["gift"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["tags"], json!(["vip", "wholesale"]));
    let timeline = timeline_summaries(&app, id).await;
    assert!(
        timeline.contains(&"Tags added gift, vip".to_owned()),
        "{timeline:?}"
    );
    assert!(
        timeline.contains(&"Tags added wholesale; removed gift".to_owned()),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn bad_notes_and_tags_and_a_role_that_may_not_change_nothing() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 2000).await;
    app.receive("TEE-BLK-M", "wh-east", 5).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 2000)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let before = app.get(&format!("/orders/{id}")).await.expect(200)["version"].clone();
    let notes = format!("/orders/{id}/notes");
    let tags = format!("/orders/{id}/tags");

    let blank = app.post(&notes, &json!({"text": " \n "})).await;
    assert_eq!(
        field_errors(&blank.expect_problem(422, "validation_failed")),
        [("text".to_owned(), "required".to_owned())]
    );
    let long = app.post(&notes, &json!({"text": "x".repeat(4001)})).await;
    assert_eq!(
        field_errors(&long.expect_problem(422, "validation_failed")),
        [("text".to_owned(), "too_long".to_owned())]
    );
    app.post(&notes, &json!({"text": "hi", "author": "me"}))
        .await
        .expect_problem(422, "invalid_body");
    let bad = app
        .post(&tags, &json!({"add": ["no spaces"], "remove": ["ok"]}))
        .await;
    assert_eq!(
        field_errors(&bad.expect_problem(422, "validation_failed")),
        [("add[0]".to_owned(), "invalid_tag".to_owned())]
    );
    let both = app
        .post(&tags, &json!({"add": ["vip"], "remove": ["VIP"]}))
        .await;
    assert_eq!(
        field_errors(&both.expect_problem(422, "validation_failed")),
        [("add[0]".to_owned(), "tag_added_and_removed".to_owned())]
    );
    let many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
    let many = app.post(&tags, &json!({"add": many})).await;
    assert_eq!(
        field_errors(&many.expect_problem(422, "validation_failed")),
        [("add".to_owned(), "too_many_items".to_owned())]
    );
    app.post("/orders/ord_missing/notes", &json!({"text": "hi"}))
        .await
        .expect_problem(404, "order_not_found");

    let (_, integration) = app.key(Role::Integration).await;
    send(
        app.req_as(&integration, reqwest::Method::POST, &notes)
            .json(&json!({"text": "from the shop"})),
    )
    .await
    .expect_problem(403, "forbidden");

    let after: Value = app.get(&format!("/orders/{id}")).await.expect(200)["version"].clone();
    assert_eq!(after, before, "nothing was recorded");
}
