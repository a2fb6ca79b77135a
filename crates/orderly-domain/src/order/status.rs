//! Derived states. The order-level fulfillment and return summaries and the status a
//! customer sees are computed from buckets, the ledger and the order machine every time,
//! so "partially shipped" is a fact about units, never a label someone forgot to update.

use super::state::{Order, OrderState};
use crate::payment::{PaymentState, derive_state};

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
    PartiallyReturned => "partially_returned",
    Returned => "returned",
});
snake_enum!(CustomerStatus {
    PendingPayment => "pending_payment",
    Paid => "paid",
    Processing => "processing",
    PartiallyFulfilled => "partially_fulfilled",
    Shipped => "shipped",
    /// Click and collect: everything is on the pickup counter.
    ReadyForPickup => "ready_for_pickup",
    PartiallyDelivered => "partially_delivered",
    Delivered => "delivered",
    Cancelled => "cancelled",
    PartiallyRefunded => "partially_refunded",
    Refunded => "refunded",
    PartiallyReturned => "partially_returned",
    Returned => "returned",
});

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
        if t.returned == 0 {
            ReturnSummary::None
        } else if t.returned >= t.shipped {
            ReturnSummary::Returned
        } else {
            ReturnSummary::PartiallyReturned
        }
    }

    /// The one status a customer or a support agent reads first. The furthest physical
    /// fact wins (returned over delivered over shipped), then money, then preparation.
    pub fn customer_status(&self) -> CustomerStatus {
        use CustomerStatus as S;
        if self.state == OrderState::Cancelled {
            return S::Cancelled;
        }
        match self.return_summary() {
            ReturnSummary::Returned => return S::Returned,
            ReturnSummary::PartiallyReturned => return S::PartiallyReturned,
            ReturnSummary::None => {}
        }
        match self.payment_state() {
            PaymentState::Refunded => return S::Refunded,
            PaymentState::PartiallyRefunded => return S::PartiallyRefunded,
            _ => {}
        }
        match self.fulfillment_summary() {
            FulfillmentSummary::Delivered => return S::Delivered,
            FulfillmentSummary::PartiallyDelivered => return S::PartiallyDelivered,
            FulfillmentSummary::Fulfilled
                if self
                    .delivery
                    .as_ref()
                    .is_some_and(|d| d.pickup_location.is_some()) =>
            {
                return S::ReadyForPickup;
            }
            FulfillmentSummary::Fulfilled => return S::Shipped,
            FulfillmentSummary::PartiallyFulfilled => return S::PartiallyFulfilled,
            FulfillmentSummary::Unfulfilled | FulfillmentSummary::Cancelled => {}
        }
        if totals(self).released > 0 {
            return S::Processing;
        }
        match self.payment_state() {
            // Confirmed without money: a deferred method (cash on delivery) was accepted.
            PaymentState::Unpaid if self.state == OrderState::Confirmed => S::Processing,
            PaymentState::Unpaid
            | PaymentState::Failed
            | PaymentState::Expired
            | PaymentState::Voided => S::PendingPayment,
            _ => S::Paid,
        }
    }
}
