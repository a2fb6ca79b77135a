//! The write side as a contract: what a command may do inside one transaction. Each
//! backend implements the SQL primitives; the domain-shaped operations built on them
//! (appending events with all their effects) are written once, here, so SQLite and
//! PostgreSQL cannot drift apart in what a command does.

use crate::error::StoreError;
use crate::rows::{
    IdempotencyRecord, InventoryRow, NewProduct, OutboxRow, ProductPatch, ProductRow,
};
use crate::work::{
    CreditChange, FulfillmentRow, NewException, NewTimer, OP_REDRIVE_AFTER_MS, ShipmentRow, WorkTx,
    timer_kind,
};
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::exceptions::{ExceptionChange, exception_changes};
use orderly_domain::order::{Order, OrderEvent, Reservation, evolve, is_internal, replay};
use orderly_domain::payment::{OpKind, PaymentMethod};
use orderly_domain::sourcing::{Shortfall, StockView};
use orderly_domain::values::{Id, Sku};

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
    pub(crate) after: StockLevel,
    pub(crate) order_id: Option<&'a str>,
    pub(crate) note: Option<&'a str>,
    pub(crate) actor: &'a str,
    /// Milliseconds since the epoch.
    pub(crate) at: i64,
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

/// Operations inside one write transaction. Errors: `Conflict` means a concurrent change
/// won (the command may be retried with fresh facts); `Unavailable` means the database
/// could not be reached.
pub trait WriteTx: WorkTx {
    /// The stored answer under this key, if it has not expired. A backend may instead
    /// take the key for new and let `save_idempotency` fail at commit (PostgreSQL does on
    /// a command's first run, then runs it again with the lookup), so a command must not
    /// treat `None` as proof that the key was never used.
    fn find_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    fn save_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now: Timestamp,
        keep_ms: i64,
    ) -> Result<(), StoreError>;
    /// Deletes idempotency records past their expiry; returns how many.
    fn purge_idempotency(&mut self, now: Timestamp) -> Result<usize, StoreError>;

    fn order_id_by_external(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// An order's snapshot (never a replay) by id or human number.
    fn load_order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError>;
    /// The events of a stream up to and including `version`, oldest first.
    fn stream(
        &mut self,
        order_id: &str,
        up_to_version: u64,
    ) -> Result<Vec<(OrderEvent, Timestamp)>, StoreError>;
    /// The next human order number of a channel, e.g. `WEB-1001`.
    fn next_order_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError>;

    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError>;
    /// The SKU of the product with this GTIN (barcode number), if any.
    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError>;
    /// Creates a product; `Conflict` when the SKU exists.
    fn create_product(&mut self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError>;
    /// Applies `patch` when the product's version is `expected_version` (if given).
    /// None when the SKU is unknown; `Conflict` on a stale version.
    fn update_product(
        &mut self,
        sku: &str,
        patch: &ProductPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Option<ProductRow>, StoreError>;
    /// Available units of each SKU at every location that stocks it.
    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError>;
    fn stock_level(&mut self, sku: &str, location: &str) -> Result<StockLevel, StoreError>;
    /// Changes on hand by `delta` (already decided against the current level) and records
    /// the movement. Creates the inventory record on first receipt.
    #[allow(clippy::too_many_arguments)]
    fn adjust_on_hand(
        &mut self,
        sku: &str,
        location: &str,
        delta: i64,
        reason: MovementReason,
        bin: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InventoryRow, StoreError>;
    fn insert_api_key(
        &mut self,
        id: &str,
        name: &str,
        role: Role,
        key_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Claims up to `limit` undelivered outbox messages that are due and not leased by
    /// anyone (or whose lease ran out), leasing them to `worker` until `lease_until`.
    /// Concurrent claimers never get the same message: PostgreSQL skips rows another
    /// transaction has locked (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
    fn claim_outbox(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;
    /// Marks messages delivered, but only those `worker` still holds the lease on; returns
    /// how many.
    fn complete_outbox(
        &mut self,
        worker: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError>;

    // Primitives of `append`.

    /// Inserts events; `Conflict` when the stream already has one of those versions.
    fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<(), StoreError>;
    /// Changes reserved stock by each move's `delta`, guarded so reserved stays within
    /// 0..=on_hand, and records a movement per move. `Conflict` when a reservation no
    /// longer fits.
    fn move_reserved(&mut self, moves: &[ReservedMove<'_>]) -> Result<(), StoreError>;
    fn insert_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks every open reservation row of an order released.
    fn close_reservations(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Makes the order's open reservation rows exactly `rs` (the snapshot's), closing the
    /// rest: after a pick or a shipment has taken part of them.
    fn replace_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.close_reservations(order_id, at)?;
        self.insert_reservations(order_id, rs, at)
    }
    fn insert_backorder(
        &mut self,
        order_id: &str,
        b: &Shortfall,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks every open backorder row of an order cancelled.
    fn cancel_backorders(&mut self, order_id: &str) -> Result<(), StoreError>;
    /// Marks every open reservation and backorder of an order closed.
    fn close_order_holds(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.close_reservations(order_id, at)?;
        self.cancel_backorders(order_id)
    }
    /// Enqueues messages (topic, stream id, payload) for the outbox workers.
    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Writes the order's read-model row and snapshot.
    fn save_read_model(
        &mut self,
        order: &Order,
        snapshot: &str,
        created: bool,
    ) -> Result<(), StoreError>;

    /// Catalog facts for the given SKUs (missing SKUs are simply absent).
    fn products(&mut self, skus: &[Sku]) -> Result<Vec<ProductRow>, StoreError> {
        let mut out = Vec::with_capacity(skus.len());
        for sku in skus {
            if let Some(p) = self.product(sku.as_str())? {
                out.push(p);
            }
        }
        Ok(out)
    }

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

    /// The order as it stood at `version` of its stream, folded from its events.
    fn order_at(&mut self, order_id: &str, version: u64) -> Result<Option<Order>, StoreError> {
        let events = self.stream(order_id, version)?;
        replay(events.iter().map(|(e, at)| (e, *at)))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
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
        let mut state = before;
        let actor_json = serde_json::to_string(&meta.actor)?;
        let actor_label = meta.actor.label();
        let mut rows: Vec<(u64, &str, String)> = Vec::with_capacity(events.len());
        for event in events {
            let version = state.as_ref().map_or(0, |o| o.version) + 1;
            let next = evolve(state, event, meta.at, version)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((version, event.kind(), serde_json::to_string(event)?));
            state = Some(next);
        }
        let order = state.ok_or_else(|| {
            StoreError::Corrupt("append called without events for a new order".into())
        })?;
        let new_events: Vec<NewEvent<'_>> = rows
            .iter()
            .map(|(version, kind, data)| NewEvent {
                stream_id: order.id.as_str(),
                version: *version,
                kind,
                data,
                actor: &actor_json,
                correlation_id: &meta.correlation_id,
                at: meta.at,
            })
            .collect();
        // Events first: a concurrent append to the same stream fails here, on the unique
        // (stream, version) index, before any stock moves (a lost race, retried).
        self.insert_events(&new_events)?;
        for event in events {
            project(self, event, &order, &actor_label, meta.at)?;
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
        Ok(order)
    }
}

/// The outbox topic of an order's events (one message per append).
pub const ORDER_TOPIC: &str = "order.events";

/// The storage effects of one event.
fn project<T: WriteTx + ?Sized>(
    tx: &mut T,
    event: &OrderEvent,
    order: &Order,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let order_id = order.id.as_str();
    match event {
        OrderEvent::OrderPlaced(_) => {}
        OrderEvent::OrderSourced(s) => {
            let moves = reserved_moves(
                &s.reservations,
                1,
                MovementReason::Reservation,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.insert_reservations(order_id, &s.reservations, at)?;
            for b in &s.backorders {
                tx.insert_backorder(order_id, b, at)?;
            }
        }
        OrderEvent::OrderCancelled(c) => {
            let moves = reserved_moves(
                &c.released,
                -1,
                MovementReason::Release,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.close_order_holds(order_id, at)?;
        }
        OrderEvent::PaymentDeadlineSet { due_at } => tx.schedule_timers(&[NewTimer {
            order_id,
            kind: timer_kind::PAYMENT_DEADLINE,
            ref_id: order_id,
            due_at: *due_at,
        }])?,
        OrderEvent::PaymentAdded(p) => {
            if let Some(fp) = &p.fingerprint {
                tx.record_fingerprint(fp, order_id, at)?;
            }
        }
        OrderEvent::PaymentOpRequested(r) if !is_internal(order, &r.id) => {
            // Answered in the request as a rule; the timer re-drives it after a crash or
            // a timeout (the provider sees the same idempotency key again).
            let due_at = Timestamp::from_millisecond(at.as_millisecond() + OP_REDRIVE_AFTER_MS)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.schedule_timers(&[NewTimer {
                order_id,
                kind: timer_kind::PAYMENT_OP,
                ref_id: r.id.as_str(),
                due_at,
            }])?;
        }
        OrderEvent::PaymentOpSucceeded(s) => {
            let op = order.op(&s.op_id).ok_or_else(|| {
                StoreError::Corrupt(format!("no operation {} after folding", s.op_id))
            })?;
            if let Some(expires) = s.authorization_expires_at {
                tx.schedule_timers(&[NewTimer {
                    order_id,
                    kind: timer_kind::AUTHORIZATION_EXPIRY,
                    ref_id: op.payment_id.as_str(),
                    due_at: expires,
                }])?;
            }
            forget_token_once_answered(tx, order, op)?;
            credit_effect(tx, order, op, actor, at)?;
        }
        OrderEvent::PaymentOpFailed(f) => {
            let op = order.op(&f.op_id).ok_or_else(|| {
                StoreError::Corrupt(format!("no operation {} after folding", f.op_id))
            })?;
            forget_token_once_answered(tx, order, op)?;
        }
        OrderEvent::PickConfirmed(p) => {
            let location = fulfillment_location(order, &p.fulfillment_id)?;
            let shorts: Vec<Reservation> = p
                .lines
                .iter()
                .filter(|l| l.short > 0)
                .map(|l| taken(order, l.line_no, location, l.short))
                .collect::<Result<_, _>>()?;
            if !shorts.is_empty() {
                let moves = consumed_moves(&shorts, MovementReason::ShortPick, order_id, actor, at);
                tx.move_reserved(&moves)?;
                tx.replace_reservations(order_id, &order.reservations, at)?;
            }
        }
        OrderEvent::PackageShipped(s) => {
            let location = fulfillment_location(order, &s.fulfillment_id)?;
            let package = order
                .fulfillment_orders
                .iter()
                .flat_map(|f| &f.packages)
                .find(|p| p.id == s.package_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no package {}", s.package_id)))?;
            let items: Vec<Reservation> = package
                .items
                .iter()
                .map(|i| taken(order, i.line_no, location, i.quantity))
                .collect::<Result<_, _>>()?;
            let moves = consumed_moves(&items, MovementReason::Shipment, order_id, actor, at);
            tx.move_reserved(&moves)?;
            tx.replace_reservations(order_id, &order.reservations, at)?;
            save_shipment(tx, order, &s.shipment_id)?;
        }
        OrderEvent::TrackingRecorded(t) => save_shipment(tx, order, &t.shipment_id)?,
        OrderEvent::FulfillmentRejected(r) => {
            let location = fulfillment_location(order, &r.fulfillment_id)?;
            let fo = order
                .fulfillment_orders
                .iter()
                .find(|f| f.id == r.fulfillment_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no {}", r.fulfillment_id)))?;
            let given_back: Vec<Reservation> = fo
                .lines
                .iter()
                .filter(|l| l.quantity > 0)
                .map(|l| taken(order, l.line_no, location, l.quantity))
                .collect::<Result<_, _>>()?;
            let moves = reserved_moves(
                &given_back,
                -1,
                MovementReason::Release,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.replace_reservations(order_id, &order.reservations, at)?;
        }
        OrderEvent::BackorderFilled(b) => {
            let taken = std::slice::from_ref(&b.reservation);
            let moves = reserved_moves(taken, 1, MovementReason::Reservation, order_id, actor, at);
            tx.move_reserved(&moves)?;
            tx.insert_reservations(order_id, taken, at)?;
            // What is still awaited stays in line at the order's place (its date).
            tx.close_backorders(order_id)?;
            for line in order.lines.iter().filter(|l| l.buckets.backordered > 0) {
                let waiting = Shortfall {
                    line_no: line.line_no,
                    sku: line.sku.clone(),
                    quantity: line.buckets.backordered,
                };
                tx.insert_backorder(order_id, &waiting, order.created_at)?;
            }
        }
        OrderEvent::ShipmentDelayed(d) => save_shipment(tx, order, &d.shipment_id)?,
        // The deadline timer still fires, and finds nothing to do.
        OrderEvent::OrderConfirmed { .. }
        | OrderEvent::PaymentDeadlineCleared { .. }
        | OrderEvent::PaymentOpRequested(_)
        | OrderEvent::AuthorizationExpired { .. }
        | OrderEvent::RefundRequested(_)
        | OrderEvent::HoldPlaced(_)
        | OrderEvent::HoldReleased(_)
        | OrderEvent::FulfillmentReleased(_)
        | OrderEvent::PackageCreated(_) => {}
    }
    Ok(())
}

/// Opens and resolves the exception entries an event calls for.
fn record_exceptions<T: WriteTx + ?Sized>(
    tx: &mut T,
    event: &OrderEvent,
    order: &Order,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    for change in exception_changes(event, order) {
        match change {
            ExceptionChange::Open(e) => tx.open_exception(&NewException {
                queue: e.queue,
                kind: e.kind,
                order_id: order.id.as_str(),
                subject_id: e.subject_id.as_str(),
                detail: &e.detail,
                at,
            })?,
            ExceptionChange::Resolve {
                subject_id,
                kinds,
                resolution,
            } => tx.resolve_exceptions(subject_id.as_str(), kinds, actor, resolution, at)?,
        }
    }
    Ok(())
}

/// A provider's answer to an authorization (approved or declined) ends the token's use:
/// capture, void and refund name the provider's authorization reference instead.
fn forget_token_once_answered<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    op: &orderly_domain::payment::PaymentOp,
) -> Result<(), StoreError> {
    if op.kind == OpKind::Authorize && !is_internal(order, &op.id) {
        tx.forget_payment_token(op.payment_id.as_str())?;
    }
    Ok(())
}

/// Store credit moves with the operations settled against it: an authorization on a
/// store-credit payment redeems the balance, its void gives the remainder back, and any
/// refund paid as store credit issues it.
fn credit_effect<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    op: &orderly_domain::payment::PaymentOp,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let on_credit = order
        .payment(&op.payment_id)
        .is_some_and(|p| p.method == PaymentMethod::StoreCredit);
    let (delta, reason) = match op.kind {
        OpKind::Authorize if on_credit => (-op.amount_minor, "redeem"),
        OpKind::Void if on_credit => (op.amount_minor, "void"),
        OpKind::Refund if op.to_store_credit => (op.amount_minor, "refund"),
        _ => return Ok(()),
    };
    tx.change_store_credit(&CreditChange {
        email: order.customer.email.as_str(),
        currency: order.currency.as_str(),
        delta_minor: delta,
        reason,
        order_id: Some(order.id.as_str()),
        op_id: Some(op.id.as_str()),
        note: None,
        actor,
        at,
    })?;
    Ok(())
}

/// Events after which the order's fulfillment order rows are written again.
fn changes_fulfillment(event: &OrderEvent) -> bool {
    matches!(
        event,
        OrderEvent::OrderSourced(_)
            | OrderEvent::OrderCancelled(_)
            | OrderEvent::BackorderFilled(_)
            | OrderEvent::FulfillmentReleased(_)
            | OrderEvent::PickConfirmed(_)
            | OrderEvent::PackageCreated(_)
            | OrderEvent::PackageShipped(_)
            | OrderEvent::TrackingRecorded(_)
            | OrderEvent::FulfillmentRejected(_)
    )
}

/// Writes a shipment's watch row from the order's state.
fn save_shipment<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    id: &Id,
) -> Result<(), StoreError> {
    let s = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| &f.shipments)
        .find(|s| &s.id == id)
        .ok_or_else(|| StoreError::Corrupt(format!("no shipment {id}")))?;
    tx.save_shipment(&ShipmentRow {
        id: s.id.as_str(),
        order_id: order.id.as_str(),
        carrier: &s.carrier,
        tracking_number: &s.tracking_number,
        status: s.status().as_str(),
        delayed: !s.watched(),
        last_scan_at: s.last_scan_at(),
        promised_by: s.promised_by,
    })
}

fn fulfillment_location<'o>(order: &'o Order, id: &Id) -> Result<&'o Id, StoreError> {
    order
        .fulfillment_orders
        .iter()
        .find(|f| &f.id == id)
        .map(|f| &f.location_id)
        .ok_or_else(|| StoreError::Corrupt(format!("no fulfillment order {id}")))
}

/// `quantity` units of a line taken out of stock at `location`.
fn taken(
    order: &Order,
    line_no: u32,
    location: &Id,
    quantity: u32,
) -> Result<Reservation, StoreError> {
    let line = order
        .lines
        .iter()
        .find(|l| l.line_no == line_no)
        .ok_or_else(|| StoreError::Corrupt(format!("no line {line_no}")))?;
    Ok(Reservation {
        line_no,
        sku: line.sku.clone(),
        location_id: location.clone(),
        quantity,
    })
}

/// Reserved units leaving stock altogether (shipped, or not found).
fn consumed_moves<'a>(
    rs: &'a [Reservation],
    reason: MovementReason,
    order_id: &'a str,
    actor: &'a str,
    at: Timestamp,
) -> Vec<ReservedMove<'a>> {
    rs.iter()
        .map(|r| ReservedMove {
            reservation: r,
            delta: -i64::from(r.quantity),
            delta_on_hand: -i64::from(r.quantity),
            reason,
            order_id,
            actor,
            at,
        })
        .collect()
}

/// The stock moves of reservations taken (`sign` 1) or given back (`sign` -1).
fn reserved_moves<'a>(
    rs: &'a [Reservation],
    sign: i64,
    reason: MovementReason,
    order_id: &'a str,
    actor: &'a str,
    at: Timestamp,
) -> Vec<ReservedMove<'a>> {
    rs.iter()
        .map(|r| ReservedMove {
            reservation: r,
            delta: sign * i64::from(r.quantity),
            delta_on_hand: 0,
            reason,
            order_id,
            actor,
            at,
        })
        .collect()
}
