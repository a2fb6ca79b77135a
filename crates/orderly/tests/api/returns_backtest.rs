//! The policy backtest through the API and the CLI, on the backend the test database
//! names: three returns asked under the demo's 2026-11 policy, replayed under a draft
//! that raises the change-of-mind fee, lowers the auto-approval limit and drops a
//! reason; exactly the flips and money expected, admin only, and a draft that breaks a
//! rule named by its key. Nothing is written by a backtest.

use crate::helpers::*;
use crate::returns::{delivered, shop};
use orderly_domain::actor::Role;
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_orderly");

/// The demo's 2026-11 policy with a 20 % fee for a change of mind, auto-approval up to
/// 15.00, support approving up to 10.00, and no `wrong_item` reason.
const DRAFT: &str = r#"
version = "2027-01"
effective_from = "2027-01-01T00:00:00Z"
window_days = 30
window_days_by_channel = { web = 14 }
required_condition = "like_new"
condition_grades = ["new", "like_new", "used", "damaged"]
refund_method = "customer_choice"
auto_approve_up_to_minor = 1500
ship_within_days = 30
reasons = [
  { code = "changed_mind", label = "Changed my mind", restocking_fee = { percent = 20 }, return_shipping = { flat_fee_minor = 695 } },
  { code = "defective", label = "Defective", return_shipping = "free", children = [
      { code = "arrived_damaged", label = "Arrived damaged" } ] },
]
[approval_limits]
support = 1000
supervisor = 100000
"#;

async fn ask_return(app: &TestApp, order: &Value, line_no: u32, reason: &str) -> Value {
    app.post(
        "/returns",
        &json!({"order": order["id"], "items": [{"line_no": line_no, "quantity": 1}],
                "reason": reason, "wanted": {"kind": "refund"}}),
    )
    .await
    .expect(201)
}

fn since(app: &TestApp) -> String {
    jiff::Timestamp::from_second(app.started.as_second() - 3600)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_policy_replays_the_returns_of_a_period_without_writing() {
    let app = shop(spawn_app().await).await;
    let tees = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let mug = delivered(&app, &[("MUG", 1, 1000)]).await;
    let large = delivered(&app, &[("TEE-BLK-L", 1, 2000)]).await;
    let changed_mind = ask_return(&app, &tees, 1, "changed_mind").await;
    ask_return(&app, &mug, 1, "arrived_damaged").await;
    let wrong = ask_return(&app, &large, 1, "wrong_item").await;
    for r in [&changed_mind, &wrong] {
        assert_eq!(r["decision"]["outcome"], "authorized", "{r}");
    }
    let before = app.db.table_digests().await;

    let report = app
        .post(
            "/returns/backtest",
            &json!({"policy": DRAFT, "since": since(&app)}),
        )
        .await
        .expect(200);
    assert_eq!(report["draft_version"], "2027-01");
    assert_eq!(
        (
            &report["replayed"],
            &report["decisions_kept"],
            &report["decisions_flipped"]
        ),
        (&json!(3), &json!(1), &json!(1))
    );
    assert_eq!(
        report["flipped"],
        json!([{"transition": "authorized→needs_review", "from": "authorized",
                "to": "needs_review", "count": 1}])
    );
    let d = |old: i64, new: i64| json!({"old_minor": old, "new_minor": new, "difference_minor": new - old});
    assert_eq!(
        report["money"],
        json!({"requests": 2, "refundable": d(2105, 1905),
               "restocking_fees": d(200, 400), "shipping_fees": d(695, 695)})
    );
    assert_eq!(
        report["money_by_reason"],
        json!([
            {"reason": "arrived_damaged", "requests": 1, "refundable": d(1000, 1000),
             "restocking_fees": d(0, 0), "shipping_fees": d(0, 0)},
            {"reason": "changed_mind", "requests": 1, "refundable": d(1105, 905),
             "restocking_fees": d(200, 400), "shipping_fees": d(695, 695)},
        ])
    );
    assert_eq!(
        (&report["reviews"]["old"], &report["reviews"]["new"]),
        (&json!(0), &json!(1))
    );
    assert_eq!(
        report["reviews"]["by_lowest_role"][1],
        json!({"role": "supervisor", "count": 1})
    );
    assert_eq!(
        report["approvals"],
        json!([{"return_id": changed_mind["id"], "rma": changed_mind["rma"],
                "order_number": tees["number"], "value_minor": 2000,
                "rules": ["over_auto_approval_limit"], "lowest_role": "supervisor",
                "was_in_review": false}])
    );
    assert_eq!(report["changed"], 1);
    let change = &report["changes"][0];
    assert_eq!(change["flip"], "authorized→needs_review");
    assert_eq!(
        (
            &change["old"]["policy_version"],
            &change["new"]["policy_version"]
        ),
        (&json!("2026-11"), &json!("2027-01"))
    );
    assert_eq!(report["invalid"], 1);
    assert_eq!(report["invalid_under_draft"][0]["rma"], wrong["rma"]);
    assert_eq!(
        report["invalid_under_draft"][0]["issues"],
        json!(["reason: unknown_reason"])
    );
    assert_eq!(
        app.db.table_digests().await,
        before,
        "a backtest writes nothing"
    );

    // A period after the requests replays nothing.
    let later = jiff::Timestamp::from_second(app.clock.now().as_second() + 60).unwrap();
    let empty = app
        .post(
            "/returns/backtest",
            &json!({"policy": DRAFT, "since": later.to_string()}),
        )
        .await
        .expect(200);
    assert_eq!(
        (&empty["replayed"], &empty["changed"]),
        (&json!(0), &json!(0))
    );

    // The CLI on the same database prints the same figures.
    let out = cli(&app, DRAFT, &["--since", "1d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "backtest of draft 2027-01 over 3 return request(s)",
        "decisions: 1 kept, 1 flipped",
        "authorized→needs_review      1",
        "refundable               2105 ->         1905  (-200)",
        "restocking fees           200 ->          400  (+200)",
        "reviews: 0 as recorded, 1 under the draft",
        "value 2000: supervisor may approve [over_auto_approval_limit] (new)",
        "invalid under the draft: 1",
        "reason: unknown_reason",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let json_out = cli(&app, DRAFT, &["--since", &since(&app), "--format", "json"]);
    assert!(json_out.status.success());
    let from_cli: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(from_cli["money"], report["money"]);
    assert_eq!(from_cli["flipped"], report["flipped"]);
}

/// Runs `orderly returns backtest` with `draft` on the app's database.
fn cli(app: &TestApp, draft: &str, args: &[&str]) -> std::process::Output {
    let path = app._dir.path().join(format!("draft-{}.toml", args.len()));
    std::fs::write(&path, draft).unwrap();
    std::process::Command::new(EXE)
        .args(["returns", "backtest", "--database", &app.db.url, "--policy"])
        .arg(&path)
        .args(args)
        .env_remove("ORDERLY_CONFIG")
        .current_dir(app._dir.path())
        .output()
        .expect("run orderly")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_backtests_and_a_wrong_draft_is_named_by_its_key() {
    let app = spawn_app().await;
    let body = json!({"policy": DRAFT, "since": "2026-01-01T00:00:00Z"});
    for role in [Role::Supervisor, Role::Finance, Role::Support] {
        let (_, key) = app.key(role).await;
        send(
            app.req_as(&key, reqwest::Method::POST, "/returns/backtest")
                .json(&body),
        )
        .await
        .expect_problem(403, "forbidden");
    }

    let over = DRAFT.replace("percent = 20", "percent = 150");
    let problem = app
        .post(
            "/returns/backtest",
            &json!({"policy": over, "since": "2026-01-01T00:00:00Z"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [(
            "policy.reasons[0].restocking_fee.percent".to_owned(),
            "out_of_range".to_owned()
        )]
    );
    let shape = DRAFT.replace("window_days = 30", "window_days = \"thirty\"");
    let problem = app
        .post(
            "/returns/backtest",
            &json!({"policy": shape, "since": "2026-01-01T00:00:00Z"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [("policy.window_days".to_owned(), "invalid_policy".to_owned())]
    );
    let problem = app
        .post(
            "/returns/backtest",
            &json!({"policy": "= not toml", "since": "yesterday"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [("since".to_owned(), "invalid_time".to_owned())]
    );

    let out = cli(&app, &over, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("policy.reasons[0].restocking_fee.percent: "),
        "{stderr}"
    );
}
