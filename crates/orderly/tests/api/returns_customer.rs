//! Serial returners: a customer who returned most of what they bought lately sends the
//! next return to review, and the flag with its reason shows on the return and on the
//! customer's returns.

use crate::helpers::*;
use crate::returns::{delivered, shop};
use crate::returns_support::{admin_return, ask, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_most_of_what_one_bought_flags_a_serial_returner_on_the_return_and_the_customer()
{
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000), ("MUG", 1, 1000)]).await;
    let clean = app
        .get("/customers/ana@example.com/returns")
        .await
        .expect(200);
    assert_eq!(clean["serial_returner"], serde_json::Value::Null);

    // The rule counts what came back before a request against what was bought (35.00
    // here, shipping included): nothing before the tee.
    let first = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(first["state"], "authorized");
    assert_eq!(
        first["decision"]["serial_returner"],
        serde_json::Value::Null
    );

    // Before the mug: 20.00 of 35.00 (57 %), under the 60 % of the rule.
    let second = admin_return(&app, &order, ask(&[(2, 1)], "arrived_damaged"))
        .await
        .expect(201);
    assert_eq!(second["state"], "authorized", "{second}");

    // A second order, returned in full: 30.00 of 50.00 is back before it (60 %, not above).
    let again = delivered(&app, &[("MUG", 1, 1000)]).await;
    let third = admin_return(&app, &again, ask(&[(1, 1)], "arrived_damaged"))
        .await
        .expect(201);
    assert_eq!(third["state"], "authorized", "{third}");
    // A third: 40.00 of 65.00 back before it (61 %): review, and the customer is flagged.
    let last = delivered(&app, &[("MUG", 1, 1000)]).await;
    let flagged = admin_return(&app, &last, ask(&[(1, 1)], "arrived_damaged"))
        .await
        .expect(201);
    assert_eq!(flagged["state"], "needs_review", "{flagged}");
    assert_eq!(
        flagged["decision"]["rules"],
        serde_json::json!(["serial_returner"])
    );
    let reason = text(&flagged["decision"], "serial_returner");
    let customer = app
        .get("/customers/ana@example.com/returns")
        .await
        .expect(200);
    assert_eq!(customer["serial_returner"]["reason"], reason.as_str());
    assert_eq!(customer["serial_returner"]["rma"], flagged["rma"]);
    assert_eq!(customer["returns"].as_array().unwrap().len(), 4);
    app.get("/customers/not-an-email/returns")
        .await
        .expect_problem(422, "validation_failed");
}
