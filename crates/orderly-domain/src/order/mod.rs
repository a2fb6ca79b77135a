//! The order aggregate: one event stream per order. `decide` turns a command and the facts
//! it needs into events; `evolve` folds events into the state that is snapshotted. The
//! customer-facing status is derived from that state in `status`, never stored as truth.

mod advice;
mod cancel_request;
mod command;
mod decide;
mod edit;
mod edit_changes;
mod edit_decide;
mod edit_evolve;
mod edit_money;
mod edit_plan;
mod edit_sourcing;
mod edit_summary;
mod error;
mod event;
mod evolve;
pub mod exceptions;
mod explain;
mod fulfillment;
mod money;
mod notes;
mod outward;
mod payments;
mod prices;
mod reactions;
mod refunds;
mod rma;
mod rma_decide;
mod rma_evolve;
mod rma_exceptions;
mod rma_money;
mod rma_summary;
mod shipments;
mod state;
mod status;
mod summary;
mod validate;
pub mod watch;

pub use advice::{Advice, Topic, advice_for};
pub use cancel_request::{
    CancelLine, CancelRejection, CancelRequest, CancellationAnswered, CancellationRequested,
    RequestCancellation,
};
pub use command::{
    CancelOrder, CancelReason, NewLine, NewPayment, OrderCommand, PlaceContext, PlaceOrder,
    RequestRefund, SourcingContext,
};
pub use decide::{assign_number, decide, source_waiting};
pub use edit::{
    EditAbandoned, EditBegun, EditChange, EditRecord, EditStaged, EditTotals, EditWindow, LineEdit,
    OpenEdit, OrderEdited, Resourced, Settlement, UnitsMoved,
};
pub use edit_decide::{BeginEdit, CancelUnits, CommitEdit, EditCommand, decide_edit, preview_edit};
pub use edit_plan::{EditFacts, address_after};
pub use error::{EvolveError, FieldIssue, OrderError};
pub use event::{
    HoldChange, OrderCancelled, OrderEvent, OrderPlaced, OrderSourced, PaymentAdded,
    PaymentOpFailed, PaymentOpRequested, PaymentOpSucceeded, PlacedLine, RefundRequested,
    ShipmentDelayed, TrackingRecorded,
};
pub use evolve::{evolve, replay};
pub use explain::{LinePlacement, LineWait};
pub use fulfillment::{FulfillmentLine, FulfillmentOrder, Package, pack_items};
pub use notes::{
    MAX_NOTES, MAX_TAGS, NOTE_MAX_CHARS, Note, NoteAdded, TAG_MAX_CHARS, TagsChanged, normalize_tag,
};
pub use outward::{EXCHANGE_PREFIX, OUTWARD_TYPES, is_exchange, outward_types};
pub use payments::is_internal;
pub use prices::{CatalogPrice, PriceRules, PriceTrust};
pub use reactions::{
    Reaction, ReactionPolicy, reactions, store_credit_redemption, store_credit_settled,
};
pub use refunds::LineMoney;
pub use rma::{
    ExchangeOrder, ItemDecision, ItemInspection, PolicyException, Return, ReturnClosed,
    ReturnDecision, ReturnExchangePlaced, ReturnInspected, ReturnItem, ReturnItemsDecided,
    ReturnItemsSentBack, ReturnLabel, ReturnLabelIssued, ReturnParcelStatus, ReturnReceived,
    ReturnRequested, ReturnResolution, ReturnResolved, ReturnReviewed, ReturnSource, ReturnTracked,
    SendBack, UnexpectedItem,
};
pub use rma_decide::{
    ReceiveReturn, RequestReturn, ResolveReturn, ReturnScan, ReviewReturn, exceptions_of,
    exchange_due, label_due,
};
pub use rma_money::{complete_due, refund_due};
pub use shipments::{Scan, ShipPackage, Shipment};
pub use state::{
    Address, Buckets, Customer, Delivery, Hold, HoldReason, Order, OrderLine, OrderState,
    Reservation,
};
pub use status::{CustomerStatus, FulfillmentSummary, RefundState, ReturnSummary};
pub use summary::money;
pub use validate::{Limits, MAX_AMOUNT_MINOR, validate_place};

#[cfg(test)]
mod advice_tests;
#[cfg(test)]
mod cancel_request_tests;
#[cfg(test)]
mod case_signal_tests;
#[cfg(test)]
mod customer_profile_tests;
#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod notes_tests;
#[cfg(test)]
mod payment_tests;
#[cfg(test)]
mod reaction_tests;
#[cfg(test)]
mod rma_end_tests;
#[cfg(test)]
mod rma_money_tests;
#[cfg(test)]
mod rma_rejected_tests;
#[cfg(test)]
mod rma_story;
#[cfg(test)]
mod rma_tests;
#[cfg(test)]
mod shipment_tests;
#[cfg(test)]
mod summary_tests;
#[cfg(test)]
mod test_story;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_tests;
