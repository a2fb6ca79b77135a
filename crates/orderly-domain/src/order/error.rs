//! Domain refusals. These are answers ("you can't cancel a shipped order"), not technical
//! failures; each carries a stable code the API shows to clients.

use super::state::OrderState;
use crate::values::Sku;

/// One problem with one field of a request, e.g. `lines[0].quantity` / `must_be_positive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldIssue {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("the order is invalid")]
    Invalid(Vec<FieldIssue>),
    #[error("the order already exists")]
    AlreadyExists,
    #[error("the order does not exist")]
    NotFound,
    #[error("not enough stock for {}", skus.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))]
    OutOfStock { skus: Vec<Sku>, lines: Vec<u32> },
    #[error("an order that is {} cannot become {}", from.as_str(), to.as_str())]
    IllegalTransition { from: OrderState, to: OrderState },
    #[error(
        "the order has shipped units and can no longer be cancelled as a whole; ask for a return of what was delivered (POST /api/v1/returns)"
    )]
    AlreadyShipped,
    #[error("nothing is authorized and not yet captured")]
    NothingToCapture,
    #[error("capture of {requested} exceeds the {remaining} authorized and not yet captured")]
    CaptureExceedsAuthorized { requested: i64, remaining: i64 },
    #[error("refund of {requested} exceeds the {remaining} captured and not yet refunded")]
    RefundExceedsCaptured { requested: i64, remaining: i64 },
    #[error("amounts must be between 1 and 10^13 minor units")]
    InvalidAmount,
    #[error("the order has no payment operation {0}")]
    UnknownPaymentOp(String),
    #[error("the order has no payment {0}")]
    UnknownPayment(String),
    #[error("the order has no refund {0}")]
    UnknownRefund(String),
    #[error("nothing of refund {0} is left to retry")]
    NothingToRetry(String),
    #[error("payment {0} is already paid")]
    AlreadyPaid(String),
    #[error("payment {0} is not settled by hand")]
    NotManualPayment(String),
    #[error("the order is already paid for or has a payment in progress")]
    PaymentNotNeeded,
    #[error("the order totals nothing, and its channel takes no free orders")]
    FreeOrderNotAllowed,
    #[error("the {0} hold is already active")]
    HoldAlreadyActive(&'static str),
    #[error("no {0} hold is active")]
    HoldNotActive(&'static str),
    #[error("refund line {0} is not a line of this order, is named twice or has no quantity")]
    InvalidRefundLine(u32),
    #[error(
        "refund of {requested} {unit} exceeds the {remaining} of line {line_no} not yet refunded"
    )]
    RefundExceedsLine {
        line_no: u32,
        unit: &'static str,
        requested: i64,
        remaining: i64,
    },
    #[error("the order cannot be released: {}", .0.join(", "))]
    ReleaseBlocked(Vec<String>),
    #[error("the order has no fulfillment order {0}")]
    UnknownFulfillmentOrder(String),
    #[error("fulfillment order {0} is not pending")]
    FulfillmentNotPending(String),
    #[error("fulfillment order {id} is {} and cannot {doing}", state.as_str())]
    FulfillmentState {
        id: String,
        state: crate::fulfillment::FulfillmentState,
        doing: &'static str,
    },
    #[error(
        "the pick must count every line of the fulfillment order exactly once, at most its quantity (line {0})"
    )]
    InvalidPick(u32),
    #[error("a package needs at least one scanned item")]
    EmptyPackage,
    #[error("a package needs a new id, a weight and all three dimensions")]
    InvalidPackage,
    #[error("{0} is not in this fulfillment order")]
    ScanNotInOrder(String),
    #[error("one {0} too many: every picked unit of it is packed already or in this package")]
    ScanExceedsPicked(String),
    #[error("no package {0}")]
    UnknownPackage(String),
    #[error("package {0} has already shipped")]
    PackageAlreadyShipped(String),
    #[error("no shipment {0}")]
    UnknownShipment(String),
    #[error("the order has no return {0}")]
    UnknownReturn(String),
    #[error("return {rma} is {} and cannot {doing}", state.as_str())]
    ReturnState {
        rma: String,
        state: crate::returns::ReturnState,
        doing: &'static str,
    },
    #[error("line {line_no}: {requested} asked back but only {returnable} may still be returned")]
    ReturnQuantity {
        line_no: u32,
        requested: u32,
        returnable: u32,
    },
    #[error("return {rma} has no item {item_no}")]
    UnknownReturnItem { rma: String, item_no: u32 },
    #[error("every unit of {sku} on return {rma} has already been received")]
    AlreadyReceived { rma: String, sku: String },
    #[error("item {item_no} of return {rma} cannot be inspected: {why}")]
    InspectionRefused {
        rma: String,
        item_no: u32,
        why: &'static str,
    },
    #[error("return {0} has already been resolved")]
    ReturnAlreadyResolved(String),
    #[error("return {0} has nothing received and accepted to refund yet")]
    NothingToResolve(String),
    #[error("edit {0} is open on this order: commit or abandon it first")]
    EditOpen(String),
    #[error("the order has no edit {0}")]
    UnknownEdit(String),
    #[error("edit {0} is no longer open")]
    EditClosed(String),
    #[error("the edit cannot be made: {0}")]
    EditNotAllowed(String),
    #[error("the edit would leave the order without units; cancel the order instead")]
    EditEmptiesOrder,
    #[error("the edit has no changes")]
    NothingToEdit,
    #[error("payment operation {0} is waiting for its provider; edit once it is answered")]
    PaymentInFlight(String),
    #[error("cancellation {0} waits for the warehouse to answer")]
    CancellationPending(String),
    #[error("no cancellation waits for an answer from fulfillment order {0}")]
    NoCancellationRequest(String),
}

impl OrderError {
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::Invalid(_) => "validation_failed",
            OrderError::AlreadyExists => "order_exists",
            OrderError::NotFound => "order_not_found",
            OrderError::OutOfStock { .. } => "out_of_stock",
            OrderError::IllegalTransition { .. } => "illegal_transition",
            OrderError::AlreadyShipped => "already_shipped",
            OrderError::NothingToCapture => "nothing_to_capture",
            OrderError::CaptureExceedsAuthorized { .. } => "capture_exceeds_authorized",
            OrderError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
            OrderError::InvalidAmount => "invalid_amount",
            OrderError::UnknownPaymentOp(_) => "payment_operation_not_found",
            OrderError::UnknownPayment(_) => "payment_not_found",
            OrderError::UnknownRefund(_) => "refund_not_found",
            OrderError::NothingToRetry(_) => "refund_not_failed",
            OrderError::AlreadyPaid(_) => "already_paid",
            OrderError::NotManualPayment(_) => "not_manual_payment",
            OrderError::PaymentNotNeeded => "payment_not_needed",
            OrderError::FreeOrderNotAllowed => "free_order_not_allowed",
            OrderError::HoldAlreadyActive(_) => "hold_already_active",
            OrderError::HoldNotActive(_) => "hold_not_active",
            OrderError::InvalidRefundLine(_) => "invalid_refund_line",
            OrderError::RefundExceedsLine { .. } => "refund_exceeds_line",
            OrderError::ReleaseBlocked(_) => "release_blocked",
            OrderError::UnknownFulfillmentOrder(_) => "fulfillment_order_not_found",
            OrderError::FulfillmentNotPending(_) => "fulfillment_not_pending",
            OrderError::FulfillmentState { .. } => "illegal_fulfillment_transition",
            OrderError::InvalidPick(_) => "invalid_pick",
            OrderError::EmptyPackage => "empty_package",
            OrderError::InvalidPackage => "invalid_package",
            OrderError::ScanNotInOrder(_) => "scan_not_in_order",
            OrderError::ScanExceedsPicked(_) => "scan_exceeds_picked",
            OrderError::UnknownPackage(_) => "package_not_found",
            OrderError::PackageAlreadyShipped(_) => "package_already_shipped",
            OrderError::UnknownShipment(_) => "shipment_not_found",
            OrderError::UnknownReturn(_) => "return_not_found",
            OrderError::ReturnState { .. } => "illegal_return_transition",
            OrderError::ReturnQuantity { .. } => "quantity_beyond_returnable",
            OrderError::UnknownReturnItem { .. } => "return_item_not_found",
            OrderError::AlreadyReceived { .. } => "already_received",
            OrderError::InspectionRefused { .. } => "inspection_refused",
            OrderError::ReturnAlreadyResolved(_) => "return_already_resolved",
            OrderError::NothingToResolve(_) => "nothing_to_resolve",
            OrderError::EditOpen(_) => "edit_open",
            OrderError::UnknownEdit(_) => "edit_not_found",
            OrderError::EditClosed(_) => "edit_closed",
            OrderError::EditNotAllowed(_) => "edit_not_allowed",
            OrderError::EditEmptiesOrder => "edit_empties_order",
            OrderError::NothingToEdit => "nothing_to_edit",
            OrderError::PaymentInFlight(_) => "payment_in_flight",
            OrderError::CancellationPending(_) => "cancellation_requested",
            OrderError::NoCancellationRequest(_) => "no_cancellation_request",
        }
    }
}

/// A stream that cannot be folded: a programming or storage fault, never user input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {event} at version {version}: {reason}")]
pub struct EvolveError {
    pub event: &'static str,
    pub version: u64,
    pub reason: &'static str,
}
