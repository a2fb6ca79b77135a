//! Payments, the operations asked of their providers, and refunds. An operation is an
//! intent until the provider answers; while pending, its amount is already held against
//! what can be captured or refunded, so a second concurrent request sees less.

use crate::Timestamp;
use crate::values::Id;
use serde::{Deserialize, Serialize};

snake_enum!(
    /// How the customer pays.
    PaymentMethod {
        Card => "card",
        CashOnDelivery => "cash_on_delivery",
        BankTransfer => "bank_transfer",
        StoreCredit => "store_credit",
        GiftCard => "gift_card",
    }
);

impl PaymentMethod {
    /// Methods settled outside any provider: finance marks them paid.
    pub fn is_manual(self) -> bool {
        matches!(
            self,
            PaymentMethod::CashOnDelivery | PaymentMethod::BankTransfer
        )
    }

    /// Accepted without money up front: the order is confirmed at once and paid later.
    pub fn is_deferred(self) -> bool {
        self == PaymentMethod::CashOnDelivery
    }
}

snake_enum!(
    /// What an operation asks of the provider.
    OpKind {
        Authorize => "authorize",
        Capture => "capture",
        Void => "void",
        Refund => "refund",
        /// Lowers an open authorization by the operation's amount and keeps the rest
        /// open (an order edit that takes value off an order not yet captured).
        Reduce => "reduce",
    }
);

snake_enum!(
    OpStatus {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

snake_enum!(
    /// Where refunded money goes.
    RefundMethod {
        OriginalPayment => "original_payment",
        StoreCredit => "store_credit",
    }
);

snake_enum!(
    RefundReason {
        CustomerRequest => "customer_request",
        Return => "return",
        Damaged => "damaged",
        NotDelivered => "not_delivered",
        PriceAdjustment => "price_adjustment",
        OrderCancelled => "order_cancelled",
        Fraud => "fraud",
        Other => "other",
    }
);

snake_enum!(
    /// A refund's state, derived from its operations.
    RefundStatus {
        Pending => "pending",
        Succeeded => "succeeded",
        RefundFailed => "refund_failed",
    }
);

snake_enum!(
    /// How the order's money is taken once authorized.
    CaptureMode {
        OnAuthorization => "on_authorization",
        OnShipment => "on_shipment",
    }
);

/// The provider name of payments settled inside Orderly (store credit).
pub const STORE_CREDIT_PROVIDER: &str = "store_credit";
/// The provider name of payments finance marks paid by hand.
pub const MANUAL_PROVIDER: &str = "manual";

/// One way the order is (to be) paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: Id,
    pub method: PaymentMethod,
    /// `simulator`, `manual`, `store_credit`, …
    pub provider: String,
    /// The instrument's fingerprint from the provider's tokenization. The token itself is
    /// kept out of the order (see `PaymentAdded`); a snapshot written before carries a
    /// `token`, which is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The card's last digits, where the provider gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    pub amount_minor: i64,
    pub created_at: Timestamp,
    /// When the provider will let the authorization lapse, if it said.
    pub authorization_expires_at: Option<Timestamp>,
}

/// One request to a provider. Its id is the idempotency key the provider sees, so
/// re-driving a pending operation after a crash or timeout can never charge twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOp {
    pub id: Id,
    pub payment_id: Id,
    pub kind: OpKind,
    pub amount_minor: i64,
    pub status: OpStatus,
    /// The refund this operation executes (part of), if any.
    pub refund_id: Option<Id>,
    /// A refund paid out as store credit instead of through the provider.
    pub to_store_credit: bool,
    pub provider_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub requested_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_no: u32,
    pub quantity: u32,
    /// The part of the refund's amount given back for this line (recorded by the
    /// decision; ignored in a request).
    #[serde(default)]
    pub amount_minor: i64,
}

/// A refund as asked for; its parts are `PaymentOp`s (one per payment it draws on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: Id,
    pub amount_minor: i64,
    pub reason: RefundReason,
    pub method: RefundMethod,
    pub lines: Vec<RefundLine>,
    pub note: Option<String>,
    pub requested_at: Timestamp,
}

/// What a provider answered to one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOutcome {
    Succeeded {
        provider_reference: Option<String>,
        authorization_expires_at: Option<Timestamp>,
    },
    Failed {
        code: String,
        message: String,
    },
}
