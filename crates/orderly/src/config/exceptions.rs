//! `[exceptions]`: how long each watched condition may last before its order (or return,
//! or edit) is queued for a person. The business-time thresholds count on `[calendar]`;
//! the others are wall-clock time, because a customer waiting for a payment link or a
//! parcel does not stop the clock at the weekend. The defaults are what an online store
//! would call late.

use jiff::SignedDuration;
use orderly_domain::order::watch::WatchThresholds;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ExceptionsConfig {
    /// Minutes a placed order may stay unpaid (an exchange order: waiting for the
    /// customer's difference).
    pub unpaid_after_minutes: u32,
    /// Business hours from confirmation to release to the warehouse.
    pub release_within_business_hours: u32,
    /// Business hours from confirmation to the last shipment.
    pub ship_within_business_hours: u32,
    /// Hours an order may stay partly shipped.
    pub partially_shipped_after_hours: u32,
    /// Business days a return may wait for its review decision.
    pub return_decision_business_days: u32,
    /// Days from a return's authorization for its goods to arrive.
    pub return_receipt_days: u32,
    /// Business hours from a return's receipt to its inspection.
    pub inspection_within_business_hours: u32,
    /// Minutes an edit may stay open before it is queued.
    pub edit_open_after_minutes: u32,
    /// Hours an entry may wait in its queue before it counts as escalated (it stands
    /// out on the board and in its queue).
    pub escalate_after_hours: u32,
}

impl Default for ExceptionsConfig {
    fn default() -> Self {
        ExceptionsConfig {
            unpaid_after_minutes: 30,
            release_within_business_hours: 4,
            ship_within_business_hours: 16,
            partially_shipped_after_hours: 48,
            return_decision_business_days: 1,
            return_receipt_days: 21,
            inspection_within_business_hours: 16,
            edit_open_after_minutes: 60,
            escalate_after_hours: 24,
        }
    }
}

/// The longest threshold of any kind, in hours (a year): beyond it a value is a typo.
const MAX_HOURS: u32 = 24 * 366;

impl ExceptionsConfig {
    pub fn thresholds(&self) -> WatchThresholds {
        let hours = |h: u32| SignedDuration::from_hours(i64::from(h));
        let mins = |m: u32| SignedDuration::from_mins(i64::from(m));
        WatchThresholds {
            unpaid: mins(self.unpaid_after_minutes),
            release: hours(self.release_within_business_hours),
            ship: hours(self.ship_within_business_hours),
            partially_shipped: hours(self.partially_shipped_after_hours),
            return_decision_days: self.return_decision_business_days,
            return_receipt_days: self.return_receipt_days,
            inspection: hours(self.inspection_within_business_hours),
            edit_open: mins(self.edit_open_after_minutes),
        }
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let checks: [(&str, u32, u32); 9] = [
            (
                "unpaid_after_minutes",
                self.unpaid_after_minutes,
                MAX_HOURS * 60,
            ),
            (
                "release_within_business_hours",
                self.release_within_business_hours,
                MAX_HOURS,
            ),
            (
                "ship_within_business_hours",
                self.ship_within_business_hours,
                MAX_HOURS,
            ),
            (
                "partially_shipped_after_hours",
                self.partially_shipped_after_hours,
                MAX_HOURS,
            ),
            (
                "return_decision_business_days",
                self.return_decision_business_days,
                MAX_HOURS / 24,
            ),
            (
                "return_receipt_days",
                self.return_receipt_days,
                MAX_HOURS / 24,
            ),
            (
                "inspection_within_business_hours",
                self.inspection_within_business_hours,
                MAX_HOURS,
            ),
            (
                "edit_open_after_minutes",
                self.edit_open_after_minutes,
                MAX_HOURS * 60,
            ),
            ("escalate_after_hours", self.escalate_after_hours, MAX_HOURS),
        ];
        checks
            .iter()
            .filter(|(_, v, max)| *v == 0 || v > max)
            .map(|(key, _, max)| format!("exceptions.{key}: must be 1 to {max}"))
            .collect()
    }
}
