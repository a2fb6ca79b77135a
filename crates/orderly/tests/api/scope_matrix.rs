//! Every operation on a channel's objects × every role × (its own channel, another
//! channel), with keys bound to the web channel. On its own channel a role is refused
//! (403) exactly where it lacks the permission and otherwise gets past authorization and
//! scoping (whatever the object's state then answers); on the marketplace every object is
//! not found (404), nothing changes there, and a role that lacks the permission learns
//! nothing more. Routes whose objects belong to no single channel are listed with the
//! reason, so a new route must be placed in one list or the other.
//!
//! One file past the usual size: the matrix is one table of every route and its
//! permission, and it reads (and is reviewed) as one.

use crate::helpers::{Res, TestApp, order_body, send, spawn_app};
use orderly::app::auth::{KeySpec, Permission, allows};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The ids a channel's operations are tried on.
struct Objects {
    order: String,
    fulfillment: String,
    package: String,
    shipment: String,
    payment: String,
    refund: String,
    /// A return of one of the order's units (delivered for it).
    ret: String,
    /// An edit begun on the order.
    edit: String,
    /// A support case about the order.
    case: String,
    email: &'static str,
    channel: &'static str,
    price: i64,
}

/// A shipped and delivered order of `channel` with a refund and a return, for `email`.
async fn shipped(app: &TestApp, channel: &'static str, email: &'static str, price: i64) -> Objects {
    let mut body = order_body(channel, &[("TEE-BLK-M", 2, price)]);
    body["customer"]["email"] = json!(email);
    let order = app.create_order(&body).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let fulfillment = order["fulfillment_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let package = app
        .pick_and_pack(&fulfillment, &[(1, 2)], &["TEE-BLK-M", "TEE-BLK-M"])
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shipped = app
        .post(&format!("/packages/{package}/ship"), &json!({}))
        .await
        .expect(200);
    let refunded = app
        .post(
            &format!("/orders/{id}/refunds"),
            &json!({"amount": 100, "reason": "customer_request"}),
        )
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"].clone();
    let at = jiff::Timestamp::from_second(app.clock.now().as_second() - 60).unwrap();
    app.track(&json!({"id": format!("d-{channel}"), "carrier": "local",
        "tracking_number": tracking, "status": "delivered", "occurred_at": at.to_string()}))
        .await
        .expect(200);
    let ret = app
        .post("/returns", &crate::scope_returns::return_body(&id))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edit = app
        .post(&format!("/orders/{id}/edits"), &json!({}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = app
        .post(
            "/cases",
            &json!({"subject": "Where is it?", "channel": "email", "order": id}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Objects {
        ret,
        edit,
        case,
        shipment: shipped["fulfillment_orders"][0]["shipments"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        payment: refunded["payments"][0]["id"].as_str().unwrap().to_owned(),
        refund: refunded["refunds"][0]["id"].as_str().unwrap().to_owned(),
        order: id,
        fulfillment,
        package,
        email,
        channel,
        price,
    }
}

/// One operation on a channel's objects: (method, route as in the route table, the
/// concrete path, body, the permission it needs).
fn operations(o: &Objects) -> Vec<(Method, &'static str, String, Option<Value>, Permission)> {
    use Permission::*;
    let (id, ful, pkg, shp) = (&o.order, &o.fulfillment, &o.package, &o.shipment);
    let email = o.email.replace('@', "%40");
    let mut create = order_body(o.channel, &[("TEE-BLK-M", 1, o.price)]);
    create["customer"]["email"] = json!(o.email);
    let mut ops = vec![
        (
            Method::GET,
            "/orders",
            format!("/orders?channel={}", o.channel),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/orders",
            "/orders".into(),
            Some(create),
            CreateOrders,
        ),
        (
            Method::GET,
            "/orders/{id}",
            format!("/orders/{id}"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/timeline",
            format!("/orders/{id}/timeline"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/support",
            format!("/orders/{id}/support"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/contacts",
            format!("/orders/{id}/contacts"),
            None,
            ReadCases,
        ),
        (
            Method::POST,
            "/cases",
            "/cases".into(),
            Some(json!({"subject": "Late", "channel": "chat", "order": id})),
            ManageCases,
        ),
        (
            Method::GET,
            "/cases/{id}",
            format!("/cases/{}", o.case),
            None,
            ReadCases,
        ),
        (
            Method::POST,
            "/cases/{id}/contacts",
            format!("/cases/{}/contacts", o.case),
            Some(json!({"channel": "email", "summary": "Any news?"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/assignment",
            format!("/cases/{}/assignment", o.case),
            Some(json!({"group": "tier2"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/status",
            format!("/cases/{}/status", o.case),
            Some(json!({"status": "pending_internal"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/priority",
            format!("/cases/{}/priority", o.case),
            Some(json!({"priority": "high"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/links",
            format!("/cases/{}/links", o.case),
            Some(json!({"kind": "shipment", "id": shp})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/resolve",
            format!("/cases/{}/resolve", o.case),
            Some(json!({"root_cause": "carrier_delay"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/reopen",
            format!("/cases/{}/reopen", o.case),
            Some(json!({"reason": "the customer called again"})),
            ManageCases,
        ),
        (
            Method::POST,
            "/cases/{id}/close",
            format!("/cases/{}/close", o.case),
            Some(json!({})),
            ManageCases,
        ),
        (
            Method::GET,
            "/orders/{id}/notes",
            format!("/orders/{id}/notes"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/customers/{id}",
            format!("/customers/{email}"),
            None,
            ReadCustomers,
        ),
        (
            Method::GET,
            "/customers/{id}/history",
            format!("/customers/{email}/history"),
            None,
            ReadCustomers,
        ),
        (
            Method::POST,
            "/customers/{id}/flags",
            format!("/customers/{email}/flags"),
            Some(json!({"flag": "vip", "reason": "top spender"})),
            ManageCustomers,
        ),
        (
            Method::POST,
            "/customers/{id}/flags/{flag}/clear",
            format!("/customers/{email}/flags/vip/clear"),
            Some(json!({"reason": "spend fell"})),
            ManageCustomers,
        ),
        (
            Method::POST,
            "/customers/{id}/notes",
            format!("/customers/{email}/notes"),
            Some(json!({"text": "prefers phone calls"})),
            ManageCustomers,
        ),
        (
            Method::POST,
            "/customers/{id}/merge",
            format!("/customers/{email}/merge"),
            Some(json!({"from": o.email})),
            ManageCustomers,
        ),
        (
            Method::POST,
            "/orders/{id}/notes",
            format!("/orders/{id}/notes"),
            Some(json!({"text": "called the customer"})),
            AnnotateOrders,
        ),
        (
            Method::POST,
            "/orders/{id}/tags",
            format!("/orders/{id}/tags"),
            Some(json!({"add": ["vip"]})),
            AnnotateOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/messages",
            format!("/orders/{id}/messages"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/notifications/{template}/preview",
            format!("/orders/{id}/notifications/order_confirmation/preview"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/fulfillment-orders/{id}",
            format!("/fulfillment-orders/{ful}"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/packages/{id}",
            format!("/packages/{pkg}"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/shipments/{id}",
            format!("/shipments/{shp}"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/shipments/{id}/label.pdf",
            format!("/shipments/{shp}/label.pdf"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/customers/{id}/store-credit",
            format!("/customers/{email}/store-credit"),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/customers/{id}/store-credit",
            format!("/customers/{email}/store-credit"),
            Some(json!({"currency": "USD", "amount": 100, "note": "goodwill"})),
            SettleManually,
        ),
        (
            Method::POST,
            "/orders/{id}/holds",
            format!("/orders/{id}/holds"),
            Some(json!({"reason": "manual"})),
            ManageHolds,
        ),
        (
            Method::POST,
            "/orders/{id}/holds/{reason}/release",
            format!("/orders/{id}/holds/manual/release"),
            Some(json!({})),
            ManageHolds,
        ),
        (
            Method::POST,
            "/orders/{id}/captures",
            format!("/orders/{id}/captures"),
            Some(json!({})),
            CapturePayments,
        ),
        (
            Method::POST,
            "/orders/{id}/refunds",
            format!("/orders/{id}/refunds"),
            Some(json!({"amount": 1, "reason": "customer_request"})),
            RefundPayments,
        ),
        (
            Method::POST,
            "/orders/{id}/refunds/{refund_id}/retry",
            format!("/orders/{id}/refunds/{}/retry", o.refund),
            Some(json!({})),
            RefundPayments,
        ),
        (
            Method::POST,
            "/orders/{id}/payments",
            format!("/orders/{id}/payments"),
            Some(json!({"method": "card", "token": "tok_visa"})),
            AddPayments,
        ),
        (
            Method::POST,
            "/orders/{id}/payments/{payment_id}/mark-paid",
            format!("/orders/{id}/payments/{}/mark-paid", o.payment),
            Some(json!({})),
            SettleManually,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/release",
            format!("/fulfillment-orders/{ful}/release"),
            Some(json!({})),
            ReleaseFulfillment,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/pick",
            format!("/fulfillment-orders/{ful}/pick"),
            Some(json!({"lines": [{"line_no": 1, "picked": 1}]})),
            Fulfill,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/packages",
            format!("/fulfillment-orders/{ful}/packages"),
            Some(
                json!({"scans": ["TEE-BLK-M"], "weight_grams": 500, "dimensions_mm": [100, 100, 100]}),
            ),
            Fulfill,
        ),
        (
            Method::POST,
            "/packages/{id}/ship",
            format!("/packages/{pkg}/ship"),
            Some(json!({})),
            Fulfill,
        ),
        (
            Method::POST,
            "/shipments/{id}/collect",
            format!("/shipments/{shp}/collect"),
            Some(json!({"pickup_code": "PU12345678"})),
            Fulfill,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/cancel-request/accept",
            format!("/fulfillment-orders/{ful}/cancel-request/accept"),
            Some(json!({})),
            Fulfill,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/cancel-request/reject",
            format!("/fulfillment-orders/{ful}/cancel-request/reject"),
            Some(json!({"reason": "packed"})),
            Fulfill,
        ),
        (
            Method::POST,
            "/fulfillment-orders/{id}/reject",
            format!("/fulfillment-orders/{ful}/reject"),
            Some(json!({"reason": "flooded aisle"})),
            Fulfill,
        ),
        (
            Method::POST,
            "/orders/{id}/cancellation",
            format!("/orders/{id}/cancellation"),
            Some(json!({"reason": "customer_request"})),
            CancelOrders,
        ),
    ];
    ops.extend(edit_operations(id, &o.edit));
    ops.extend(crate::scope_returns::operations(&o.order, &o.ret));
    ops
}

/// The edit routes of order `id` and its open edit `edit`.
fn edit_operations(
    id: &str,
    edit: &str,
) -> Vec<(Method, &'static str, String, Option<Value>, Permission)> {
    use Permission::*;
    let change = json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": 1}]});
    let edit = format!("/orders/{id}/edits/{edit}");
    vec![
        (
            Method::POST,
            "/orders/{id}/edits",
            format!("/orders/{id}/edits"),
            Some(json!({})),
            EditOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/edits/{edit_id}",
            edit.clone(),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/orders/{id}/edits/{edit_id}/changes",
            format!("{edit}/changes"),
            Some(change.clone()),
            EditOrders,
        ),
        (
            Method::POST,
            "/orders/{id}/edits/{edit_id}/commit",
            format!("{edit}/commit"),
            Some(json!({})),
            EditOrders,
        ),
        (
            Method::POST,
            "/orders/{id}/edits/{edit_id}/abandon",
            format!("{edit}/abandon"),
            Some(json!({"reason": "not needed"})),
            EditOrders,
        ),
        (
            Method::GET,
            "/orders/{id}/changes",
            format!("/orders/{id}/changes"),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/orders/{id}/changes",
            format!("/orders/{id}/changes"),
            Some(change),
            EditOrders,
        ),
    ]
}

/// Routes whose objects belong to no single channel, and why.
const NOT_CHANNEL_OBJECTS: &[(&str, &str, &str)] = &[
    ("get", "/health", "public"),
    (
        "get",
        "/metrics/insight",
        "stock and placement of every channel: a key bound to channels is refused (kpi_week::the_insight_answers_cover_reorder_points_placement_and_carriers)",
    ),
    (
        "get",
        "/metrics/kpis",
        "figures of every channel: a key bound to channels is refused (kpi_week::bad_kpi_queries_are_refused_and_roles_without_the_right_get_403)",
    ),
    (
        "get",
        "/cases/root-causes",
        "counts only the cases of the key's channels' orders (root_causes::root_causes_are_reported_by_what_the_orders_went_through_and_leave_when_reopened)",
    ),
    (
        "get",
        "/customers",
        "lists only customers with an order in the key's channels (customers::a_key_bound_to_a_channel_finds_only_its_customers)",
    ),
    (
        "get",
        "/cases",
        "lists only the cases of the key's channels' orders (cases::cases_follow_their_orders_channel_and_roles_and_bad_input_changes_nothing)",
    ),
    (
        "post",
        "/orders/{id}/messages/{message_id}/resend",
        "needs a message of the order; its order is looked up with the key's scope",
    ),
    (
        "get",
        "/customers/{id}/notification-preferences",
        "a person's wish, kept per email across channels",
    ),
    (
        "post",
        "/customers/{id}/notification-preferences",
        "a person's wish, kept per email across channels",
    ),
    (
        "get",
        "/webhook-subscriptions",
        "subscriptions carry channels of their own (webhooks::subscriptions_and_the_feed_keep_to_a_keys_channels)",
    ),
    (
        "post",
        "/webhook-subscriptions",
        "subscriptions carry channels of their own",
    ),
    (
        "get",
        "/webhook-subscriptions/{id}",
        "subscriptions carry channels of their own",
    ),
    (
        "patch",
        "/webhook-subscriptions/{id}",
        "subscriptions carry channels of their own",
    ),
    (
        "post",
        "/webhook-subscriptions/{id}/rotate-secret",
        "subscriptions carry channels of their own",
    ),
    (
        "get",
        "/webhook-subscriptions/{id}/deliveries",
        "subscriptions carry channels of their own",
    ),
    (
        "post",
        "/webhook-subscriptions/{id}/redeliver",
        "subscriptions carry channels of their own",
    ),
    (
        "get",
        "/events",
        "the feed keeps to the key's channels (webhooks::…)",
    ),
    ("get", "/openapi.json", "the API's own description"),
    ("get", "/locations", "warehouses serve every channel"),
    (
        "get",
        "/channels",
        "lists the channels a key may see (scoping::a_key_bound_to_the_marketplace…)",
    ),
    (
        "get",
        "/api-keys",
        "key management needs an unbound key (scoping::a_bad_key_request…)",
    ),
    ("post", "/api-keys", "key management needs an unbound key"),
    (
        "post",
        "/api-keys/{id}/revoke",
        "key management needs an unbound key",
    ),
    (
        "post",
        "/api-keys/{id}/rotate",
        "key management needs an unbound key",
    ),
    ("get", "/products", "the catalog is shared by every channel"),
    (
        "post",
        "/products",
        "the catalog is shared by every channel",
    ),
    (
        "get",
        "/products/{sku}",
        "the catalog is shared by every channel",
    ),
    (
        "patch",
        "/products/{sku}",
        "the catalog is shared by every channel",
    ),
    ("get", "/inventory", "stock is shared by every channel"),
    (
        "post",
        "/inventory/adjustments",
        "stock is shared by every channel",
    ),
    (
        "get",
        "/inventory/{sku}/movements",
        "stock is shared by every channel",
    ),
    (
        "post",
        "/inventory/quarantine",
        "stock is shared by every channel",
    ),
    (
        "get",
        "/exceptions",
        "filtered to the key's channels (exceptions_of_other_channels…)",
    ),
    (
        "get",
        "/exceptions/{queue}",
        "filtered to the key's channels",
    ),
    (
        "post",
        "/exceptions/{queue}/{id}/resolve",
        "another channel's entry is not found (exceptions_of_other_channels…)",
    ),
    (
        "get",
        "/waves",
        "a wave mixes channels: a bound key sees none",
    ),
    (
        "post",
        "/waves",
        "a wave mixes channels: a bound key creates none",
    ),
    (
        "get",
        "/waves/{id}",
        "a wave mixes channels: not found to a bound key",
    ),
    ("get", "/waves/{id}/pick-list", "a wave mixes channels"),
    ("get", "/waves/{id}/pick-list.html", "a wave mixes channels"),
    ("get", "/waves/{id}/pick-list.pdf", "a wave mixes channels"),
    (
        "post",
        "/payment-events/{provider}",
        "signed by a provider, not a key",
    ),
    ("post", "/tracking-events", "signed by a carrier, not a key"),
    (
        "get",
        "/customers/{id}/returns",
        "a customer's returns across channels, filtered to the key's (returns_anchors…)",
    ),
    (
        "post",
        "/returns/backtest",
        "replays every channel's returns: an unbound admin's (returns_backtest…)",
    ),
    (
        "post",
        "/self-service/returns",
        "no key: the order's number and email prove it (returns_self_service…)",
    ),
];

async fn attempt(
    app: &TestApp,
    key: &str,
    op: &(Method, &'static str, String, Option<Value>, Permission),
) -> Res {
    let request = app.req_as(key, op.0.clone(), &op.2);
    let request = match &op.3 {
        Some(body) => request.json(body),
        None => request,
    };
    send(request).await
}

/// What an order of another channel looks like to an unbound admin: compared before and
/// after, it shows that nothing a bound key tried there changed it.
async fn other_state(app: &TestApp, o: &Objects) -> (Value, usize, Value) {
    let order = app.get(&format!("/orders/{}", o.order)).await.expect(200);
    let timeline = app
        .get(&format!("/orders/{}/timeline", o.order))
        .await
        .expect(200);
    let credit = app
        .get(&format!(
            "/customers/{}/store-credit",
            o.email.replace('@', "%40")
        ))
        .await
        .expect(200);
    (order, timeline.to_string().len(), credit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_by_every_role_on_its_own_and_another_channel() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 100).await;
    let own = shipped(&app, "web", "ana@example.com", 1999).await;
    let other = shipped(&app, "marketplace", "mo@example.com", 1500).await;

    // Every route is tried here or said to hold no channel's objects.
    let tried: BTreeSet<(String, &str)> = operations(&own)
        .iter()
        .map(|(m, route, ..)| (m.as_str().to_lowercase(), *route))
        .collect();
    let listed: BTreeSet<(String, &str)> = NOT_CHANNEL_OBJECTS
        .iter()
        .map(|(m, route, _)| ((*m).to_owned(), *route))
        .collect();
    let routed: BTreeSet<(String, &str)> = orderly::http::ROUTES
        .iter()
        .map(|(m, route)| ((*m).to_owned(), *route))
        .collect();
    let covered: BTreeSet<_> = tried.union(&listed).cloned().collect();
    assert_eq!(covered, routed, "the matrix and the route table differ");
    assert!(tried.is_disjoint(&listed));

    let before = other_state(&app, &other).await;
    let mut failures = Vec::new();
    for role in Role::ALL {
        let (_, key) = app
            .key_with(KeySpec {
                channels: Some(vec!["web".into()]),
                ..KeySpec::unbound(role, "web only")
            })
            .await;
        for (op, theirs) in operations(&own).iter().zip(operations(&other)) {
            let allowed = allows(role, op.4);
            let mine = attempt(&app, &key, op).await.status;
            let on_other = attempt(&app, &key, &theirs).await;
            let ok_own = if allowed {
                ![401, 403, 404].contains(&mine) && mine < 500
            } else {
                mine == 403
            };
            let ok_other = match (op.1, allowed) {
                // Listing another channel finds nothing; naming it to create is naming
                // a channel that does not exist.
                ("/orders" | "/returns", true) if op.0 == Method::GET => {
                    on_other.status == 200 && on_other.json()["data"] == json!([])
                }
                ("/orders", true) => {
                    on_other.status == 422
                        && on_other.json()["errors"][0]["code"] == "unknown_channel"
                }
                // Another channel's order is not found to ask a return of.
                ("/returns", true) => on_other.status == 404,
                (_, true) => on_other.status == 404,
                (_, false) => [403, 404].contains(&on_other.status),
            };
            if !ok_own || !ok_other {
                failures.push(format!(
                    "{} {} {}: own {mine}, other {} (allowed: {allowed})",
                    role.as_str(),
                    op.0,
                    op.1,
                    on_other.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        other_state(&app, &other).await,
        before,
        "another channel's order changed"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_of_other_channels_are_neither_listed_nor_resolved() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let mut ids = Vec::new();
    for (channel, price) in [("web", 1999), ("marketplace", 1500)] {
        let order = app
            .create_order(&order_body(channel, &[("TEE-BLK-M", 1, price)]))
            .await;
        let fid = order["fulfillment_orders"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(
            &format!("/fulfillment-orders/{fid}/reject"),
            &json!({"reason": "flooded aisle"}),
        )
        .await
        .expect(200);
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    // Refused, the units find no other stock: each order is backordered too.
    let all = app
        .get("/exceptions/fulfillment?kind=fulfillment_rejected")
        .await
        .expect(200);
    assert_eq!(all["data"].as_array().unwrap().len(), 2, "{all}");
    let (_, web) = app
        .key_with(KeySpec {
            channels: Some(vec!["web".into()]),
            ..KeySpec::unbound(Role::Support, "web support")
        })
        .await;
    for path in [
        "/exceptions?kind=fulfillment_rejected",
        "/exceptions/fulfillment?kind=fulfillment_rejected",
    ] {
        let seen = send(app.req_as(&web, Method::GET, path)).await.expect(200);
        assert_eq!(
            seen["queues"][0]["open"], 2,
            "{path}: the web order's two entries, counted in its channel"
        );
        let orders: Vec<&str> = seen["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["order_id"].as_str().unwrap())
            .collect();
        assert_eq!(orders, [ids[0].as_str()], "{path}");
    }
    let theirs = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["order_id"] == ids[1].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.fingerprint().await;
    send(
        app.req_as(
            &web,
            Method::POST,
            &format!("/exceptions/fulfillment/{theirs}/resolve"),
        )
        .json(&json!({"resolution": "moved the stock"})),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(
        app.fingerprint().await,
        before,
        "the refused resolution was undone"
    );
}
