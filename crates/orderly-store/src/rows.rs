//! Plain rows as stored, independent of API shapes and of the domain's invariants.

use crate::error::StoreError;
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::order::OrderEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub weight_grams: i64,
    pub category: Option<String>,
    pub returnable: bool,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
    /// The barcode number packers scan (GTIN-8, -12, -13 or -14), if it has one.
    pub gtin: Option<String>,
}

/// A product to create (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub weight_grams: i64,
    pub category: Option<String>,
    pub returnable: bool,
    pub active: bool,
    pub gtin: Option<String>,
}

/// Fields to change on a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub weight_grams: Option<i64>,
    pub category: Option<Option<String>>,
    pub returnable: Option<bool>,
    pub active: Option<bool>,
    pub gtin: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRow {
    pub sku: String,
    pub location_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// Returned units held apart: not part of on hand, never available.
    pub quarantine: i64,
    pub bin: Option<String>,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRow {
    pub id: i64,
    pub sku: String,
    pub location_id: String,
    pub reason: String,
    pub delta_on_hand: i64,
    pub delta_reserved: i64,
    /// Change of quarantined units (0 for every movement but a return's).
    pub delta_quarantine: i64,
    pub on_hand_after: i64,
    pub reserved_after: i64,
    pub order_id: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    pub at: Timestamp,
}

/// What kind of stream events belong to. A stream id is unique across types (each type
/// gives its ids a prefix of its own), so a stream is found by its id alone; the type
/// says how its events read: an order's as `OrderEvent`, a case's as `CaseEvent`, a
/// customer's as `CustomerEvent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamType {
    Order,
    Case,
    Customer,
}

impl StreamType {
    /// The stored name (the `stream_type` column).
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Order => "order",
            StreamType::Case => "case",
            StreamType::Customer => "customer",
        }
    }

    /// The type a stored name stands for; an unknown one is corrupt data.
    pub fn parse(name: &str) -> Result<StreamType, StoreError> {
        match name {
            "order" => Ok(StreamType::Order),
            "case" => Ok(StreamType::Case),
            "customer" => Ok(StreamType::Customer),
            other => Err(StoreError::Corrupt(format!(
                "unknown stream type {other:?}"
            ))),
        }
    }
}

/// One event of an order's stream, decoded.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub stream_type: StreamType,
    pub version: u64,
    pub event: OrderEvent,
    pub actor: Actor,
    pub correlation_id: String,
    pub at: Timestamp,
}

/// One event of any stream, as stored: its type's name and its data, for a history
/// that shows a stream's events without knowing each type's enum (a case's, a
/// customer's).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub seq: i64,
    pub stream_type: StreamType,
    pub version: u64,
    /// The event's type, e.g. `customer_flag_raised`.
    pub kind: String,
    pub data: serde_json::Value,
    pub actor: Actor,
    pub correlation_id: String,
    pub at: Timestamp,
}

impl HistoryRow {
    /// The row from its stored columns.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_columns(
        seq: i64,
        stream_type: &str,
        version: i64,
        kind: String,
        data: &str,
        actor: &str,
        correlation_id: String,
        at_ms: i64,
    ) -> Result<HistoryRow, StoreError> {
        Ok(HistoryRow {
            seq,
            stream_type: StreamType::parse(stream_type)?,
            version: u64::try_from(version)
                .map_err(|_| StoreError::Corrupt("negative version".into()))?,
            kind,
            data: serde_json::from_str(data)?,
            actor: serde_json::from_str(actor)?,
            correlation_id,
            at: crate::from_ms(at_ms)?,
        })
    }
}

/// An API key as stored: its secret only as a hash, its scope and its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The channels whose objects the key may see and act on; `None`: every channel.
    pub channels: Option<Vec<String>>,
    pub created_at: Timestamp,
    /// When the key stops working by itself (a rotated key's grace period ends here).
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRow {
    /// Whether the key still opens the API at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A key to store (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key_hash: String,
    pub channels: Option<Vec<String>>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// How an API key's `channels` column holds the list: JSON text, NULL for every channel.
pub(crate) fn channels_to_column(channels: Option<&[String]>) -> Option<String> {
    channels.map(|c| serde_json::Value::from(c.to_vec()).to_string())
}

pub(crate) fn channels_from_column(raw: Option<String>) -> Result<Option<Vec<String>>, StoreError> {
    raw.map(|text| {
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("api key channels {text:?}: {e}")))
    })
    .transpose()
}

/// An outbox message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub stream_id: String,
    pub payload: String,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// The stored first response to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub status_code: u16,
    pub body: StoredBody,
}

/// What the first response carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBody {
    Bytes(Vec<u8>),
    /// The order as it stood at `version` of its stream.
    OrderAt {
        order_id: String,
        version: u64,
    },
}

impl StoredBody {
    /// Rebuilds the body from its columns (bytes, order id, order version).
    pub(crate) fn from_columns(
        bytes: Vec<u8>,
        order_id: Option<String>,
        version: Option<i64>,
    ) -> StoredBody {
        match (order_id, version) {
            (Some(order_id), Some(v)) => StoredBody::OrderAt {
                order_id,
                version: v.unsigned_abs(),
            },
            _ => StoredBody::Bytes(bytes),
        }
    }

    /// The body as columns (bytes, order id, order version).
    pub(crate) fn columns(&self) -> (&[u8], Option<&str>, Option<i64>) {
        match self {
            StoredBody::Bytes(b) => (b, None, None),
            StoredBody::OrderAt { order_id, version } => {
                (&[], Some(order_id), Some(*version as i64))
            }
        }
    }
}

impl ProductPatch {
    /// `current` with this patch applied, if `expected_version` (when given) is current.
    pub(crate) fn apply(
        &self,
        current: ProductRow,
        expected_version: Option<i64>,
    ) -> Result<ProductRow, StoreError> {
        if let Some(v) = expected_version
            && v != current.version
        {
            return Err(StoreError::Conflict(format!(
                "product {} is at version {}, not {v}",
                current.sku, current.version
            )));
        }
        Ok(ProductRow {
            name: self.name.clone().unwrap_or(current.name),
            price_minor: self.price_minor.unwrap_or(current.price_minor),
            currency: self.currency.clone().unwrap_or(current.currency),
            weight_grams: self.weight_grams.unwrap_or(current.weight_grams),
            category: self.category.clone().unwrap_or(current.category),
            returnable: self.returnable.unwrap_or(current.returnable),
            active: self.active.unwrap_or(current.active),
            gtin: self.gtin.clone().unwrap_or(current.gtin),
            ..current
        })
    }
}

/// An exception entry: something in a queue for a person to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionRow {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub order_id: String,
    /// The fulfillment order or shipment it is about.
    pub subject_id: String,
    pub detail: String,
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

/// How many entries of one kind in one queue are open, and since when the oldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionCount {
    pub queue: String,
    pub kind: String,
    pub open: u64,
    pub oldest_opened_at: Timestamp,
    /// Open entries older than the escalation age.
    pub escalated: u64,
}

impl ExceptionRow {
    /// The entry as resolved by `by` at `at`.
    pub(crate) fn resolved(self, by: &str, resolution: &str, at: Timestamp) -> ExceptionRow {
        ExceptionRow {
            resolved_at: Some(at),
            resolved_by: Some(by.to_owned()),
            resolution: Some(resolution.to_owned()),
            ..self
        }
    }
}

/// One change of a customer's store credit, with the balance it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCreditRow {
    pub id: i64,
    pub currency: String,
    pub delta_minor: i64,
    pub balance_after: i64,
    pub reason: String,
    pub order_id: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    pub at: Timestamp,
}
