//! The fixtures the return tests share: a delivered order with two lines and its money
//! captured, judgements written by hand (the policy that judges lives elsewhere), the
//! return commands, and the check every step of those tests passes: the order's
//! buckets and its returns add up.

use super::test_story::*;
use super::*;
use crate::fulfillment::TrackingStatus;
use crate::payment::{CaptureMode, RefundMethod};
use crate::returns::{
    Acceptance, AskedItem, Disposition, Judgement, Outcome, RefundTiming, RejectedItems, ReturnAsk,
    ReturnShipping, Wanted,
};
use crate::values::Id;

/// What line 1 (two units of A at 10.00) was paid: 20.00 less 2.00 of the discount plus
/// 1.61 of the tax. Its units are worth 9.80 and 9.81.
pub(super) const A_PAID: i64 = 1961;
/// What line 2 (one B at 15.00) was paid: 15.00 less 1.50 plus 1.20.
pub(super) const B_PAID: i64 = 1470;
/// Lines, 5.00 shipping and 2.81 tax, less the 3.50 discount.
pub(super) const ORDER_TOTAL: i64 = 3931;
/// Authorized returns must be shipped by then.
pub(super) const SHIP_BY: i64 = 100_000;

/// `ord_1` with two units of A and one B, paid with card `pay_1`; delivered. With
/// `captured` the channel captures at authorization and the capture (`pay_1.cap2`)
/// went through; without it the capture at shipment was declined, so nothing is
/// captured.
pub(super) fn delivered_with(captured: bool) -> Story {
    let mut facts = Facts::new();
    facts.stock.set(sku("B"), Id::new("east"), 10);
    let mut place = place_order(Some(card("pay_1")));
    place.lines = vec![
        NewLine {
            sku: sku("A"),
            name: "Tee".into(),
            quantity: 2,
            unit_price: 1000,
        },
        NewLine {
            sku: sku("B"),
            name: "Poster".into(),
            quantity: 1,
            unit_price: 1500,
        },
    ];
    place.discount_amount = 350;
    place.tax_amount = 281;
    place.shipping_amount = 500;
    let capture = if captured {
        CaptureMode::OnAuthorization
    } else {
        CaptureMode::OnShipment
    };
    let mut story = Story::placing(place, &facts).and(ok_with("pay_1.auth1", capture));
    if captured {
        story = story.and(ok("pay_1.cap2"));
    }
    story = story
        .and(release_all())
        .and(pick_lines(&[(1, 2), (2, 1)]))
        .and(pack(&["A", "A", "B"]))
        .and(ship(capture));
    if !captured {
        story = story.and(fail("pay_1.cap2"));
    }
    let story = story.and(scan(TrackingStatus::Delivered, 200));
    assert_sound(&story.order());
    story
}

/// Delivered, with the whole total captured.
pub(super) fn delivered() -> Story {
    delivered_with(true)
}

/// A judgement as the policy would give it, version `2026-11`, refunding the original
/// payment; the value and the refundable amount are filled in by `ask`.
pub(super) fn judgement(
    outcome: Outcome,
    timing: RefundTiming,
    fee_minor: i64,
    shipping: ReturnShipping,
) -> Judgement {
    Judgement {
        version: "2026-11".into(),
        outcome,
        reason: "too_small".into(),
        value_minor: 0,
        restocking_fee_minor: fee_minor,
        return_shipping: shipping,
        shipping_reimbursed_minor: 0,
        refundable_minor: 0,
        refund_method: RefundMethod::OriginalPayment,
        refund_timing: timing,
        required_condition: "unused".into(),
        exchange: None,
        serial_returner: None,
        ship_by: at(SHIP_BY),
        rejected_items: RejectedItems::InspectorChooses,
    }
}

/// Authorized, refunded after inspection, no fee, free shipping.
pub(super) fn authorized() -> Judgement {
    judgement(
        Outcome::Authorized,
        RefundTiming::AfterInspection,
        0,
        ReturnShipping::Free,
    )
}

/// Sent to review by `rules`, otherwise as `authorized`.
pub(super) fn review_judgement(rules: Vec<crate::returns::Rule>) -> Judgement {
    judgement(
        Outcome::NeedsReview { rules },
        RefundTiming::AfterInspection,
        0,
        ReturnShipping::Free,
    )
}

/// The paid value of `items` ((line_no, quantity)) of `order`, as the policy reads it.
pub(super) fn value_of(order: &Order, items: &[(u32, u32)]) -> i64 {
    let money = order.line_money();
    items
        .iter()
        .map(|&(line_no, quantity)| {
            let m = money.iter().find(|m| m.line_no == line_no).unwrap();
            m.paid_minor * i64::from(quantity) / i64::from(m.quantity)
        })
        .sum()
}

/// Asks return `id` (RMA `RMA-<id>`) for `items` of the story's order, judged `j`.
pub(super) fn ask(story: &Story, id: &str, items: &[(u32, u32)], mut j: Judgement) -> OrderCommand {
    j.value_minor = value_of(&story.order(), items);
    j.refundable_minor =
        (j.value_minor - j.restocking_fee_minor - j.return_shipping.fee_minor()).max(0);
    OrderCommand::RequestReturn(Box::new(RequestReturn {
        return_id: Id::new(id),
        rma: format!("RMA-{id}"),
        source: ReturnSource::SelfService,
        ask: ReturnAsk {
            items: asked(items),
            reason: "too_small".into(),
            wanted: Wanted::Refund,
            final_sale_exception: false,
            window_extension: false,
            shipping_cost_minor: None,
        },
        note: None,
        photos: Vec::new(),
        facts: facts_of(story),
        judgement: j,
    }))
}

/// Facts as the judgement would have read them (only what the tests look at).
pub(super) fn facts_of(story: &Story) -> crate::returns::ReturnFacts {
    let order = story.order();
    crate::returns::ReturnFacts {
        channel: order.channel.clone(),
        placed_at: order.created_at,
        paid_with: order.payments.iter().map(|p| p.method).collect(),
        lines: Vec::new(),
        history: crate::returns::ReturnHistory::default(),
        replacement: None,
    }
}

pub(super) fn asked(items: &[(u32, u32)]) -> Vec<AskedItem> {
    items
        .iter()
        .map(|&(line_no, quantity)| AskedItem { line_no, quantity })
        .collect()
}

pub(super) fn review(id: &str, approve: bool) -> OrderCommand {
    OrderCommand::ReviewReturn {
        review: ReviewReturn {
            return_id: Id::new(id),
            approve,
            by: "maria".into(),
            role: "supervisor".into(),
            note: None,
        },
        now: at(5_000),
    }
}

pub(super) fn track(id: &str, status: ReturnParcelStatus) -> OrderCommand {
    OrderCommand::TrackReturn {
        return_id: Id::new(id),
        status,
        occurred_at: at(6_000),
    }
}

/// A receipt at `east` of one scan per SKU in `skus` (`?X` scans something the catalog
/// does not know); `close` says nothing more is coming.
pub(super) fn receive(id: &str, skus: &[&str], close: bool) -> OrderCommand {
    OrderCommand::ReceiveReturn(ReceiveReturn {
        return_id: Id::new(id),
        location_id: Id::new("east"),
        scans: skus
            .iter()
            .map(|s| ReturnScan {
                scan: (*s).to_owned(),
                sku: s.strip_prefix('?').is_none().then(|| sku(s)),
            })
            .collect(),
        close,
    })
}

pub(super) fn inspect(id: &str, items: &[(u32, Acceptance, Disposition)]) -> OrderCommand {
    OrderCommand::InspectReturn {
        return_id: Id::new(id),
        items: items
            .iter()
            .map(|&(item_no, acceptance, disposition)| ItemInspection {
                item_no,
                condition: "like_new".into(),
                acceptance,
                disposition,
            })
            .collect(),
    }
}

/// Every received unit of `id` accepted and restocked, items 1..=n.
pub(super) fn restock_all(id: &str, n: u32) -> OrderCommand {
    let items: Vec<_> = (1..=n)
        .map(|i| (i, Acceptance::Accepted, Disposition::Restock))
        .collect();
    inspect(id, &items)
}

pub(super) fn resolve_with(
    id: &str,
    refund_id: &str,
    waive_fee: bool,
    without_return: bool,
) -> OrderCommand {
    OrderCommand::ResolveReturn {
        resolve: ResolveReturn {
            return_id: Id::new(id),
            refund_id: Id::new(refund_id),
            waive_fee,
            without_return,
        },
        now: at(7_000),
    }
}

pub(super) fn resolve(id: &str, refund_id: &str) -> OrderCommand {
    resolve_with(id, refund_id, false, false)
}

pub(super) fn complete(id: &str) -> OrderCommand {
    OrderCommand::CompleteReturn {
        return_id: Id::new(id),
    }
}

pub(super) fn cancel_return(id: &str) -> OrderCommand {
    OrderCommand::CancelReturn {
        return_id: Id::new(id),
        reason: "customer changed their mind".into(),
    }
}

pub(super) fn expire_return(id: &str, now: i64) -> OrderCommand {
    OrderCommand::ExpireReturn {
        return_id: Id::new(id),
        now: at(now),
    }
}

/// The return `id` of `order`.
pub(super) fn ret<'a>(order: &'a Order, id: &str) -> &'a Return {
    order.return_by_id(id).expect("the return exists")
}

/// (return_requested, returned, restocked) of `line_no`.
pub(super) fn return_buckets(order: &Order, line_no: u32) -> (u32, u32, u32) {
    let b = order.lines[usize::try_from(line_no - 1).unwrap()].buckets;
    (b.return_requested, b.returned, b.restocked)
}

/// The invariant every step keeps: the buckets add up, and the return buckets are what
/// the returns hold (`return_violations` is part of `violations`; asked apart so a
/// failure names it).
pub(super) fn assert_sound(order: &Order) {
    assert_eq!(order.violations(), Vec::<String>::new());
    assert_eq!(order.return_violations(), Vec::<String>::new());
}

/// `Story::and` that also checks the invariant after the step.
pub(super) trait Step: Sized {
    fn step(self, command: OrderCommand) -> Story;

    /// Steps through `ask` for return `id`.
    fn asking(self, id: &str, items: &[(u32, u32)], j: Judgement) -> Story;
}

impl Step for Story {
    fn step(self, command: OrderCommand) -> Story {
        let story = self.and(command);
        assert_sound(&story.order());
        story
    }

    fn asking(self, id: &str, items: &[(u32, u32)], j: Judgement) -> Story {
        let command = ask(&self, id, items, j);
        self.step(command)
    }
}

/// The state after the story and `events`, checked.
pub(super) fn sound_then(story: &Story, events: &[OrderEvent]) -> Order {
    let order = story.then(events);
    assert_sound(&order);
    order
}
