//! The return routes of the scope matrix (`scope_matrix.rs`): each operation on a
//! channel's return, with the permission it needs.

use orderly::app::auth::Permission;
use reqwest::Method;
use serde_json::{Value, json};

/// A staff request for one unit of line 1 of `order`.
pub fn return_body(order: &str) -> Value {
    json!({"order": order, "items": [{"line_no": 1, "quantity": 1}],
           "reason": "size_too_small", "wanted": {"kind": "refund"}})
}

/// The operations on return `r` of `order`.
pub fn operations(
    order: &str,
    r: &str,
) -> Vec<(Method, &'static str, String, Option<Value>, Permission)> {
    use Permission::*;
    vec![
        (
            Method::GET,
            "/returns",
            format!("/returns?order_id={order}"),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/returns",
            "/returns".into(),
            Some(return_body(order)),
            RequestReturns,
        ),
        (
            Method::GET,
            "/returns/{id}",
            format!("/returns/{r}"),
            None,
            ReadOrders,
        ),
        (
            Method::GET,
            "/returns/{id}/label.pdf",
            format!("/returns/{r}/label.pdf"),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/returns/{id}/authorize",
            format!("/returns/{r}/authorize"),
            Some(json!({"decision": "approve"})),
            ReviewReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/label",
            format!("/returns/{r}/label"),
            None,
            RequestReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/receive",
            format!("/returns/{r}/receive"),
            Some(json!({"location_id": "wh-central", "scans": ["TEE-BLK-M"]})),
            ReceiveReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/inspect",
            format!("/returns/{r}/inspect"),
            Some(json!({"items": [{"item_no": 1, "condition": "like_new",
                                   "acceptance": "accepted", "disposition": "restock"}]})),
            ReceiveReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/decide",
            format!("/returns/{r}/decide"),
            Some(json!({"items": [{"item_no": 1, "acceptance": "accepted",
                                   "disposition": "restock"}]})),
            ReviewReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/send-back",
            format!("/returns/{r}/send-back"),
            None,
            ReceiveReturns,
        ),
        (
            Method::GET,
            "/returns/{id}/send-backs/{n}/label.pdf",
            format!("/returns/{r}/send-backs/1/label.pdf"),
            None,
            ReadOrders,
        ),
        (
            Method::POST,
            "/returns/{id}/resolve",
            format!("/returns/{r}/resolve"),
            Some(json!({})),
            ResolveReturns,
        ),
        (
            Method::POST,
            "/returns/{id}/cancel",
            format!("/returns/{r}/cancel"),
            Some(json!({"reason": "asked by mistake"})),
            RequestReturns,
        ),
    ]
}
