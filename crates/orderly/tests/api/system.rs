//! The OpenAPI document and the configuration the API exposes.

use crate::helpers::{send, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    send(app.client.get(app.url("/openapi.json")))
        .await
        .expect_problem(401, "unauthorized");

    let res = app.get("/openapi.json").await;
    assert!(res.content_type().starts_with("application/json"));
    let doc = res.expect(200);

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/health", &["get"][..]),
        ("/api/v1/openapi.json", &["get"]),
        ("/api/v1/api-keys", &["post"]),
        ("/api/v1/orders", &["get", "post"]),
        ("/api/v1/orders/{id}", &["get"]),
        ("/api/v1/orders/{id}/timeline", &["get"]),
        ("/api/v1/orders/{id}/cancellation", &["post"]),
        ("/api/v1/products", &["get", "post"]),
        ("/api/v1/products/{sku}", &["get", "patch"]),
        ("/api/v1/inventory", &["get"]),
        ("/api/v1/inventory/adjustments", &["post"]),
        ("/api/v1/inventory/{sku}/movements", &["get"]),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from {:?}", paths.keys()));
        for method in methods {
            assert!(item.get(*method).is_some(), "{method} {path}");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_and_channels_come_from_the_configuration() {
    let app = spawn_app_with_web_backorders().await;

    let locations = app.get("/locations").await.expect(200);
    let ids: Vec<&str> = locations["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wh-east", "wh-central", "wh-west"]);

    let channels = app.get("/channels").await.expect(200);
    let web = &channels["data"][0];
    assert_eq!(web["id"], "web");
    assert_eq!(web["number_prefix"], "WEB");
    assert_eq!(
        web["allow_backorders"], true,
        "the test's override is served"
    );
}

async fn spawn_app_with_web_backorders() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|config| {
        let web = config.channels.iter_mut().find(|c| c.id == "web").unwrap();
        web.allow_backorders = true;
    })
    .await
}
