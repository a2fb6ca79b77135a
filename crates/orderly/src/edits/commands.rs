//! Edits and unit cancellations as commands every interface runs the same way: the
//! request's changes are resolved against the catalog and the order (names, prices),
//! the facts a plan needs are read inside the command's transaction (stock of every SKU
//! involved, where the new address lies, the channel's rules), and the domain decides.
//! A preview is the same decision made in a transaction that writes nothing.

use crate::app::auth::{Permission, authorize, in_scope};
use crate::app::error::AppError;
use crate::app::{App, Idempotency, Origin, Outcome};
use crate::config::{Config, ReserveStock};
use crate::orders::placing::{PaymentChoice, payment_id};
use orderly_domain::order::{
    Address, BeginEdit, CancelLine, CancelReason, CommitEdit, EditChange, EditCommand, EditFacts,
    FieldIssue, NewPayment, Order, OrderCommand, OrderEdited, OrderError, RequestCancellation,
    address_after, preview_edit,
};
use orderly_domain::values::{Id, Sku};
use orderly_store::WriteTx;

/// One change as a client asks for it: prices and names not resolved yet.
#[derive(Debug, Clone)]
pub enum ChangeInput {
    ShippingAddress(Address),
    AddLine {
        sku: Sku,
        quantity: u32,
        unit_price: Option<i64>,
    },
    RemoveLine {
        line_no: u32,
    },
    SetQuantity {
        line_no: u32,
        quantity: u32,
    },
    SwapVariant {
        line_no: u32,
        sku: Sku,
        quantity: Option<u32>,
        unit_price: Option<i64>,
    },
    ShippingService {
        service: String,
        shipping_amount: Option<i64>,
    },
}

impl ChangeInput {
    /// A price the editor set instead of the order's or the catalog's.
    fn sets_price(&self) -> bool {
        matches!(
            self,
            ChangeInput::AddLine {
                unit_price: Some(_),
                ..
            } | ChangeInput::SwapVariant {
                unit_price: Some(_),
                ..
            } | ChangeInput::ShippingService {
                shipping_amount: Some(_),
                ..
            }
        )
    }
}

/// What a client asks of an order's edits.
#[derive(Debug, Clone)]
pub enum EditAction {
    Begin {
        note: Option<String>,
        changes: Vec<ChangeInput>,
    },
    Stage {
        edit_id: Id,
        changes: Vec<ChangeInput>,
    },
    Abandon {
        edit_id: Id,
        reason: String,
    },
    /// Commits the open edit `edit_id`, or (with `changes`) a one-shot edit.
    Commit {
        edit_id: Option<Id>,
        changes: Vec<ChangeInput>,
        note: Option<String>,
        note_to_customer: Option<String>,
        payment: Option<PaymentChoice>,
    },
    /// Cancels the order, or (with `lines`) some units: at once, or as a request to the
    /// warehouses that have them.
    Cancel {
        lines: Option<Vec<CancelLine>>,
        reason: CancelReason,
        note: Option<String>,
    },
    /// A warehouse answers a cancellation request for one of its fulfillment orders.
    AnswerCancellation {
        fulfillment_id: Id,
        rejected: Option<String>,
    },
}

impl EditAction {
    fn inputs(&self) -> &[ChangeInput] {
        match self {
            EditAction::Begin { changes, .. }
            | EditAction::Stage { changes, .. }
            | EditAction::Commit { changes, .. } => changes,
            EditAction::Abandon { .. }
            | EditAction::Cancel { .. }
            | EditAction::AnswerCancellation { .. } => &[],
        }
    }

    fn token(&self) -> Option<String> {
        match self {
            EditAction::Commit {
                payment: Some(p), ..
            } => p.token.clone(),
            _ => None,
        }
    }
}

/// The ids a command mints, drawn before the transaction so a retry decides the same.
struct Minted {
    edit_id: Id,
    refund_id: Id,
}

impl App {
    /// Runs `action` on the order, refusing with 412 when `expected_version` (from
    /// `If-Match`) is not the order's version. `author` names the editor for people.
    pub async fn edit_order(
        &self,
        id_or_number: String,
        action: EditAction,
        author: String,
        expected_version: Option<i64>,
        idem: Option<Idempotency>,
        origin: Origin,
    ) -> Result<Outcome, AppError> {
        if action.inputs().iter().any(ChangeInput::sets_price) {
            authorize(&origin.actor, Permission::OverridePrices)?;
        }
        let config = self.config.clone();
        let minted = Minted {
            edit_id: Id::new(self.new_id("edt")),
            refund_id: Id::new(self.new_id("ref")),
        };
        let token = action.token();
        self.command_with_token(id_or_number, idem, origin, None, token, move |tx, order| {
            if let Some(v) = expected_version
                && i64::try_from(order.version).ok() != Some(v)
            {
                return Err(AppError::PreconditionFailed(format!(
                    "the order is at version {}, not {v}",
                    order.version
                )));
            }
            let (command, changes) = edit_command(tx, order, &action, &author, &minted, &config)?;
            let facts = edit_facts(tx, order, &changes, &config)?;
            Ok(OrderCommand::Edit(Box::new((command, facts))))
        })
        .await
    }

    /// What committing the open edit `edit_id` would do now, decided against the
    /// current stock in a transaction that writes nothing.
    pub async fn preview_edit(
        &self,
        origin: &Origin,
        id_or_number: String,
        edit_id: Id,
    ) -> Result<(Order, OrderEdited), AppError> {
        authorize(&origin.actor, Permission::ReadOrders)?;
        let config = self.config.clone();
        let actor = origin.actor.clone();
        self.store
            .write(move |tx| {
                let order = tx
                    .load_order(&id_or_number)?
                    .ok_or(AppError::Order(OrderError::NotFound))?;
                in_scope(&actor, &order)?;
                let staged = order
                    .open_edit
                    .as_ref()
                    .filter(|o| o.id == edit_id)
                    .map(|o| o.changes.clone())
                    .unwrap_or_default();
                let facts = edit_facts(tx, &order, &staged, &config)?;
                let preview =
                    preview_edit(&order, &edit_id, &facts, blocks_release(&order, &config))?;
                Ok((order, preview))
            })
            .await
    }
}

fn blocks_release(order: &Order, config: &Config) -> bool {
    config
        .channel(order.channel.as_str())
        .is_none_or(|c| c.balance_due_blocks_release)
}

/// The domain command for `action`, and every change the plan will weigh (the open
/// edit's with the new ones).
fn edit_command(
    tx: &mut dyn WriteTx,
    order: &Order,
    action: &EditAction,
    author: &str,
    minted: &Minted,
    config: &Config,
) -> Result<(EditCommand, Vec<EditChange>), AppError> {
    let staged = order
        .open_edit
        .as_ref()
        .map(|o| o.changes.clone())
        .unwrap_or_default();
    Ok(match action {
        EditAction::Begin { note, changes } => {
            let changes = resolve(tx, order, changes)?;
            let cmd = EditCommand::Begin(BeginEdit {
                edit_id: minted.edit_id.clone(),
                author: author.to_owned(),
                note: note.clone(),
                changes: changes.clone(),
            });
            (cmd, changes)
        }
        EditAction::Stage { edit_id, changes } => {
            let changes = resolve(tx, order, changes)?;
            let all = staged.into_iter().chain(changes.iter().cloned()).collect();
            let cmd = EditCommand::Stage {
                edit_id: edit_id.clone(),
                changes,
            };
            (cmd, all)
        }
        EditAction::Abandon { edit_id, reason } => {
            let cmd = EditCommand::Abandon {
                edit_id: edit_id.clone(),
                reason: reason.clone(),
            };
            (cmd, Vec::new())
        }
        EditAction::Commit {
            edit_id,
            changes,
            note,
            note_to_customer,
            payment,
        } => {
            let changes = resolve(tx, order, changes)?;
            let weighed = if changes.is_empty() {
                staged
            } else {
                changes.clone()
            };
            let cmd = EditCommand::Commit(Box::new(CommitEdit {
                edit_id: edit_id.clone().unwrap_or_else(|| minted.edit_id.clone()),
                author: author.to_owned(),
                changes,
                note: note.clone(),
                note_to_customer: note_to_customer.clone(),
                payment: payment.as_ref().map(|p| NewPayment {
                    id: payment_id(&order.id, order.payments.len() + 1),
                    method: p.method,
                    provider: p.provider.clone(),
                    fingerprint: p.fingerprint.clone(),
                    last4: p.last4.clone(),
                }),
                refund_id: minted.refund_id.clone(),
                balance_blocks_release: blocks_release(order, config),
            }));
            (cmd, weighed)
        }
        EditAction::Cancel {
            lines,
            reason,
            note,
        } => {
            let cmd = EditCommand::RequestCancellation(Box::new(RequestCancellation {
                request_id: minted.edit_id.clone(),
                author: author.to_owned(),
                lines: lines.clone(),
                reason: *reason,
                note: note.clone(),
                refund_id: minted.refund_id.clone(),
            }));
            (cmd, Vec::new())
        }
        EditAction::AnswerCancellation {
            fulfillment_id,
            rejected,
        } => {
            let cmd = EditCommand::AnswerCancellation {
                fulfillment_id: fulfillment_id.clone(),
                rejected: rejected.clone(),
            };
            (cmd, Vec::new())
        }
    })
}

/// Resolves each change's SKU against the catalog: its name, and its price (the one
/// the editor set; else the order's own for that SKU; for a swap, the swapped line's;
/// else the catalog's). An unknown or inactive SKU is refused naming the change.
fn resolve(
    tx: &mut dyn WriteTx,
    order: &Order,
    inputs: &[ChangeInput],
) -> Result<Vec<EditChange>, AppError> {
    let skus: Vec<Sku> = inputs
        .iter()
        .filter_map(|c| match c {
            ChangeInput::AddLine { sku, .. } | ChangeInput::SwapVariant { sku, .. } => {
                Some(sku.clone())
            }
            _ => None,
        })
        .collect();
    let products = if skus.is_empty() {
        Vec::new()
    } else {
        tx.products(&skus)?
    };
    let mut issues = Vec::new();
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let own_price = |sku: &Sku| {
            order
                .lines
                .iter()
                .find(|l| &l.sku == sku)
                .map(|l| l.unit_price)
        };
        let mut product = |sku: &Sku| {
            let p = products.iter().find(|p| p.sku == sku.as_str());
            match p {
                Some(p) if p.active => Some(p),
                Some(_) => {
                    issues.push(FieldIssue::new(
                        format!("changes[{i}].sku"),
                        "inactive_sku",
                        format!("{sku} is not sold any more"),
                    ));
                    None
                }
                None => {
                    issues.push(FieldIssue::new(
                        format!("changes[{i}].sku"),
                        "unknown_sku",
                        format!("{sku} is not in the catalog"),
                    ));
                    None
                }
            }
        };
        let change = match input {
            ChangeInput::ShippingAddress(address) => EditChange::ShippingAddress {
                address: address.clone(),
            },
            ChangeInput::RemoveLine { line_no } => EditChange::RemoveLine { line_no: *line_no },
            ChangeInput::SetQuantity { line_no, quantity } => EditChange::SetQuantity {
                line_no: *line_no,
                quantity: *quantity,
            },
            ChangeInput::ShippingService {
                service,
                shipping_amount,
            } => EditChange::ShippingService {
                service: service.clone(),
                shipping_amount: *shipping_amount,
            },
            ChangeInput::AddLine {
                sku,
                quantity,
                unit_price,
            } => {
                let Some(p) = product(sku) else { continue };
                EditChange::AddLine {
                    sku: sku.clone(),
                    name: p.name.clone(),
                    quantity: *quantity,
                    unit_price: unit_price.or(own_price(sku)).unwrap_or(p.price_minor),
                    price_override: unit_price.is_some(),
                }
            }
            ChangeInput::SwapVariant {
                line_no,
                sku,
                quantity,
                unit_price,
            } => {
                let Some(p) = product(sku) else { continue };
                let swapped = order
                    .lines
                    .iter()
                    .find(|l| l.line_no == *line_no)
                    .map(|l| l.unit_price);
                EditChange::SwapVariant {
                    line_no: *line_no,
                    sku: sku.clone(),
                    name: p.name.clone(),
                    quantity: *quantity,
                    unit_price: unit_price
                        .or(own_price(sku))
                        .or(swapped)
                        .unwrap_or(p.price_minor),
                    price_override: unit_price.is_some(),
                }
            }
        };
        out.push(change);
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(issues))
    }
}

/// What a plan of `changes` reads: the stock of every SKU involved, inside `tx`.
fn edit_facts(
    tx: &mut dyn WriteTx,
    order: &Order,
    changes: &[EditChange],
    config: &Config,
) -> Result<EditFacts, AppError> {
    let mut skus: Vec<Sku> = order.lines.iter().map(|l| l.sku.clone()).collect();
    for c in changes {
        if let EditChange::AddLine { sku, .. } | EditChange::SwapVariant { sku, .. } = c {
            skus.push(sku.clone());
        }
    }
    skus.sort();
    skus.dedup();
    let stock = tx.stock_view(&skus)?;
    let address = address_after(order, changes);
    let channel = config.channel(order.channel.as_str());
    Ok(EditFacts {
        locations: config.location_facts(),
        stock,
        ship_to: config.geocode(address.country.as_str(), address.region.as_deref()),
        allow_backorders: channel.is_some_and(|c| c.allow_backorders),
        policy: config.sourcing,
        window: config.fulfillment.edit_window,
        limits: config.limits(),
        reserve_at_payment: channel.is_some_and(|c| c.reserve_stock == ReserveStock::AtPayment),
    })
}
