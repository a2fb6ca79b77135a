//! The returns desk's decision in the console: a unit the inspector left for a person is
//! decided on the return's page by a role with the review authority (the form is not
//! offered to the warehouse), and a rejected unit goes back to the customer in a parcel
//! the page lists.

use crate::console::signed_in;
use crate::helpers::*;
use crate::returns::shop;
use crate::returns_decision::{received_pair, tee_restocked_mug_undecided};
use crate::returns_support::text;
use orderly_domain::actor::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_decides_a_quarantined_unit_on_the_return_page_and_it_goes_back() {
    let app = shop(spawn_app().await).await;
    let (id, _) = received_pair(&app).await;
    let rma = text(&app.get(&format!("/returns/{id}")).await.expect(200), "rma");
    tee_restocked_mug_undecided(&app, &id, "damaged").await;
    let page = format!("/console/returns/{rma}");

    // The warehouse inspects but does not decide: no decision form for it.
    let mut warehouse = signed_in(&app, Role::Warehouse).await;
    let seen = warehouse.get(&page).await;
    assert_eq!(seen.status, 200);
    assert!(!seen.shows("/decide\""), "{}", seen.html);

    let mut boss = signed_in(&app, Role::Supervisor).await;
    let seen = boss.get(&page).await;
    assert!(seen.shows("Record decision"), "{}", seen.html);
    assert!(seen.shows("id=\"decide_acceptance_2\""));
    assert!(
        !seen.shows("id=\"decide_acceptance_1\""),
        "item 1 was decided at inspection"
    );
    let csrf = boss.csrf().await;
    let answer = boss
        .post(
            &format!("{page}/decide"),
            &[
                ("csrf", csrf),
                ("form_key", "decide-1".into()),
                ("acceptance_2", "rejected".into()),
                ("disposition_2", "return_to_customer".into()),
                ("note", "cracked handle".into()),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    assert_eq!(answer.location.as_deref(), Some(page.as_str()));

    let after = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(after["state"], "completed", "{after}");
    assert_eq!(after["items"][1]["acceptance"], "rejected");
    assert_eq!(
        after["money"]["resolution"]["amount"], 1105,
        "only the tee is paid"
    );
    let tracking = text(&after["send_backs"][0], "tracking_number");
    let shown = boss.get(&page).await;
    assert!(shown.shows("Back to the customer"), "{}", shown.html);
    assert!(
        shown.shows(&format!("tracking {tracking}")),
        "{}",
        shown.html
    );
    assert!(!shown.shows("Record decision"), "nothing is left to decide");
    assert!(
        !shown.shows("Book the parcel back"),
        "nothing waits to go back"
    );
    app.assert_invariants().await;
}
