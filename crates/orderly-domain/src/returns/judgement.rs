//! What a return decision reads and what it answers. These types are the seam between
//! the policy (which judges) and the order aggregate (which records the judgement on the
//! return and acts on it), so both sides, the backtest included, speak the same words.

use crate::Timestamp;
use crate::payment::{PaymentMethod, RefundMethod};
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};

/// The outcome the customer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wanted {
    /// Money back, by the method the policy allows.
    Refund,
    /// Store credit, even where the policy would refund the original payment.
    StoreCredit,
    /// Another variant instead of money.
    Exchange { sku: Sku },
}

/// Units of one order line asked back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedItem {
    pub line_no: u32,
    pub quantity: u32,
}

/// The request, as the customer or staff put it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAsk {
    pub items: Vec<AskedItem>,
    /// A leaf code of the policy's reason taxonomy.
    pub reason: String,
    pub wanted: Wanted,
    /// Staff ask for a final-sale item to be taken back anyway (sends it to review).
    #[serde(default)]
    pub final_sale_exception: bool,
    /// Staff ask for the window to be extended (sends a late request to review instead
    /// of rejecting it).
    #[serde(default)]
    pub window_extension: bool,
    /// The postage the customer pays to send it back with a carrier of their own, as
    /// they state it: reimbursed up to the reason's cap, where its policy says so.
    #[serde(default)]
    pub shipping_cost_minor: Option<i64>,
}

/// What the order knows about one of its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFacts {
    pub line_no: u32,
    pub sku: Sku,
    /// The product (the SKU's family, e.g. `TEE` for `TEE-BLK-M`), for exchange rules.
    pub product: Option<String>,
    pub category: Option<String>,
    /// The catalog's own flag: false means never returnable, whatever the policy says.
    pub returnable: bool,
    /// What the line was paid (price × quantity less its share of discount, plus tax).
    pub paid_minor: i64,
    pub ordered: u32,
    pub delivered: u32,
    /// When the last of the line's units was delivered (the window counts from here).
    pub delivered_at: Option<Timestamp>,
    /// Units already in an open or completed return.
    pub in_returns: u32,
}

impl LineFacts {
    /// The paid value of `quantity` of this line's units (cumulative rounding, so the
    /// units of a line add up to what it was paid).
    pub fn value_of(&self, quantity: u32) -> i64 {
        let ordered = i128::from(self.ordered.max(1));
        let value = i128::from(self.paid_minor) * i128::from(quantity.min(self.ordered)) / ordered;
        i64::try_from(value).unwrap_or(i64::MAX)
    }
}

/// The customer's returns within the serial-returner rule's look-back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnHistory {
    pub returns: u32,
    pub returned_value_minor: i64,
    pub purchased_value_minor: i64,
}

/// The variant asked for in an exchange, as the catalog and the stock know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub sku: Sku,
    pub product: Option<String>,
    pub unit_price_minor: i64,
}

/// Everything the judgement reads besides the request and the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnFacts {
    pub channel: Id,
    pub placed_at: Timestamp,
    pub paid_with: Vec<PaymentMethod>,
    pub lines: Vec<LineFacts>,
    pub history: ReturnHistory,
    /// The exchange's variant, when one was asked for and the catalog knows it.
    pub replacement: Option<Replacement>,
}

snake_enum!(
    /// The rule behind a review or a rejection, named on the decision.
    Rule {
        OutsideWindow => "outside_window",
        OverAutoApprovalLimit => "over_auto_approval_limit",
        SerialReturner => "serial_returner",
        FinalSaleExceptionAsked => "final_sale_exception_asked",
        WindowExtensionAsked => "window_extension_asked",
        FinalSale => "final_sale",
        NotReturnable => "not_returnable",
        NonReturnableCategory => "non_returnable_category",
        ExchangeNotAllowed => "exchange_not_allowed",
        ExchangePriceDiffers => "exchange_price_differs",
    }
);

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Authorized,
    /// A person with the authority decides; `rules` says what sent it there.
    NeedsReview {
        rules: Vec<Rule>,
    },
    Rejected {
        rule: Rule,
    },
}

snake_enum!(
    /// When the money goes back.
    RefundTiming {
        OnCarrierAcceptance => "on_carrier_acceptance",
        OnReceipt => "on_receipt",
        AfterInspection => "after_inspection",
    }
);

/// Who pays the parcel back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReturnShipping {
    /// The merchant's prepaid label, free to the customer.
    Free,
    /// The merchant's label, its fee taken from the refund.
    FlatFee { fee_minor: i64 },
    /// The customer ships it with a carrier of their own; no label is issued. The postage
    /// they state is paid back up to `reimburse_up_to_minor` (0: not at all).
    CustomerLabel {
        #[serde(default)]
        reimburse_up_to_minor: i64,
    },
}

impl ReturnShipping {
    pub fn fee_minor(self) -> i64 {
        match self {
            ReturnShipping::FlatFee { fee_minor } => fee_minor,
            ReturnShipping::Free | ReturnShipping::CustomerLabel { .. } => 0,
        }
    }

    /// What of `stated` postage the merchant pays back: up to the reason's cap.
    pub fn reimbursed_of(self, stated: i64) -> i64 {
        match self {
            ReturnShipping::CustomerLabel {
                reimburse_up_to_minor,
            } => stated.clamp(0, reimburse_up_to_minor.max(0)),
            ReturnShipping::Free | ReturnShipping::FlatFee { .. } => 0,
        }
    }

    /// Whether Orderly issues a label for the parcel.
    pub fn issues_label(self) -> bool {
        !matches!(self, ReturnShipping::CustomerLabel { .. })
    }
}

/// The exchange as the policy allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeTerms {
    pub sku: Sku,
    pub unit_price_minor: i64,
    /// Replacement price less the returned units' value: above zero the customer pays
    /// the difference, below zero it is refunded.
    pub price_difference_minor: i64,
}

/// The policy's whole answer to one request: the outcome with its rules, the money as
/// the policy computes it, and the terms the rest of the workflow follows. Recorded on
/// the return, with the version that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// The name of the policy version that judged (e.g. `2026-11`).
    pub version: String,
    pub outcome: Outcome,
    pub reason: String,
    /// The paid value of the asked units.
    pub value_minor: i64,
    pub restocking_fee_minor: i64,
    pub return_shipping: ReturnShipping,
    /// The customer's own postage paid back (their stated cost, up to the reason's cap).
    #[serde(default)]
    pub shipping_reimbursed_minor: i64,
    /// Value less the restocking fee and the return shipping fee, never below zero (the
    /// postage reimbursed is paid beside it).
    pub refundable_minor: i64,
    pub refund_method: RefundMethod,
    pub refund_timing: RefundTiming,
    /// The condition items must come back in (a grade of the policy's, e.g. `unused`).
    pub required_condition: String,
    pub exchange: Option<ExchangeTerms>,
    /// Why the customer counts as a serial returner, when they do.
    pub serial_returner: Option<String>,
    /// An authorized return must be shipped by then or it expires.
    #[serde(with = "crate::time::wire")]
    pub ship_by: Timestamp,
    /// What becomes of a unit inspection rejects.
    #[serde(default)]
    pub rejected_items: super::policy::RejectedItems,
}
