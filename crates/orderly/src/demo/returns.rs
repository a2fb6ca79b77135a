//! The demo's returns: delivered orders whose returns stand in every state a return can
//! rest in, so `GET /returns?state=…` has something to show for each, and one delivered
//! order with no return yet for the README's walkthrough. Every step runs the command the
//! API runs (the self-service request, the carrier's scan of the RMA, the warehouse's
//! receipt and inspection, the refund that follows), so states, stock, money and the
//! timeline are what they would be in a real shop.
//!
//! One state needs time to pass: a return expires when its `ship_by` (the policy's
//! `ship_within_days` after authorization) goes by unshipped. The demo runs on the real
//! clock, so that story is told by a second `App` on the same store whose clock stands
//! 50 days back (time is injected for exactly this reason): it places, delivers and
//! authorizes then, and the real clock's timer pass expires it, as the timer worker would.
//! Placed that long ago, the order is also judged by whichever policy version was in force
//! then (the demo configuration's `2025-06` while that date falls before `2026-11-15`).
//!
//! One state is not seeded: `refund_pending` is shown only while a provider has not yet
//! answered a refund, and the built-in simulator answers every refund at once.

use super::deliver::{deliver, scan};
use super::{DemoOrder, explain, place};
use crate::app::clock::{Clock, ManualClock};
use crate::app::{App, Origin};
use crate::orders::commands::PaymentChoice;
use crate::returns::commands::{Requester, ReturnInput};
use anyhow::Context;
use jiff::SignedDuration;
use orderly_domain::actor::Actor;
use orderly_domain::order::{ItemInspection, Order};
use orderly_domain::payment::PaymentMethod;
use orderly_domain::returns::{Acceptance, AskedItem, Disposition, ReturnState, Wanted};
use orderly_domain::values::Email;
use orderly_store::OrderFilter;
use std::collections::HashMap;
use std::sync::Arc;

/// The channel's id of the walkthrough's order, by which a restarted demo finds it again.
const WALKTHROUGH_EXTERNAL_ID: &str = "DEMO-RETURN-TOUR";

/// The delivered order the README takes back, with nothing returned yet: a tee for the
/// exchange step, a cup and a cap for the refund.
const WALKTHROUGH: DemoOrder = DemoOrder {
    channel: "web",
    email: "hana@example.com",
    name: "Hana Kim",
    street: ["14 Pike St", "Seattle", "WA", "98101"],
    lines: &[("TEE-WHT-M", 1), ("MUG-ESPRESSO", 1), ("CAP-BLK", 1)],
    pickup: None,
};

/// One step after the request, each the command its interface runs.
enum Step {
    /// A carrier's scan of the return parcel (its RMA), with this tracking status.
    Scan(&'static str),
    /// The warehouse scans these SKUs at the label's location; `close` says nothing more
    /// is coming.
    Receive(&'static [&'static str], bool),
    /// (item number, condition, acceptance, disposition) per unit.
    Inspect(&'static [(u32, &'static str, Acceptance, Disposition)]),
    Cancel(&'static str),
}

/// A delivered order and the return its customer asks for, taken to `ends`.
struct Story {
    order: DemoOrder,
    /// The simulator's test card the order is paid with.
    token: &'static str,
    /// (line number, quantity) asked back.
    items: &'static [(u32, u32)],
    reason: &'static str,
    /// Asked by staff (with the final-sale exception), not by the customer.
    staff_exception: bool,
    steps: &'static [Step],
    ends: ReturnState,
}

const fn web(
    email: &'static str,
    name: &'static str,
    street: [&'static str; 4],
    lines: &'static [(&'static str, u32)],
) -> DemoOrder {
    DemoOrder {
        channel: "web",
        email,
        name,
        street,
        lines,
        pickup: None,
    }
}

/// A return resting in each state but `expired` (see `expired`), oldest first.
fn stories() -> Vec<Story> {
    use Acceptance::*;
    use Disposition::*;
    let story = |order, items, reason, steps, ends| Story {
        order,
        token: "tok_visa",
        items,
        reason,
        staff_exception: false,
        steps,
        ends,
    };
    vec![
        // USD 164.97 is over the policy's USD 150.00 auto-approval: a person decides.
        story(
            web(
                "gus@example.com",
                "Gus Lee",
                ["300 Congress Ave", "Austin", "TX", "78701"],
                &[("HOOD-BLK-L", 3)],
            ),
            &[(1, 3)],
            "size_too_large",
            &[],
            ReturnState::NeedsReview,
        ),
        // Final sale, asked back by staff as an exception: review, with the rule named.
        Story {
            staff_exception: true,
            ..story(
                web(
                    "ida@example.com",
                    "Ida Berg",
                    ["8 Beacon St", "Boston", "MA", "02108"],
                    &[("SOCK-ANKLE-S", 2)],
                ),
                &[(1, 2)],
                "arrived_damaged",
                &[],
                ReturnState::NeedsReview,
            )
        },
        story(
            web(
                "jon@example.com",
                "Jon Cruz",
                ["45 Canal St", "New Orleans", "LA", "70130"],
                &[("BOTTLE-500", 1)],
            ),
            &[(1, 1)],
            "arrived_damaged",
            &[],
            ReturnState::Authorized,
        ),
        // Final-sale socks, asked by the customer: rejected by the final_sale rule.
        story(
            web(
                "kai@example.com",
                "Kai Rivera",
                ["12 Ocean Dr", "Miami", "FL", "33139"],
                &[("SOCK-CREW-S", 2)],
            ),
            &[(1, 2)],
            "changed_mind",
            &[],
            ReturnState::Rejected,
        ),
        story(
            web(
                "lea@example.com",
                "Lea Novak",
                ["600 Grant St", "Denver", "CO", "80203"],
                &[("TOTE-BLK", 1)],
            ),
            &[(1, 1)],
            "looks_different",
            &[Step::Scan("picked_up")],
            ReturnState::InTransit,
        ),
        story(
            web(
                "max@example.com",
                "Max Weber",
                ["90 Rose Ave", "Portland", "OR", "97205"],
                &[("CAP-BLU", 1)],
            ),
            &[(1, 1)],
            "arrived_damaged",
            &[Step::Scan("picked_up"), Step::Scan("lost")],
            ReturnState::Lost,
        ),
        // Two tees asked back, one arrived so far.
        story(
            web(
                "noa@example.com",
                "Noa Levi",
                ["210 King St", "Charleston", "SC", "29401"],
                &[("TEE-NVY-L", 2)],
            ),
            &[(1, 2)],
            "size_too_small",
            &[
                Step::Scan("in_transit"),
                Step::Receive(&["TEE-NVY-L"], false),
            ],
            ReturnState::Received,
        ),
        // A dented bottle no rule decides: it waits in quarantine for a person.
        story(
            web(
                "oli@example.com",
                "Oli Brandt",
                ["55 Water St", "Pittsburgh", "PA", "15222"],
                &[("BOTTLE-1000", 1)],
            ),
            &[(1, 1)],
            "arrived_damaged",
            &[
                Step::Receive(&["BOTTLE-1000"], true),
                Step::Inspect(&[(1, "damaged", NeedsManualDecision, Quarantine)]),
            ],
            ReturnState::Inspected,
        ),
        // Paid with a card whose refunds the issuer refuses.
        Story {
            token: "tok_refund_fails",
            ..story(
                web(
                    "pia@example.com",
                    "Pia Sorensen",
                    ["77 Lake St", "Minneapolis", "MN", "55401"],
                    &[("TEE-BLK-L", 1)],
                ),
                &[(1, 1)],
                "size_too_large",
                &[
                    Step::Receive(&["TEE-BLK-L"], true),
                    Step::Inspect(&[(1, "like_new", Accepted, Restock)]),
                ],
                ReturnState::RefundFailed,
            )
        },
        // One unit back on the shelf, one in quarantine, the refund less the fees.
        story(
            web(
                "quinn@example.com",
                "Quinn Adams",
                ["400 Broad St", "Richmond", "VA", "23219"],
                &[("HOOD-GRY-S", 1), ("MUG-TRAVEL", 1)],
            ),
            &[(1, 1), (2, 1)],
            "changed_mind",
            &[
                Step::Scan("in_transit"),
                Step::Receive(&["HOOD-GRY-S", "MUG-TRAVEL"], true),
                Step::Inspect(&[
                    (1, "like_new", Accepted, Restock),
                    (2, "used", Accepted, Quarantine),
                ]),
            ],
            ReturnState::Completed,
        ),
        story(
            web(
                "rio@example.com",
                "Rio Tanaka",
                ["18 Main St", "Boise", "ID", "83702"],
                &[("TOTE-NAT", 1)],
            ),
            &[(1, 1)],
            "changed_mind",
            &[Step::Cancel("the customer decided to keep it")],
            ReturnState::Cancelled,
        ),
    ]
}

/// The story of the return that expires: authorized, never shipped.
fn expired() -> Story {
    Story {
        order: web(
            "sam@example.com",
            "Sam Ortiz",
            ["5 Plaza Way", "Santa Fe", "NM", "87501"],
            &[("TEE-WHT-S", 1)],
        ),
        token: "tok_visa",
        items: &[(1, 1)],
        reason: "size_too_small",
        staff_exception: false,
        steps: &[],
        ends: ReturnState::Expired,
    }
}

/// How long before now the expiring return's order was placed; its return is asked two
/// days later, so its `ship_by` (30 days in both demo policies) is long past.
const EXPIRED_PLACED_DAYS_AGO: i64 = 50;

/// Seeds the walkthrough's order and every story, and checks each ended as told.
pub async fn seed(
    app: &Arc<App>,
    origin: &Origin,
    prices: &HashMap<String, i64>,
) -> anyhow::Result<()> {
    let walkthrough = place(
        app,
        origin,
        prices,
        &WALKTHROUGH,
        WALKTHROUGH_EXTERNAL_ID.into(),
        card("tok_visa"),
    )
    .await?;
    deliver(app, origin, walkthrough).await?;
    let mut told = Vec::new();
    for (n, story) in stories().iter().enumerate() {
        told.push((tell(app, origin, prices, story, n).await?, story.ends));
    }
    told.push((
        tell_in_the_past(app, origin, prices).await?,
        ReturnState::Expired,
    ));
    // The timer worker's pass, at the real clock: the old return's ship_by has gone by.
    app.fire_due_timers(app.now()).await.map_err(explain)?;
    for ((order_id, return_id), ends) in told {
        let order = app.order(&origin.actor, order_id).await.map_err(explain)?;
        let ret = order
            .return_by_id(return_id.as_str())
            .context("a demo return went missing")?;
        let state = ret.status(&order);
        anyhow::ensure!(
            state == ends,
            "demo return {} of {} ended {} instead of {}",
            ret.rma,
            order.number,
            state.as_str(),
            ends.as_str()
        );
    }
    Ok(())
}

/// The walkthrough's order number and email, found by its external id (also after a
/// restart).
pub async fn walkthrough_order(app: &App) -> Option<(String, String)> {
    let filter = OrderFilter {
        external_id: Some(WALKTHROUGH_EXTERNAL_ID.into()),
        limit: 1,
        ..OrderFilter::default()
    };
    let found = app.orders(&Actor::system("demo"), filter).await.ok()?;
    found
        .into_iter()
        .next()
        .map(|o| (o.number, o.customer.email.to_string()))
}

fn card(token: &str) -> PaymentChoice {
    PaymentChoice {
        method: PaymentMethod::Card,
        provider: "simulator".into(),
        last4: None,
        token: Some(token.into()),
        fingerprint: None,
    }
}

/// Places, delivers and asks back `story`'s order, then takes its return through its
/// steps; answers (order id, return id).
async fn tell(
    app: &App,
    origin: &Origin,
    prices: &HashMap<String, i64>,
    story: &Story,
    n: usize,
) -> anyhow::Result<(String, orderly_domain::values::Id)> {
    let external_id = format!("DEMO-RET-{:02}", n + 1);
    let order = place(
        app,
        origin,
        prices,
        &story.order,
        external_id,
        card(story.token),
    )
    .await?;
    let order = deliver(app, origin, order).await?;
    let number = order.number.clone();
    let (order, id) = ask(app, origin, story, order)
        .await
        .with_context(|| format!("asking a return of {number}"))?;
    let mut order = order;
    for step in story.steps {
        order = take(app, origin, &order, &id, story, step)
            .await
            .with_context(|| format!("a return step of {number}"))?;
    }
    Ok((order.id.to_string(), id))
}

/// The customer's self-service request (their order number and email), or staff's.
async fn ask(
    app: &App,
    origin: &Origin,
    story: &Story,
    order: Order,
) -> anyhow::Result<(Order, orderly_domain::values::Id)> {
    let input = ReturnInput {
        items: story
            .items
            .iter()
            .map(|(line_no, quantity)| AskedItem {
                line_no: *line_no,
                quantity: *quantity,
            })
            .collect(),
        reason: story.reason.into(),
        wanted: Wanted::Refund,
        note: None,
        photos: Vec::new(),
        final_sale_exception: story.staff_exception,
        window_extension: false,
        shipping_cost_minor: None,
    };
    let (requester, origin) = if story.staff_exception {
        (Requester::Staff, origin.clone())
    } else {
        let customer = Origin {
            actor: Actor::system("self-service"),
            correlation_id: origin.correlation_id.clone(),
        };
        (
            Requester::Customer {
                email: Email::parse(story.order.email)?,
            },
            customer,
        )
    };
    app.request_return(order.number.clone(), input, requester, origin, None)
        .await
        .map_err(explain)
}

async fn take(
    app: &App,
    origin: &Origin,
    order: &Order,
    id: &orderly_domain::values::Id,
    story: &Story,
    step: &Step,
) -> anyhow::Result<Order> {
    let ret = order
        .return_by_id(id.as_str())
        .context("the return went missing")?;
    let label = ret.label.as_ref();
    let at = || {
        label
            .map(|l| l.location_id.to_string())
            .context("the return has no label to say where it goes")
    };
    let (rma, o) = (ret.rma.clone(), origin.clone());
    match step {
        Step::Scan(status) => {
            let label = label.context("the return has no label to scan")?;
            let city = story.order.street[1];
            scan(app, &label.carrier, &label.tracking_number, status, city).await?;
            app.order(&origin.actor, order.id.to_string())
                .await
                .map_err(explain)
        }
        Step::Receive(scans, close) => {
            let scans = scans.iter().map(|s| (*s).to_owned()).collect();
            Ok(app
                .receive_return(rma, at()?, scans, *close, o, None)
                .await
                .map_err(explain)?
                .0)
        }
        Step::Inspect(units) => {
            let items = units
                .iter()
                .map(
                    |(item_no, condition, acceptance, disposition)| ItemInspection {
                        item_no: *item_no,
                        condition: (*condition).into(),
                        acceptance: *acceptance,
                        disposition: *disposition,
                    },
                )
                .collect();
            Ok(app
                .inspect_return(rma, items, o, None)
                .await
                .map_err(explain)?
                .0)
        }
        Step::Cancel(reason) => Ok(app
            .cancel_return(rma, (*reason).into(), o, None)
            .await
            .map_err(explain)?
            .0),
    }
}

/// The expiring return, told by an `App` on the same store whose clock stands
/// `EXPIRED_PLACED_DAYS_AGO` days back and moves on by hand.
async fn tell_in_the_past(
    app: &App,
    origin: &Origin,
    prices: &HashMap<String, i64>,
) -> anyhow::Result<(String, orderly_domain::values::Id)> {
    let back = SignedDuration::from_hours(24 * EXPIRED_PLACED_DAYS_AGO);
    let then = app
        .now()
        .checked_sub(back)
        .context("the clock is too early")?;
    let clock = Arc::new(ManualClock::new(then));
    let mut past = App::with_time(
        app.store.clone(),
        (*app.config).clone(),
        clock.clone() as Arc<dyn Clock>,
        app.ids.clone(),
    )?;
    // The same simulated provider, so the real app can still refund what this one took.
    past.simulator = app.simulator.clone();
    let story = expired();
    let external_id = "DEMO-RET-EXPIRED".to_owned();
    let order = place(
        &past,
        origin,
        prices,
        &story.order,
        external_id,
        card(story.token),
    )
    .await?;
    clock.advance(SignedDuration::from_hours(24));
    let order = deliver(&past, origin, order).await?;
    clock.advance(SignedDuration::from_hours(24));
    let (order, id) = ask(&past, origin, &story, order).await?;
    Ok((order.id.to_string(), id))
}
