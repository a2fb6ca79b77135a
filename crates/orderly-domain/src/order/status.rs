//! Derived states. The order-level fulfillment, return and refund summaries and the status
//! a customer sees are computed from buckets, the ledger and the order machine every time,
//! so "partially shipped" is a fact about units, never a label someone forgot to update.
//! The status follows the goods: money (refunds) and holds are facts of their own
//! (`refund_state`, `on_hold`), so a refund never hides that an order was delivered.

use super::state::{Delivery, Order, OrderState};
use crate::payment::{PaymentState, RefundStatus, derive_state};

snake_enum!(FulfillmentSummary {
    Unfulfilled => "unfulfilled",
    PartiallyFulfilled => "partially_fulfilled",
    Fulfilled => "fulfilled",
    PartiallyDelivered => "partially_delivered",
    Delivered => "delivered",
    Cancelled => "cancelled",
});
snake_enum!(ReturnSummary {
    None => "none",
    /// A return is open and none of its units has arrived yet.
    ReturnRequested => "return_requested",
    PartiallyReturned => "partially_returned",
    Returned => "returned",
});
snake_enum!(
    /// Where the order's money stands for the customer, beside the payment machine.
    RefundState {
        None => "none",
        /// A refund is on its way to the provider.
        Pending => "pending",
        PartiallyRefunded => "partially_refunded",
        Refunded => "refunded",
        /// A refund the provider refused waits for its retry (nothing of it is counted).
        RefundFailed => "refund_failed",
    }
);
snake_enum!(
    /// The one status a customer or support agent reads first.
    CustomerStatus {
        PendingPayment => "pending_payment",
        Paid => "paid",
        /// Paid or accepted, but a hold keeps it from the warehouse.
        OnHold => "on_hold",
        Processing => "processing",
        /// Some units shipped, others not yet.
        PartiallyFulfilled => "partially_fulfilled",
        Shipped => "shipped",
        /// Click and collect: everything is on the pickup counter.
        ReadyForPickup => "ready_for_pickup",
        PartiallyDelivered => "partially_delivered",
        Delivered => "delivered",
        Cancelled => "cancelled",
        /// Nothing shipped and every unit of money given back, without a cancellation.
        Refunded => "refunded",
        PartiallyReturned => "partially_returned",
        Returned => "returned",
        /// Delivered, and a return of some of it is open.
        ReturnRequested => "return_requested",
    }
);

struct Totals {
    active: u32,
    released: u32,
    shipped: u32,
    delivered: u32,
    returned: u32,
}

fn totals(order: &Order) -> Totals {
    let mut t = Totals {
        active: 0,
        released: 0,
        shipped: 0,
        delivered: 0,
        returned: 0,
    };
    for l in &order.lines {
        t.active += l.buckets.active();
        t.released += l.buckets.released;
        t.shipped += l.buckets.shipped;
        t.delivered += l.buckets.delivered;
        t.returned += l.buckets.returned;
    }
    t
}

impl Order {
    pub fn payment_state(&self) -> PaymentState {
        derive_state(&self.ledger)
    }

    pub fn fulfillment_summary(&self) -> FulfillmentSummary {
        let t = totals(self);
        if t.active == 0 {
            FulfillmentSummary::Cancelled
        } else if t.delivered >= t.active {
            FulfillmentSummary::Delivered
        } else if t.delivered > 0 {
            FulfillmentSummary::PartiallyDelivered
        } else if t.shipped >= t.active {
            FulfillmentSummary::Fulfilled
        } else if t.shipped > 0 {
            FulfillmentSummary::PartiallyFulfilled
        } else {
            FulfillmentSummary::Unfulfilled
        }
    }

    pub fn return_summary(&self) -> ReturnSummary {
        let t = totals(self);
        let open = self
            .returns
            .iter()
            .any(|r| !r.state.is_terminal() && r.state.holds_units());
        if t.returned > 0 && t.returned >= t.shipped {
            ReturnSummary::Returned
        } else if t.returned > 0 {
            ReturnSummary::PartiallyReturned
        } else if open {
            ReturnSummary::ReturnRequested
        } else {
            ReturnSummary::None
        }
    }

    /// Where refunds stand: a failure waiting for its retry is the most telling fact,
    /// then one in flight, then what the ledger says went back.
    pub fn refund_state(&self) -> RefundState {
        let statuses: Vec<RefundStatus> =
            self.refunds.iter().map(|r| self.refund_status(r)).collect();
        if statuses.contains(&RefundStatus::RefundFailed) {
            return RefundState::RefundFailed;
        }
        if statuses.contains(&RefundStatus::Pending) {
            return RefundState::Pending;
        }
        match self.payment_state() {
            PaymentState::Refunded => RefundState::Refunded,
            PaymentState::PartiallyRefunded => RefundState::PartiallyRefunded,
            _ => RefundState::None,
        }
    }

    /// A hold is active (see `release_blockers` for what else keeps it back).
    pub fn on_hold(&self) -> bool {
        !self.holds.is_empty()
    }

    /// The one status a customer or a support agent reads first. The furthest physical
    /// fact wins (returned over delivered over shipped); only while nothing has shipped do
    /// money and holds speak: refunded in full, unpaid, on hold, then preparation.
    pub fn customer_status(&self) -> CustomerStatus {
        use CustomerStatus as S;
        if self.state == OrderState::Cancelled {
            return S::Cancelled;
        }
        match self.return_summary() {
            ReturnSummary::Returned => return S::Returned,
            ReturnSummary::PartiallyReturned => return S::PartiallyReturned,
            ReturnSummary::ReturnRequested => return S::ReturnRequested,
            ReturnSummary::None => {}
        }
        match self.fulfillment_summary() {
            FulfillmentSummary::Delivered => return S::Delivered,
            FulfillmentSummary::PartiallyDelivered => return S::PartiallyDelivered,
            FulfillmentSummary::Fulfilled if Delivery::pickup(self.delivery.as_ref()).is_some() => {
                return S::ReadyForPickup;
            }
            FulfillmentSummary::Fulfilled => return S::Shipped,
            FulfillmentSummary::PartiallyFulfilled => return S::PartiallyFulfilled,
            FulfillmentSummary::Unfulfilled | FulfillmentSummary::Cancelled => {}
        }
        let payment = self.payment_state();
        if payment == PaymentState::Refunded {
            return S::Refunded;
        }
        if self.state == OrderState::Pending {
            return S::PendingPayment;
        }
        if self.on_hold() {
            return S::OnHold;
        }
        if totals(self).released > 0 {
            return S::Processing;
        }
        match payment {
            // Confirmed without money: a deferred method (cash on delivery) was accepted.
            PaymentState::Unpaid => S::Processing,
            PaymentState::Failed | PaymentState::Expired | PaymentState::Voided => {
                S::PendingPayment
            }
            _ => S::Paid,
        }
    }
}
