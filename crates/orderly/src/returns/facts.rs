//! The facts a return judgement reads, gathered inside the write transaction that
//! records it: the order's lines with what each was paid and delivered, the catalog's
//! category and returnable flag, the customer's recent returns and purchases, and the
//! variant an exchange asks for. Read in the same transaction as the decision, so two
//! concurrent requests for the same units are judged one after the other.

use crate::app::error::AppError;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::fulfillment::TrackingStatus;
use orderly_domain::order::Order;
use orderly_domain::returns::{
    LineFacts, Replacement, ReturnFacts, ReturnHistory, ReturnPolicy, Wanted,
};
use orderly_domain::values::Sku;
use orderly_store::WriteTx;

/// The product a SKU is a variant of: the SKU without its last `-` part (`TEE-BLK` for
/// `TEE-BLK-M`), so an exchange for another size stays within the product. A SKU with no
/// `-` is a product of its own.
pub fn product_of(sku: &str) -> Option<String> {
    sku.rsplit_once('-').map(|(product, _)| product.to_owned())
}

/// When the last unit of `line_no` was delivered: the latest delivery scan of a shipment
/// carrying the line.
fn delivered_at(order: &Order, line_no: u32) -> Option<Timestamp> {
    order
        .fulfillment_orders
        .iter()
        .flat_map(|f| {
            f.shipments.iter().filter(move |s| {
                f.packages
                    .iter()
                    .find(|p| p.id == s.package_id)
                    .is_some_and(|p| p.items.iter().any(|i| i.line_no == line_no))
            })
        })
        .flat_map(|s| &s.scans)
        .filter(|scan| scan.status == TrackingStatus::Delivered)
        .map(|scan| scan.occurred_at)
        .max()
}

/// Everything `judge` reads besides the request and the policy.
pub(crate) fn gather(
    tx: &mut dyn WriteTx,
    order: &Order,
    wanted: &Wanted,
    policy: &ReturnPolicy,
    now: Timestamp,
) -> Result<ReturnFacts, AppError> {
    let skus: Vec<Sku> = order.lines.iter().map(|l| l.sku.clone()).collect();
    let products = tx.products(&skus)?;
    let money = order.line_money();
    let lines = order
        .lines
        .iter()
        .map(|l| {
            let row = products.iter().find(|p| p.sku == l.sku.as_str());
            LineFacts {
                line_no: l.line_no,
                sku: l.sku.clone(),
                product: product_of(l.sku.as_str()),
                category: row.and_then(|p| p.category.clone()),
                // A SKU gone from the catalog keeps the default: returnable.
                returnable: row.is_none_or(|p| p.returnable),
                paid_minor: money
                    .iter()
                    .find(|m| m.line_no == l.line_no)
                    .map_or(0, |m| m.paid_minor),
                ordered: l.buckets.ordered,
                delivered: l.buckets.delivered,
                delivered_at: delivered_at(order, l.line_no),
                in_returns: l.buckets.return_requested,
            }
        })
        .collect();
    let history = match &policy.serial_returner {
        Some(rule) => {
            let since = now
                .checked_sub(SignedDuration::from_hours(i64::from(rule.within_days) * 24))
                .unwrap_or(now);
            let email = order.customer.email.as_str();
            // Amounts compare only within one currency: the order's.
            let currency = order.currency.as_str();
            let (returns, returned_value_minor) =
                tx.customer_return_history(email, since, currency)?;
            ReturnHistory {
                returns,
                returned_value_minor,
                purchased_value_minor: tx.customer_purchases_since(email, since, currency)?,
            }
        }
        None => ReturnHistory::default(),
    };
    let replacement = match wanted {
        Wanted::Exchange { sku } => tx.product(sku.as_str())?.map(|p| Replacement {
            sku: sku.clone(),
            product: product_of(sku.as_str()),
            unit_price_minor: p.price_minor,
        }),
        Wanted::Refund | Wanted::StoreCredit => None,
    };
    let mut paid_with: Vec<_> = order.payments.iter().map(|p| p.method).collect();
    paid_with.dedup();
    Ok(ReturnFacts {
        channel: order.channel.clone(),
        placed_at: order.created_at,
        paid_with,
        lines,
        history,
        replacement,
    })
}

#[cfg(test)]
mod tests {
    use super::product_of;

    #[test]
    fn a_sku_is_a_variant_of_its_product_without_the_last_part() {
        assert_eq!(product_of("TEE-BLK-M").as_deref(), Some("TEE-BLK"));
        assert_eq!(product_of("MUG-1").as_deref(), Some("MUG"));
        assert_eq!(product_of("GIFTCARD"), None);
    }
}
