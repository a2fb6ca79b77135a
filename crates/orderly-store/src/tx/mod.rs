//! The write side as a contract: what a command may do inside one transaction. Each
//! backend implements the SQL primitives, one capability trait at a time
//! (`capabilities`); the domain-shaped operations built on them (appending events with
//! all their effects, `project`) are written once, here, so SQLite and PostgreSQL cannot
//! drift apart in what a command does.

mod capabilities;
mod project;
mod project_returns;

pub use capabilities::{
    CatalogTx, CreditTx, ExceptionsTx, FulfillmentTx, InventoryTx, OrderEvents, OutboxTx,
    PaymentsTx, ReturnsTx, TimersTx,
};

use crate::error::StoreError;
use crate::rows::{ProductRow, StreamType};
use crate::work::FulfillmentRow;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::case::{Case, CaseEvent, evolve as case_evolve};
use orderly_domain::customer::{CustomerEvent, CustomerFacts, evolve as customer_evolve};
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::kpi::{case_effects, exception_effects, order_effects};
use orderly_domain::order::{Order, OrderEvent, Reservation, evolve};
use orderly_domain::sourcing::StockView;
use orderly_domain::values::Sku;
use project::{changes_fulfillment, project, record_exceptions};

/// Who, when and under which request an event was recorded.
#[derive(Debug, Clone)]
pub struct EventMeta {
    pub actor: Actor,
    pub correlation_id: String,
    pub at: Timestamp,
}

/// The facts read before placing an order (see `WriteTx::new_order_facts`).
#[derive(Debug)]
pub struct NewOrderFacts {
    pub existing: Option<Order>,
    pub products: Vec<ProductRow>,
    pub stock: StockView,
    /// Orders the same email placed since `Velocity::since`.
    pub recent_orders_same_email: u32,
    /// Orders paid with the same card fingerprint since then (0 without a fingerprint).
    pub recent_orders_same_card: u32,
}

/// Who places an order, for the velocity rules: their orders since `since` are counted.
#[derive(Debug, Clone, Copy)]
pub struct Velocity<'a> {
    pub email: &'a str,
    pub fingerprint: Option<&'a str>,
    pub since: Timestamp,
}

/// One event row as appended.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub stream_type: StreamType,
    pub stream_id: &'a str,
    pub version: u64,
    pub kind: &'a str,
    pub data: &'a str,
    pub actor: &'a str,
    pub correlation_id: &'a str,
    pub at: Timestamp,
}

/// A stock movement row as the backends write it.
pub(crate) struct Movement<'a> {
    pub(crate) sku: &'a str,
    pub(crate) location: &'a str,
    pub(crate) reason: MovementReason,
    pub(crate) delta_on_hand: i64,
    pub(crate) delta_reserved: i64,
    /// Change of quarantined units (returns only; every other movement leaves them).
    pub(crate) delta_quarantine: i64,
    pub(crate) after: StockLevel,
    pub(crate) order_id: Option<&'a str>,
    pub(crate) note: Option<&'a str>,
    pub(crate) actor: &'a str,
    /// Milliseconds since the epoch.
    pub(crate) at: i64,
}

/// The (on hand, quarantine) change of moving `quantity` returned units for `reason`
/// (see `InventoryTx::move_returned_unit`); an error for a reason that is not a return's
/// or no units, which is a caller's mistake, never a panic.
pub(crate) fn returned_unit_change(
    reason: MovementReason,
    quantity: u32,
) -> Result<(i64, i64), StoreError> {
    let (on_hand, quarantine) = reason.returned_unit_deltas().ok_or_else(|| {
        StoreError::Database(format!(
            "{} is not a movement of returned units",
            reason.as_str()
        ))
    })?;
    if quantity == 0 {
        return Err(StoreError::Database(format!(
            "a {} movement needs at least one unit",
            reason.as_str()
        )));
    }
    let q = i64::from(quantity);
    Ok((on_hand * q, quarantine * q))
}

/// The error when quarantine holds fewer units than a release or scrap takes: the
/// decision read a level that changed (a lost race, retried with fresh facts).
pub(crate) fn quarantine_short(sku: &str, location: &str, quantity: u32) -> StoreError {
    StoreError::Conflict(format!(
        "quarantine of {sku} at {location} holds fewer than the {quantity} units taken"
    ))
}

/// A stock movement caused by an order: a reservation or its release (reserved only), or
/// reserved units leaving on hand too (shipped, or not found by the picker).
#[derive(Debug, Clone, Copy)]
pub struct ReservedMove<'a> {
    pub reservation: &'a Reservation,
    /// Change of reserved units.
    pub delta: i64,
    /// Change of on-hand units.
    pub delta_on_hand: i64,
    pub reason: MovementReason,
    pub order_id: &'a str,
    pub actor: &'a str,
    pub at: Timestamp,
}

impl ReservedMove<'_> {
    /// The error when the guarded update finds no room: taking stock that is no longer
    /// there is a lost race (retry with fresh facts); giving back more than is reserved
    /// means stored data disagree.
    pub(crate) fn guard_failed(&self) -> StoreError {
        let r = self.reservation;
        if self.delta > 0 {
            StoreError::Conflict(format!(
                "stock of {} at {} changed under the decision",
                r.sku, r.location_id
            ))
        } else {
            StoreError::Corrupt(format!(
                "release of {} at {} exceeds what is reserved",
                r.sku, r.location_id
            ))
        }
    }
}

/// Everything a command may do inside one write transaction: the union of the
/// capability traits (see `capabilities`), with the operations that span them written
/// once, here, for both backends. A command is a closure over `&mut dyn WriteTx`; code
/// that needs less takes one of the capabilities, to which `&mut dyn WriteTx` upcasts.
pub trait WriteTx:
    OrderEvents
    + InventoryTx
    + OutboxTx
    + TimersTx
    + PaymentsTx
    + CatalogTx
    + FulfillmentTx
    + ExceptionsTx
    + CreditTx
    + ReturnsTx
    + crate::delivery::DeliveryTx
    + crate::cases::CasesTx
    + crate::customers::CustomersTx
    + crate::console::ConsoleTx
    + crate::kpi::KpiTx
{
    /// What placing an order needs to know: the order already captured under this
    /// channel's external id (if any), the catalog rows and stock of its SKUs, and the
    /// customer's recent orders.
    fn new_order_facts(
        &mut self,
        channel: &str,
        external_id: Option<&str>,
        skus: &[Sku],
        velocity: Velocity<'_>,
    ) -> Result<NewOrderFacts, StoreError> {
        let existing = match external_id {
            Some(ext) => match self.order_id_by_external(channel, ext)? {
                Some(id) => self.load_order(&id)?,
                None => None,
            },
            None => None,
        };
        Ok(NewOrderFacts {
            existing,
            products: self.products(skus)?,
            stock: self.stock_view(skus)?,
            recent_orders_same_email: self.orders_by_email_since(velocity.email, velocity.since)?,
            recent_orders_same_card: match velocity.fingerprint {
                Some(fp) => self.orders_by_card_since(fp, velocity.since)?,
                None => 0,
            },
        })
    }

    /// Appends `events` to a case's stream after `before` (None for a new case) and
    /// writes its row and new contacts; `due` gives the SLA clock's next due time for
    /// the case as the events left it.
    fn append_case(
        &mut self,
        before: Option<Case>,
        events: &[CaseEvent],
        meta: &EventMeta,
        due: &dyn Fn(&Case) -> Option<Timestamp>,
    ) -> Result<Case, StoreError> {
        let contacts_before = before.as_ref().map_or(0, |c| c.contacts.len());
        let kept = before.clone();
        let mut state = before;
        let actor_json = serde_json::to_string(&meta.actor)?;
        let mut rows: Vec<(u64, &str, String)> = Vec::with_capacity(events.len());
        for event in events {
            let version = state.as_ref().map_or(0, |c| c.version) + 1;
            let next = case_evolve(state, event, meta.at, version)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((version, event.kind(), serde_json::to_string(event)?));
            state = Some(next);
        }
        let case = state.ok_or_else(|| {
            StoreError::Corrupt("append_case called without events for a new case".into())
        })?;
        let new_events = event_rows(StreamType::Case, case.id.as_str(), &rows, &actor_json, meta);
        // Events first: a concurrent append to the same case fails here, on the unique
        // (stream, version) index (a lost race, retried).
        self.insert_events(&new_events)?;
        self.save_case(&crate::cases::CaseRow {
            case: &case,
            order_channel: case.order_channel.as_deref(),
            due_at: due(&case),
        })?;
        self.insert_case_contacts(&case, contacts_before)?;
        let effects = case_effects(kept.as_ref(), &case, events, meta.at, self.kpi_rules());
        crate::kpi::record(self, effects)?;
        Ok(case)
    }

    /// Appends `events` to the order's stream after `before` (None for a new order),
    /// applies their effects (inventory, reservations, backorders, outbox, read model)
    /// and returns the new state.
    fn append(
        &mut self,
        before: Option<Order>,
        events: &[OrderEvent],
        meta: &EventMeta,
    ) -> Result<Order, StoreError> {
        let created = before.is_none();
        // The state before, for what the append adds to the figures.
        let kept = before.clone();
        let mut kpi_effects = Vec::new();
        let mut state = before;
        let actor_json = serde_json::to_string(&meta.actor)?;
        let actor_label = meta.actor.label();
        let mut rows: Vec<(u64, &str, String)> = Vec::with_capacity(events.len());
        for event in events {
            let version = state.as_ref().map_or(0, |o| o.version) + 1;
            let next = evolve(state, event, meta.at, version)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((version, event.kind(), serde_json::to_string(event)?));
            kpi_effects.extend(exception_effects(event, &next, meta.at, self.kpi_rules()));
            state = Some(next);
        }
        let order = state.ok_or_else(|| {
            StoreError::Corrupt("append called without events for a new order".into())
        })?;
        let new_events = event_rows(
            StreamType::Order,
            order.id.as_str(),
            &rows,
            &actor_json,
            meta,
        );
        // Events first: a concurrent append to the same stream fails here, on the unique
        // (stream, version) index, before any stock moves (a lost race, retried).
        self.insert_events(&new_events)?;
        for event in events {
            project(self, event, &order, (&actor_label, &meta.actor), meta.at)?;
            record_exceptions(self, event, &order, &actor_label, meta.at)?;
        }
        // One message per append, naming its events in order: a consumer (webhooks,
        // notifications) gets a command's events together, and the hot path writes one
        // outbox row instead of one per event.
        let listed: Vec<_> = rows
            .iter()
            .map(|(version, kind, _)| serde_json::json!({"type": kind, "version": version}))
            .collect();
        let payload = serde_json::json!({
            "order_id": order.id, "number": order.number, "events": listed,
        });
        self.enqueue_outbox(
            &[(ORDER_TOPIC, order.id.as_str(), payload.to_string())],
            meta.at,
        )?;
        if events.iter().any(changes_fulfillment) {
            // Waves choose among released fulfillment orders: pending ones need no row yet.
            let listed = order
                .fulfillment_orders
                .iter()
                .filter(|f| f.state != orderly_domain::fulfillment::FulfillmentState::Pending);
            for f in listed {
                self.save_fulfillment_order(&FulfillmentRow {
                    id: f.id.as_str(),
                    order_id: order.id.as_str(),
                    location_id: f.location_id.as_str(),
                    state: f.state.as_str(),
                    line_count: f.lines.len() as i64,
                    released_at: f.released_at,
                    service: order.delivery.as_ref().and_then(|d| d.service.as_deref()),
                })?;
            }
        }
        self.save_read_model(&order, &serde_json::to_string(&order)?, created)?;
        if created {
            self.note_customer(&order)?;
        }
        // Last: on PostgreSQL the counter rows are the most contended rows an append
        // writes (every order of a day adds to the same ones), and locking them after
        // every other row keeps two commands from waiting on each other in a cycle.
        kpi_effects.extend(order_effects(
            kept.as_ref(),
            &order,
            events,
            meta.at,
            self.kpi_rules(),
        ));
        crate::kpi::record(self, kpi_effects)?;
        Ok(order)
    }

    /// Appends `events` to customer `id`'s stream after `before` and stores the new
    /// facts. A merge is two appends in one transaction, one per customer.
    fn append_customer(
        &mut self,
        id: &str,
        before: CustomerFacts,
        events: &[CustomerEvent],
        meta: &EventMeta,
    ) -> Result<CustomerFacts, StoreError> {
        let actor_json = serde_json::to_string(&meta.actor)?;
        let by = meta.actor.label();
        let mut facts = before;
        let mut rows: Vec<(u64, &str, String)> = Vec::with_capacity(events.len());
        for event in events {
            facts = customer_evolve(facts, event, &by, meta.at);
            rows.push((facts.version, event.kind(), serde_json::to_string(event)?));
        }
        let new_events = event_rows(StreamType::Customer, id, &rows, &actor_json, meta);
        // Events first: a concurrent decision about the same customer fails here, on the
        // unique (stream, version) index (a lost race, retried).
        self.insert_events(&new_events)?;
        self.save_customer_facts(id, &facts)?;
        Ok(facts)
    }
}

/// The event rows of one append to a stream: (version, kind, data) each.
fn event_rows<'a>(
    stream_type: StreamType,
    stream_id: &'a str,
    rows: &'a [(u64, &str, String)],
    actor_json: &'a str,
    meta: &'a EventMeta,
) -> Vec<NewEvent<'a>> {
    rows.iter()
        .map(|(version, kind, data)| NewEvent {
            stream_type,
            stream_id,
            version: *version,
            kind,
            data,
            actor: actor_json,
            correlation_id: &meta.correlation_id,
            at: meta.at,
        })
        .collect()
}

/// The outbox topic of an order's events (one message per append).
pub const ORDER_TOPIC: &str = "order.events";
