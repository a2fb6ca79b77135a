//! Refunds tied to order lines. A line can never give back more units than were sold
//! nor more money than was paid for it (its share of the order's discount and tax
//! included), across every refund it was part of; each refund records how much of it
//! went to which line, so returns and reports read the allocation instead of guessing.
//! Refunds tied to no line (goodwill, shipping) are bounded by the order alone.

use super::command::RequestRefund;
use super::error::OrderError;
use super::event::{OrderEvent, RefundRequested};
use super::payments::{OpIds, check_amount, refund_parts};
use super::state::Order;
use crate::payment::RefundLine;

/// Splits `total` over `weights` in proportion, largest remainders first, so the parts
/// add up to `total` exactly and none exceeds its exact share by a unit or more.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let total_wide = i128::from(total);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut rests: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total_wide * i128::from((*w).max(0));
        // Both factors fit in i64 and the quotient is at most `total`.
        parts.push(i64::try_from(exact / sum).unwrap_or(0));
        rests.push((exact % sum, i));
    }
    let mut left = total - parts.iter().sum::<i64>();
    // Ties go to the earlier line, so the split is the same every time.
    rests.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rests {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// What one line was paid, and how much of it refunds already took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineMoney {
    pub line_no: u32,
    pub quantity: u32,
    /// Price × quantity, less the line's share of the discount, plus its share of tax.
    pub paid_minor: i64,
    pub refunded_quantity: u32,
    pub refunded_minor: i64,
}

impl LineMoney {
    /// The value of units `from..to` of the line (cumulative, so units' values add up
    /// to the line's exactly whatever the rounding).
    fn units_value(&self, from: u32, to: u32) -> i64 {
        let q = i128::from(self.quantity.max(1));
        let at = |n: u32| i128::from(self.paid_minor) * i128::from(n) / q;
        i64::try_from(at(to) - at(from)).unwrap_or(i64::MAX)
    }

    /// What the next `quantity` units of the line may still give back: their value
    /// counted on from the units refunded already, so that refunds of a line one unit at
    /// a time add up to what it was paid, and never more than is left of it.
    pub(super) fn next_units_value(&self, quantity: u32) -> i64 {
        let to = self.refunded_quantity.saturating_add(quantity);
        self.units_value(self.refunded_quantity, to)
            .min(self.paid_minor - self.refunded_minor)
            .max(0)
    }
}

impl Order {
    /// Every line's paid amount and what refunds took of it. Discount and tax are shared
    /// out in proportion to the lines' prices (shipping belongs to no line).
    pub fn line_money(&self) -> Vec<LineMoney> {
        let gross: Vec<i64> = self
            .lines
            .iter()
            .map(|l| l.unit_price * i64::from(l.buckets.ordered))
            .collect();
        let discount = allocate(self.discount_amount, &gross);
        let tax = allocate(self.tax_amount, &gross);
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (refunded_quantity, refunded_minor) = self
                    .refunds
                    .iter()
                    .flat_map(|r| &r.lines)
                    .filter(|r| r.line_no == l.line_no)
                    .fold((0, 0), |(q, a), r| (q + r.quantity, a + r.amount_minor));
                LineMoney {
                    line_no: l.line_no,
                    quantity: l.buckets.ordered,
                    paid_minor: (gross[i] - discount[i] + tax[i]).max(0),
                    refunded_quantity,
                    refunded_minor,
                }
            })
            .collect()
    }
}

/// Checks the asked lines against what each may still give back and shares `amount`
/// (the whole value of the units when absent) out over them.
fn allocate_to_lines(
    order: &Order,
    asked: &[RefundLine],
    amount: Option<i64>,
) -> Result<(i64, Vec<RefundLine>), OrderError> {
    let money = order.line_money();
    let mut caps = Vec::with_capacity(asked.len());
    for (i, a) in asked.iter().enumerate() {
        let Some(line) = money.iter().find(|m| m.line_no == a.line_no) else {
            return Err(OrderError::InvalidRefundLine(a.line_no));
        };
        if a.quantity == 0 || asked[..i].iter().any(|b| b.line_no == a.line_no) {
            return Err(OrderError::InvalidRefundLine(a.line_no));
        }
        let units_left = line.quantity.saturating_sub(line.refunded_quantity);
        if a.quantity > units_left {
            return Err(OrderError::RefundExceedsLine {
                line_no: a.line_no,
                unit: "units",
                requested: i64::from(a.quantity),
                remaining: i64::from(units_left),
            });
        }
        caps.push(line.next_units_value(a.quantity));
    }
    let cap: i64 = caps.iter().sum();
    let amount = amount.unwrap_or(cap);
    check_amount(amount)?;
    if amount > cap {
        let line_no = asked.first().map_or(0, |a| a.line_no);
        return Err(OrderError::RefundExceedsLine {
            line_no,
            unit: "minor units",
            requested: amount,
            remaining: cap,
        });
    }
    let shares = allocate(amount, &caps);
    let lines = asked
        .iter()
        .zip(shares)
        .map(|(a, amount_minor)| RefundLine {
            line_no: a.line_no,
            quantity: a.quantity,
            amount_minor,
        })
        .collect();
    Ok((amount, lines))
}

pub(super) fn refund(order: &Order, r: RequestRefund) -> Result<Vec<OrderEvent>, OrderError> {
    let (amount, lines) = if r.lines.is_empty() {
        let amount = r.amount_minor.ok_or(OrderError::InvalidAmount)?;
        check_amount(amount)?;
        (amount, Vec::new())
    } else {
        allocate_to_lines(order, &r.lines, r.amount_minor)?
    };
    let mut ids = OpIds::new(Some(order));
    let parts = refund_parts(order, &r.id, amount, r.method, &mut ids)?;
    let mut events = vec![OrderEvent::RefundRequested(RefundRequested {
        id: r.id,
        amount_minor: amount,
        reason: r.reason,
        method: r.method,
        lines,
        note: r.note,
    })];
    events.extend(parts);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::allocate;
    use proptest::prelude::*;

    #[test]
    fn allocation_adds_up_and_follows_the_weights() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(1000, &[3000, 1000]), vec![750, 250]);
        assert_eq!(allocate(5, &[0, 0]), vec![0, 0]);
        assert_eq!(allocate(0, &[10, 20]), vec![0, 0]);
    }

    proptest! {
        #[test]
        fn allocation_never_drifts_from_the_exact_share(
            total in 0i64..1_000_000_000,
            weights in prop::collection::vec(0i64..1_000_000, 1..8),
        ) {
            let parts = allocate(total, &weights);
            let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            if sum == 0 {
                prop_assert!(parts.iter().all(|p| *p == 0));
            } else {
                prop_assert_eq!(parts.iter().sum::<i64>(), total);
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = i128::from(total) * i128::from(*w);
                    let p = i128::from(*p) * sum;
                    prop_assert!(p + sum > exact && p < exact + sum);
                }
            }
        }
    }
}
