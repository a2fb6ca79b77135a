//! "Why hasn't line 2 shipped?" — where each unit of a line is and why the rest waits,
//! derived from the order alone. Support asks it of the API, the console's order page
//! and notifications will ask it too, so the answer lives beside the state it reads.

use super::state::{Order, OrderState};
use crate::fulfillment::FulfillmentState;
use crate::values::Id;

/// A fulfillment order that carries some of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePlacement {
    pub location_id: Id,
    pub fulfillment_order_id: Id,
    pub state: FulfillmentState,
    pub quantity: u32,
    pub shipped: u32,
    /// Units the picker could not find at this location.
    pub short: u32,
    /// Tracking numbers of the shipments that carried the line's units.
    pub tracking_numbers: Vec<String>,
}

/// Units of a line that are not on their way, and why: `short_pick`, `backorder`,
/// `awaiting_payment`, `sourcing`, a release blocker (`hold:<reason>`, `awaiting_capture`,
/// …) or `edit_window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineWait {
    pub reason: String,
    pub quantity: u32,
}

impl Order {
    /// Where the units of line `line_no` ship from, and why any of them wait (both empty
    /// for a line the order does not have).
    pub fn explain_line(&self, line_no: u32) -> (Vec<LinePlacement>, Vec<LineWait>) {
        let Some(line) = self.lines.iter().find(|l| l.line_no == line_no) else {
            return (Vec::new(), Vec::new());
        };
        let ships_from: Vec<LinePlacement> = self
            .fulfillment_orders
            .iter()
            .filter_map(|f| {
                let fl = f
                    .lines
                    .iter()
                    .find(|fl| fl.line_no == line_no && (fl.quantity > 0 || fl.short > 0))?;
                let tracking_numbers = f
                    .shipments
                    .iter()
                    .filter(|s| {
                        f.packages.iter().any(|p| {
                            p.id == s.package_id && p.items.iter().any(|i| i.line_no == line_no)
                        })
                    })
                    .map(|s| s.tracking_number.clone())
                    .collect();
                Some(LinePlacement {
                    location_id: f.location_id.clone(),
                    fulfillment_order_id: f.id.clone(),
                    state: f.state,
                    quantity: fl.quantity,
                    shipped: fl.shipped,
                    short: fl.short,
                    tracking_numbers,
                })
            })
            .collect();
        let b = &line.buckets;
        let mut waiting = Vec::new();
        let mut wait = |reason: &str, quantity: u32| {
            if quantity > 0 {
                waiting.push(LineWait {
                    reason: reason.to_owned(),
                    quantity,
                });
            }
        };
        // Units a warehouse could not find wait as a backorder like any other, but support
        // should be able to say why: a short pick, not a sell-out. Backordered units count
        // as short-picked up to the number of units pickers could not find on this line (a
        // line backordered at placement and short-picked later is the one case this blurs).
        let short: u32 = ships_from.iter().map(|p| p.short).sum();
        let after_short = b.backordered.min(short);
        wait("short_pick", after_short);
        wait("backorder", b.backordered - after_short);
        let unallocated = if self.state == OrderState::Pending {
            "awaiting_payment"
        } else {
            "sourcing"
        };
        wait(unallocated, b.unallocated);
        if self.state != OrderState::Cancelled {
            let blocker = self
                .release_blockers()
                .into_iter()
                .next()
                .unwrap_or_else(|| "edit_window".to_owned());
            wait(&blocker, b.allocated.saturating_sub(b.released));
        }
        (ships_from, waiting)
    }
}
