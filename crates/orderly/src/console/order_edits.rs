//! Changing an order from its page: an edit (shipping address, quantities, another
//! variant) begun as an open edit and shown as its preview (what committing now would
//! do to lines, totals, money and stock, decided against current stock by the same code
//! that commits) before it is committed or abandoned; cancelling some units of a line;
//! tags; and a return request made by staff. Each is the application call the API
//! makes (`edit_order`, `preview_edit`, `request_return`, `ChangeTags`).

use crate::app::AppState;
use crate::app::error::AppError;
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, money, render};
use crate::console::session::{Posted, Viewer, done};
use crate::edits::commands::{ChangeInput, EditAction};
use crate::edits::view::edit_view;
use crate::orders::view::AddressDto;
use crate::returns::commands::{Requester, ReturnInput};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use orderly_domain::order::{CancelLine, CancelReason, OrderCommand};
use orderly_domain::returns::{AskedItem, Wanted};
use orderly_domain::values::{Id, Sku};
use std::collections::BTreeMap;

type Answered = Result<Response, ConsoleError>;
type Form = BTreeMap<String, String>;

fn text<'f>(form: &'f Form, key: &str) -> &'f str {
    form.get(key).map_or("", |v| v.trim())
}

/// A whole number from field `key` of at most `max`; empty is `None`.
fn count(form: &Form, key: &str, max: u32) -> Result<Option<u32>, ConsoleError> {
    match text(form, key) {
        "" => Ok(None),
        t => t
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .map(Some)
            .ok_or_else(|| ConsoleError::invalid(key, "out_of_range", "a whole number")),
    }
}

/// Runs edit `action` on order `id` as the poster, under the form's key.
pub async fn edit<T>(
    app: &AppState,
    posted: &Posted<T>,
    id: &str,
    action: EditAction,
) -> Result<crate::app::Outcome, ConsoleError> {
    Ok(app
        .edit_order(
            id.to_owned(),
            action,
            posted.author(),
            None,
            posted.idem.clone(),
            posted.origin(),
        )
        .await?)
}

/// What a cancellation of `what` did: done, or asked of the warehouse holding the units
/// (it is done when the warehouse accepts).
pub fn cancelled(outcome: &crate::app::Outcome, what: &str) -> String {
    match outcome {
        crate::app::Outcome::Order(crate::app::Answer::Accepted, _) => format!(
            "Cancellation of {what} asked of the warehouse; it is done when the warehouse accepts."
        ),
        _ => format!("Cancelled {what}."),
    }
}

/// Begins an edit from the order page's form and shows its preview. The form carries
/// the address as the order has it and each line's quantity: what differs is a change.
pub async fn begin(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Form>,
) -> Answered {
    let form = &posted.form;
    let order = app.order(&posted.viewer.actor(), id.clone()).await?;
    let mut changes = Vec::new();
    let a = &order.shipping_address;
    let typed = AddressDto {
        name: text(form, "name").to_owned(),
        line1: text(form, "line1").to_owned(),
        line2: Some(text(form, "line2").to_owned()).filter(|l| !l.is_empty()),
        city: text(form, "city").to_owned(),
        region: Some(text(form, "region").to_owned()).filter(|r| !r.is_empty()),
        postal_code: text(form, "postal_code").to_owned(),
        country: text(form, "country").to_owned(),
    };
    let same = typed.name == a.name
        && typed.line1 == a.line1
        && typed.line2 == a.line2
        && typed.city == a.city
        && typed.region == a.region
        && typed.postal_code == a.postal_code
        && typed.country == a.country.as_str();
    if !same {
        let mut issues = Vec::new();
        let address = crate::orders::capture::parse_address(&typed, "address", &mut issues);
        match address {
            Some(address) if issues.is_empty() => {
                changes.push(ChangeInput::ShippingAddress(address))
            }
            _ => return Err(AppError::Validation(issues).into()),
        }
    }
    for line in &order.lines {
        let n = line.line_no;
        let variant = text(form, &format!("sku_{n}"));
        let quantity = count(form, &format!("quantity_{n}"), 1_000_000)?;
        if !variant.is_empty() && variant != line.sku.as_str() {
            let sku = Sku::parse(variant)
                .map_err(|e| ConsoleError::invalid(&format!("sku_{n}"), e.code, &e.message))?;
            changes.push(ChangeInput::SwapVariant {
                line_no: n,
                sku,
                quantity,
                unit_price: None,
            });
        } else if let Some(q) = quantity.filter(|q| *q != line.buckets.active()) {
            changes.push(if q == 0 {
                ChangeInput::RemoveLine { line_no: n }
            } else {
                ChangeInput::SetQuantity {
                    line_no: n,
                    quantity: q,
                }
            });
        }
    }
    if changes.is_empty() {
        return Err(ConsoleError::invalid(
            "changes",
            "no_change",
            "change the address, a quantity or a variant first",
        ));
    }
    let note =
        Some(text(form, "note").chars().take(1000).collect::<String>()).filter(|n| !n.is_empty());
    let outcome = edit(&app, &posted, &id, EditAction::Begin { note, changes }).await?;
    let order = crate::returns::commands::outcome_order(outcome)?;
    let edit = order
        .open_edit
        .as_ref()
        .map(|e| e.id.to_string())
        .ok_or_else(|| AppError::Internal("an edit began but is not open".into()))?;
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}/edits/{edit}"),
        "Edit opened: check the preview, then commit it or abandon it.",
    ))
}

pub struct LineChange {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub before: u32,
    pub after: u32,
    pub changed: bool,
}

#[derive(Template)]
#[template(path = "console/edit.html")]
pub struct EditPage {
    pub layout: Layout,
    pub form_key: String,
    pub order_id: String,
    pub order_number: String,
    pub edit_id: String,
    pub state: String,
    pub open: bool,
    pub summary: String,
    pub settlement: String,
    pub lines: Vec<LineChange>,
    pub totals: Vec<(&'static str, String, String)>,
    pub stock: Vec<String>,
}

pub async fn edit_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((id, edit_id)): Path<(String, String)>,
) -> Answered {
    let actor = viewer.actor();
    let order = app.order(&actor, id).await?;
    let edit_id = Id::new(edit_id);
    let view = match order.edits.iter().find(|r| r.edit.edit_id == edit_id) {
        Some(r) => edit_view(&order, &r.edit, Some(r.committed_at)),
        None => {
            let origin = crate::app::Origin {
                actor: actor.clone(),
                correlation_id: app.new_id("req"),
            };
            let (now, preview) = app
                .preview_edit(&origin, order.id.to_string(), edit_id)
                .await?;
            edit_view(&now, &preview, None)
        }
    };
    let cur = view.currency.as_str();
    let (b, a) = (&view.totals_before, &view.totals_after);
    let row = |label, x: i64, y: i64| (label, money(x, cur), money(y, cur));
    let units = |verb: &str, us: &[crate::edits::view::EditUnitsView]| {
        us.iter()
            .map(|u| format!("{verb} {} x{} at {}", u.sku, u.quantity, u.location_id))
            .collect::<Vec<_>>()
    };
    let mut stock = units("release", &view.stock.released);
    stock.extend(units("reserve", &view.stock.reserved));
    stock.extend(
        view.stock
            .backordered
            .iter()
            .map(|b| format!("backorder {} x{}", b.sku, b.quantity)),
    );
    let page = EditPage {
        layout: Layout::new(
            &viewer,
            format!("Edit of {}", view.order_number),
            "/console",
        ),
        form_key: app.new_id("frm"),
        order_id: view.order_id.clone(),
        order_number: view.order_number.clone(),
        edit_id: view.id.clone(),
        open: view.state == "open",
        state: view.state.clone(),
        summary: view.summary.clone(),
        settlement: view.money.settlement.clone(),
        lines: view
            .lines
            .iter()
            .map(|l| LineChange {
                line_no: l.line_no,
                sku: l.sku.clone(),
                name: l.name.clone(),
                before: l.quantity_before,
                after: l.quantity_after,
                changed: l.quantity_before != l.quantity_after,
            })
            .collect(),
        totals: vec![
            row("Subtotal", b.subtotal_amount, a.subtotal_amount),
            row("Shipping", b.shipping_amount, a.shipping_amount),
            row("Tax", b.tax_amount, a.tax_amount),
            row("Discount", b.discount_amount, a.discount_amount),
            row("Total", b.total_amount, a.total_amount),
        ],
        stock,
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

/// Commits (`decision=commit`) or abandons (`decision=abandon`) the open edit.
pub async fn decide(
    State(app): State<AppState>,
    Path((id, edit_id)): Path<(String, String)>,
    posted: Posted<Form>,
) -> Answered {
    let form = &posted.form;
    let edit_id = Id::new(edit_id);
    let bounded = |key: &str| {
        Some(text(form, key).chars().take(1000).collect::<String>()).filter(|t| !t.is_empty())
    };
    let (action, notice) = match text(form, "decision") {
        "commit" => (
            EditAction::Commit {
                edit_id: Some(edit_id.clone()),
                changes: Vec::new(),
                note: bounded("note"),
                note_to_customer: bounded("note_to_customer"),
                payment: None,
            },
            "Edit committed.",
        ),
        "abandon" => (
            EditAction::Abandon {
                edit_id: edit_id.clone(),
                reason: bounded("reason").unwrap_or_else(|| "abandoned in the console".into()),
            },
            "Edit abandoned.",
        ),
        _ => {
            return Err(ConsoleError::invalid(
                "decision",
                "unknown_value",
                "commit or abandon",
            ));
        }
    };
    edit(&app, &posted, &id, action).await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        notice,
    ))
}

/// Cancels `quantity` units of line `line_no` (the rest of the order stays).
pub async fn cancel_line(
    State(app): State<AppState>,
    Path((id, line_no)): Path<(String, u32)>,
    posted: Posted<Form>,
) -> Answered {
    let form = &posted.form;
    let quantity = count(form, "quantity", 1_000_000)?
        .filter(|q| *q > 0)
        .ok_or_else(|| {
            ConsoleError::invalid("quantity", "out_of_range", "how many units to cancel")
        })?;
    let reason = CancelReason::parse(text(form, "reason")).ok_or_else(|| {
        ConsoleError::invalid("reason", "unknown_reason", "not a cancellation reason")
    })?;
    let action = EditAction::Cancel {
        lines: Some(vec![CancelLine { line_no, quantity }]),
        reason,
        note: None,
    };
    let outcome = edit(&app, &posted, &id, action).await?;
    let notice = cancelled(&outcome, &format!("{quantity} × line {line_no}"));
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        &notice,
    ))
}

/// Adds the tags in `add` and removes those in `remove` (comma or space separated).
pub async fn tags(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Form>,
) -> Answered {
    let list = |key: &str| -> Vec<String> {
        text(&posted.form, key)
            .split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .take(50)
            .map(str::to_owned)
            .collect()
    };
    let (add, remove) = (list("add"), list("remove"));
    if add.is_empty() && remove.is_empty() {
        return Err(ConsoleError::invalid(
            "add",
            "no_change",
            "name a tag to add or remove",
        ));
    }
    app.order_command(
        id.clone(),
        posted.idem.clone(),
        posted.origin(),
        None,
        move |_| {
            Ok(OrderCommand::ChangeTags {
                add: add.clone(),
                remove: remove.clone(),
            })
        },
    )
    .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        "Tags changed.",
    ))
}

/// A return requested by staff: `return_<line>` units per line, a leaf reason, the
/// outcome wanted, a note.
pub async fn create_return(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Form>,
) -> Answered {
    let form = &posted.form;
    let mut items = Vec::new();
    for (k, _) in form.iter().filter(|(k, _)| k.starts_with("return_")) {
        let line_no: u32 = k["return_".len()..]
            .parse()
            .map_err(|_| ConsoleError::invalid(k, "unknown_line", "not a line"))?;
        if let Some(quantity) = count(form, k, 1_000_000)?.filter(|q| *q > 0) {
            items.push(AskedItem { line_no, quantity });
        }
    }
    if items.is_empty() {
        return Err(ConsoleError::invalid(
            "items",
            "required",
            "say how many units of which line come back",
        ));
    }
    let wanted = match text(form, "wanted") {
        "store_credit" => Wanted::StoreCredit,
        "exchange" => Wanted::Exchange {
            sku: Sku::parse(text(form, "exchange_sku"))
                .map_err(|e| ConsoleError::invalid("exchange_sku", e.code, &e.message))?,
        },
        _ => Wanted::Refund,
    };
    let input = ReturnInput {
        items,
        reason: text(form, "reason").chars().take(64).collect(),
        wanted,
        note: Some(text(form, "note").chars().take(2000).collect::<String>())
            .filter(|n| !n.is_empty()),
        photos: Vec::new(),
        final_sale_exception: form.contains_key("final_sale_exception"),
        window_extension: form.contains_key("window_extension"),
        shipping_cost_minor: None,
    };
    let (order, rid) = app
        .request_return(
            id,
            input,
            Requester::Staff,
            posted.origin(),
            posted.idem.clone(),
        )
        .await?;
    let ret = order
        .return_by_id(rid.as_str())
        .ok_or_else(|| AppError::Internal("a requested return is missing".into()))?;
    let status = ret.status(&order);
    Ok(done(
        &posted.viewer,
        &format!("/console/returns/{}", ret.rma),
        &format!(
            "Return {} requested: {}.",
            ret.rma,
            status.as_str().replace('_', " ")
        ),
    ))
}
