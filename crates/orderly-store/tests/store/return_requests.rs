//! The recorded return requests the policy backtest replays: read back from the order's
//! events exactly as they were appended, with their order and time, oldest first from a
//! given time, page by page. Runs on the suite's backend.

use super::{open, seed_order};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::order::{OrderEvent, ReturnRequested, ReturnSource};
use orderly_domain::payment::{PaymentMethod, RefundMethod};
use orderly_domain::returns::{
    AskedItem, Judgement, Outcome, RefundTiming, ReturnFacts, ReturnHistory, ReturnShipping, Rule,
    Wanted,
};
use orderly_domain::values::Id;
use orderly_store::{EventMeta, ReturnRequestRow, Store, StoreError};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// A rejected request `n` of order `ord_1` (rejected, so it holds no units and sets no
/// timer: the store test needs only the event).
fn requested(n: u32, reason: &str) -> OrderEvent {
    OrderEvent::ReturnRequested(Box::new(ReturnRequested {
        return_id: Id::new(format!("rma_ord_1_{n}")),
        rma: format!("RMA-WEB-{}", 1000 + n),
        source: ReturnSource::Staff,
        items: vec![AskedItem {
            line_no: 1,
            quantity: 1,
        }],
        reason: reason.into(),
        note: None,
        photos: Vec::new(),
        wanted: Wanted::Refund,
        final_sale_exception: false,
        window_extension: n.is_multiple_of(2),
        shipping_cost_minor: None,
        facts: ReturnFacts {
            channel: Id::new("web"),
            placed_at: t(0),
            paid_with: vec![PaymentMethod::Card],
            lines: Vec::new(),
            history: ReturnHistory::default(),
            replacement: None,
        },
        judgement: Judgement {
            version: "2026-01".into(),
            outcome: Outcome::Rejected {
                rule: Rule::OutsideWindow,
            },
            reason: reason.into(),
            value_minor: 100,
            restocking_fee_minor: 0,
            return_shipping: ReturnShipping::Free,
            shipping_reimbursed_minor: 0,
            refundable_minor: 100,
            refund_method: RefundMethod::OriginalPayment,
            refund_timing: RefundTiming::AfterInspection,
            required_condition: "new".into(),
            exchange: None,
            serial_returner: None,
            ship_by: t(86_400),
            rejected_items: Default::default(),
        },
    }))
}

async fn append(store: &Store, events: Vec<OrderEvent>, at: i64) {
    store
        .write(move |tx| {
            let before = tx.load_order("ord_1")?;
            tx.append(
                before,
                &events,
                &EventMeta {
                    actor: Actor::system("test"),
                    correlation_id: "c".into(),
                    at: t(at),
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

async fn page(
    store: &Store,
    since: i64,
    after: Option<(Timestamp, i64)>,
    limit: u32,
) -> Vec<ReturnRequestRow> {
    store
        .read(move |r| r.return_requests(t(since), after, limit))
        .await
        .unwrap()
}

fn ids(rows: &[ReturnRequestRow]) -> Vec<String> {
    rows.iter()
        .map(|r| r.request.return_id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_requests_are_read_back_oldest_first_from_a_time_page_by_page() {
    let (_db, store) = open().await;
    seed_order(&store, 4).await;
    append(&store, vec![requested(1, "too_small")], 10).await;
    // Two requests in one append share a time; the event seq orders them.
    append(
        &store,
        vec![requested(2, "too_small"), requested(3, "damaged")],
        20,
    )
    .await;
    append(&store, vec![requested(4, "damaged")], 30).await;

    let all = page(&store, 0, None, 10).await;
    assert_eq!(
        ids(&all),
        ["rma_ord_1_1", "rma_ord_1_2", "rma_ord_1_3", "rma_ord_1_4"]
    );
    let second = &all[1];
    assert_eq!(
        (
            second.order_id.as_str(),
            second.order_number.as_str(),
            second.at
        ),
        ("ord_1", "WEB-1001", t(20))
    );
    assert_eq!(
        OrderEvent::ReturnRequested(Box::new(second.request.clone())),
        requested(2, "too_small"),
        "the event exactly as appended, facts and judgement included"
    );
    assert!(all[1].seq < all[2].seq);

    // From a time (inclusive), one row a page.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let rows = page(&store, 20, after, 1).await;
        let Some(last) = rows.last() else { break };
        after = Some(last.key());
        seen.extend(ids(&rows));
    }
    assert_eq!(seen, ["rma_ord_1_2", "rma_ord_1_3", "rma_ord_1_4"]);
    assert!(page(&store, 31, None, 10).await.is_empty());
    // A key before `since` does not reach back past it.
    let early = Some(all[0].key());
    assert_eq!(ids(&page(&store, 30, early, 10).await), ["rma_ord_1_4"]);
}
