//! Decisions about edits: begin one, stage changes (each staging is planned against the
//! current stock, so a change that cannot be made is refused when it is added), abandon
//! it, or commit it; a one-shot edit and a cancellation of some units commit at once.
//! The commit plans again against the facts of its own transaction, so an edit racing a
//! release or a pick either still fits or is refused whole.

use super::command::{CancelOrder, CancelReason, NewPayment, OrderCommand};
use super::edit::{EditBegun, EditChange, EditStaged, OrderEdited};
use super::edit_money::{SettleInput, settle};
use super::edit_plan::{EditFacts, plan};
use super::error::OrderError;
use super::event::OrderEvent;
use super::state::Order;
use crate::payment::RefundReason;
use crate::values::Id;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginEdit {
    pub edit_id: Id,
    pub author: String,
    pub note: Option<String>,
    /// Changes staged at once (planned first, like any staging).
    pub changes: Vec<EditChange>,
}

/// Commits the open edit `edit_id`, or (with `changes`) a one-shot edit of that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEdit {
    pub edit_id: Id,
    pub author: String,
    /// A one-shot edit's changes; empty to commit the open edit's.
    pub changes: Vec<EditChange>,
    pub note: Option<String>,
    pub note_to_customer: Option<String>,
    /// Pays an increase; without it the increase stays owed.
    pub payment: Option<NewPayment>,
    pub refund_id: Id,
    pub balance_blocks_release: bool,
}

/// Cancels some units of some lines, each `(line_no, quantity)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelUnits {
    pub edit_id: Id,
    pub author: String,
    pub lines: Vec<(u32, u32)>,
    pub reason: CancelReason,
    pub note: Option<String>,
    pub refund_id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditCommand {
    Begin(BeginEdit),
    Stage {
        edit_id: Id,
        changes: Vec<EditChange>,
    },
    Abandon {
        edit_id: Id,
        reason: String,
    },
    Commit(Box<CommitEdit>),
    /// Cancel the order or some units: at once, or as a request to the warehouses.
    RequestCancellation(Box<super::cancel_request::RequestCancellation>),
    /// A warehouse's answer to a cancellation request (`rejected` says why not).
    AnswerCancellation {
        fulfillment_id: Id,
        rejected: Option<String>,
    },
}

/// Decides an edit command; `facts` are read in the command's own transaction.
pub fn decide_edit(
    order: &Order,
    command: EditCommand,
    facts: &EditFacts,
) -> Result<Vec<OrderEvent>, OrderError> {
    match command {
        EditCommand::Begin(b) => {
            super::edit_plan::check_editable(order)?;
            if let Some(open) = &order.open_edit {
                return Err(OrderError::EditOpen(open.id.to_string()));
            }
            let mut events = vec![OrderEvent::EditBegun(EditBegun {
                edit_id: b.edit_id.clone(),
                author: b.author,
                note: b.note,
            })];
            if !b.changes.is_empty() {
                plan(order, &b.changes, facts)?;
                events.push(OrderEvent::EditStaged(EditStaged {
                    edit_id: b.edit_id,
                    changes: b.changes,
                }));
            }
            Ok(events)
        }
        EditCommand::Stage { edit_id, changes } => {
            let open = open_edit(order, &edit_id)?;
            if changes.is_empty() {
                return Err(OrderError::NothingToEdit);
            }
            let mut all = open.changes.clone();
            all.extend(changes.iter().cloned());
            plan(order, &all, facts)?;
            Ok(vec![OrderEvent::EditStaged(EditStaged {
                edit_id,
                changes,
            })])
        }
        EditCommand::Abandon { edit_id, reason } => {
            open_edit(order, &edit_id)?;
            Ok(vec![OrderEvent::EditAbandoned(
                super::edit::EditAbandoned { edit_id, reason },
            )])
        }
        EditCommand::Commit(c) => commit(order, *c, facts),
        EditCommand::RequestCancellation(r) => super::cancel_request::request(order, *r, facts),
        EditCommand::AnswerCancellation {
            fulfillment_id,
            rejected,
        } => super::cancel_request::answer(order, &fulfillment_id, rejected, facts),
    }
}

fn open_edit<'o>(order: &'o Order, id: &Id) -> Result<&'o super::edit::OpenEdit, OrderError> {
    match &order.open_edit {
        Some(open) if &open.id == id => Ok(open),
        _ if order.edits.iter().any(|e| &e.edit.edit_id == id)
            || order.abandoned_edits.iter().any(|a| &a.edit_id == id) =>
        {
            Err(OrderError::EditClosed(id.to_string()))
        }
        _ => Err(OrderError::UnknownEdit(id.to_string())),
    }
}

fn commit(order: &Order, c: CommitEdit, facts: &EditFacts) -> Result<Vec<OrderEvent>, OrderError> {
    let (changes, note) = if c.changes.is_empty() {
        let open = open_edit(order, &c.edit_id)?;
        (open.changes.clone(), c.note.or_else(|| open.note.clone()))
    } else {
        if let Some(open) = &order.open_edit {
            return Err(OrderError::EditOpen(open.id.to_string()));
        }
        (c.changes, c.note)
    };
    if changes.is_empty() {
        return Err(OrderError::NothingToEdit);
    }
    let edited = Edited {
        edit_id: c.edit_id,
        author: c.author,
        cancellation: None,
        changes,
        note,
        note_to_customer: c.note_to_customer,
        payment: c.payment,
        refund_id: c.refund_id,
        balance_blocks_release: c.balance_blocks_release,
    };
    edited.decide(order, facts)
}

/// What committing the open edit `edit_id` now would write (without a payment, so an
/// increase shows as owed); an edit with nothing staged yet previews as changing nothing.
pub fn preview_edit(
    order: &Order,
    edit_id: &Id,
    facts: &EditFacts,
    balance_blocks_release: bool,
) -> Result<OrderEdited, OrderError> {
    let open = open_edit(order, edit_id)?;
    let edited = Edited {
        edit_id: open.id.clone(),
        author: open.author.clone(),
        cancellation: None,
        changes: open.changes.clone(),
        note: open.note.clone(),
        note_to_customer: None,
        payment: None,
        refund_id: Id::new("ref_preview"),
        balance_blocks_release,
    };
    let events = edited.decide(order, facts)?;
    events
        .into_iter()
        .find_map(|e| match e {
            OrderEvent::OrderEdited(e) => Some(*e),
            _ => None,
        })
        .ok_or(OrderError::NothingToEdit)
}

/// A committed change set, ready to be planned and settled.
struct Edited {
    edit_id: Id,
    author: String,
    cancellation: Option<CancelReason>,
    changes: Vec<EditChange>,
    note: Option<String>,
    note_to_customer: Option<String>,
    payment: Option<NewPayment>,
    refund_id: Id,
    balance_blocks_release: bool,
}

impl Edited {
    fn decide(self, order: &Order, facts: &EditFacts) -> Result<Vec<OrderEvent>, OrderError> {
        let planned = plan(order, &self.changes, facts)?;
        let payment_id = self.payment.as_ref().map(|p| p.id.clone());
        let (settlement, money) = settle(
            order,
            SettleInput {
                edit_id: &self.edit_id,
                new_total: planned.after.total,
                payment: self.payment,
                refund_id: &self.refund_id,
                reason: if self.cancellation.is_some() {
                    RefundReason::OrderCancelled
                } else {
                    RefundReason::PriceAdjustment
                },
                balance_blocks_release: self.balance_blocks_release,
            },
        );
        let edited = OrderEdited {
            edit_id: self.edit_id,
            author: self.author,
            cancellation: self.cancellation,
            changes: self.changes,
            note: self.note,
            note_to_customer: self.note_to_customer,
            lines: planned.changed_lines(),
            released: planned.released,
            backorders_cancelled: planned.backorders_cancelled,
            reserved: planned.reserved,
            backordered: planned.backordered,
            shipping_address: planned.shipping_address,
            delivery: planned.delivery,
            before: planned.before,
            after: planned.after,
            resourced: planned.resourced,
            affected: planned.affected,
            refund_id: (settlement.refunded > 0).then_some(self.refund_id),
            payment_id: payment_id.filter(|_| settlement.authorization > 0),
            settlement,
        };
        let mut events = vec![OrderEvent::OrderEdited(Box::new(edited))];
        events.extend(money);
        Ok(events)
    }
}

/// Refuses a unit cancellation naming a line without units, a line twice, more units
/// than the line has, or units that shipped.
pub(super) fn check_units(
    order: &Order,
    lines: &[super::cancel_request::CancelLine],
) -> Result<(), OrderError> {
    let pairs: Vec<(u32, u32)> = lines.iter().map(|c| (c.line_no, c.quantity)).collect();
    unit_changes(order, &pairs).map(|_| ())
}

/// The quantity each named line is left with.
fn unit_changes(order: &Order, lines: &[(u32, u32)]) -> Result<Vec<EditChange>, OrderError> {
    if lines.is_empty() {
        return Err(OrderError::NothingToEdit);
    }
    let mut changes = Vec::with_capacity(lines.len());
    for (i, (line_no, quantity)) in lines.iter().enumerate() {
        let Some(line) = order
            .lines
            .iter()
            .find(|l| l.line_no == *line_no && l.buckets.active() > 0)
        else {
            return Err(OrderError::Invalid(vec![super::error::FieldIssue::new(
                format!("lines[{i}].line_no"),
                "unknown_line",
                format!("the order has no line {line_no} with units"),
            )]));
        };
        if lines[..i].iter().any(|(n, _)| n == line_no) {
            return Err(OrderError::Invalid(vec![super::error::FieldIssue::new(
                format!("lines[{i}].line_no"),
                "repeated_line",
                format!("line {line_no} is named twice"),
            )]));
        }
        let active = line.buckets.active();
        if *quantity > active {
            return Err(OrderError::Invalid(vec![super::error::FieldIssue::new(
                format!("lines[{i}].quantity"),
                "quantity_beyond_line",
                format!("line {line_no} has {active} units"),
            )]));
        }
        if *quantity > active - line.buckets.shipped {
            return Err(OrderError::AlreadyShipped);
        }
        changes.push(EditChange::SetQuantity {
            line_no: *line_no,
            quantity: active - quantity,
        });
    }
    Ok(changes)
}

/// Cancels units line by line; cancelling every unit left cancels the order.
pub(super) fn cancel_units(
    order: &Order,
    c: CancelUnits,
    facts: &EditFacts,
) -> Result<Vec<OrderEvent>, OrderError> {
    let changes = unit_changes(order, &c.lines)?;
    let everything = order.lines.iter().all(|l| {
        let asked = c
            .lines
            .iter()
            .find(|(n, _)| *n == l.line_no)
            .map_or(0, |(_, q)| *q);
        l.buckets.active() == asked
    });
    if everything {
        return super::decide::decide(
            Some(order),
            OrderCommand::Cancel(CancelOrder {
                reason: c.reason,
                note: c.note,
                refund_id: c.refund_id,
            }),
            None,
        );
    }
    Edited {
        edit_id: c.edit_id,
        author: c.author,
        cancellation: Some(c.reason),
        changes,
        note: c.note,
        note_to_customer: None,
        payment: None,
        refund_id: c.refund_id,
        balance_blocks_release: false,
    }
    .decide(order, facts)
}

/// Cancelling the order abandons the edit open on it, in the same decision, so the
/// timeline says what became of it.
pub(super) fn close_open_edit(state: Option<&Order>, events: &mut Vec<OrderEvent>) {
    let Some(open) = state.and_then(|o| o.open_edit.as_ref()) else {
        return;
    };
    if let Some(at) = events
        .iter()
        .position(|e| matches!(e, OrderEvent::OrderCancelled(_)))
    {
        events.insert(
            at,
            OrderEvent::EditAbandoned(super::edit::EditAbandoned {
                edit_id: open.id.clone(),
                reason: "the order was cancelled".to_owned(),
            }),
        );
    }
}
