//! The payment ledger and the payment state derived from it. Authorize, capture and refund
//! are different facts with different money; keeping them as an append-only ledger (never a
//! status field) means the state can always be recomputed and audited.

use crate::Timestamp;
use crate::values::Id;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    Unpaid,
    Authorized,
    PartiallyCaptured,
    Captured,
    PartiallyRefunded,
    Refunded,
    Voided,
    Failed,
    Expired,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Unpaid => "unpaid",
            PaymentState::Authorized => "authorized",
            PaymentState::PartiallyCaptured => "partially_captured",
            PaymentState::Captured => "captured",
            PaymentState::PartiallyRefunded => "partially_refunded",
            PaymentState::Refunded => "refunded",
            PaymentState::Voided => "voided",
            PaymentState::Failed => "failed",
            PaymentState::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Authorize,
    Capture,
    /// Releases whatever of the authorization is not captured.
    Void,
    /// The authorization lapsed at the provider; its uncaptured remainder is gone.
    Expiry,
    Refund,
    Failure,
}

/// One immutable ledger line of one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub payment_id: Id,
    pub kind: EntryKind,
    pub amount_minor: i64,
    pub provider_reference: Option<String>,
    pub idempotency_key: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("amounts must be greater than zero")]
    NonPositiveAmount,
    #[error("payment {0} is already authorized")]
    AlreadyAuthorized(String),
    #[error("payment {0} has no open authorization")]
    NoOpenAuthorization(String),
    #[error("capture of {requested} exceeds the {remaining} still authorized")]
    CaptureExceedsAuthorized { requested: i64, remaining: i64 },
    #[error("refund of {requested} exceeds the {remaining} captured and not refunded")]
    RefundExceedsCaptured { requested: i64, remaining: i64 },
}

/// Money per payment, summed from its entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentTotals {
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    pub failures: u32,
    /// The authorization ended by void or expiry (its uncaptured remainder is released).
    pub closed: Option<EntryKind>,
}

impl PaymentTotals {
    pub fn of(entries: &[LedgerEntry], payment_id: &Id) -> PaymentTotals {
        let mut t = PaymentTotals::default();
        for e in entries.iter().filter(|e| &e.payment_id == payment_id) {
            match e.kind {
                EntryKind::Authorize => t.authorized += e.amount_minor,
                EntryKind::Capture => t.captured += e.amount_minor,
                EntryKind::Refund => t.refunded += e.amount_minor,
                EntryKind::Failure => t.failures += 1,
                EntryKind::Void | EntryKind::Expiry => t.closed = Some(e.kind),
            }
        }
        t
    }

    fn open_remaining(&self) -> i64 {
        if self.closed.is_some() {
            0
        } else {
            self.authorized - self.captured
        }
    }
}

/// Checks that `entry` may be appended to `entries`: the ledger invariants
/// (captured ≤ authorized, refunded ≤ captured, amounts > 0, one ending per authorization).
pub fn check_append(entries: &[LedgerEntry], entry: &LedgerEntry) -> Result<(), LedgerError> {
    let t = PaymentTotals::of(entries, &entry.payment_id);
    let needs_amount = !matches!(entry.kind, EntryKind::Void | EntryKind::Expiry);
    if needs_amount && entry.amount_minor <= 0 {
        return Err(LedgerError::NonPositiveAmount);
    }
    let pid = || entry.payment_id.to_string();
    match entry.kind {
        EntryKind::Authorize if t.authorized > 0 => Err(LedgerError::AlreadyAuthorized(pid())),
        EntryKind::Authorize | EntryKind::Failure => Ok(()),
        EntryKind::Capture => {
            if t.authorized == 0 || t.closed.is_some() {
                return Err(LedgerError::NoOpenAuthorization(pid()));
            }
            let remaining = t.open_remaining();
            if entry.amount_minor > remaining {
                return Err(LedgerError::CaptureExceedsAuthorized {
                    requested: entry.amount_minor,
                    remaining,
                });
            }
            Ok(())
        }
        EntryKind::Void | EntryKind::Expiry => {
            if t.authorized == 0 || t.closed.is_some() || t.open_remaining() == 0 {
                return Err(LedgerError::NoOpenAuthorization(pid()));
            }
            Ok(())
        }
        EntryKind::Refund => {
            let remaining = t.captured - t.refunded;
            if entry.amount_minor > remaining {
                return Err(LedgerError::RefundExceedsCaptured {
                    requested: entry.amount_minor,
                    remaining,
                });
            }
            Ok(())
        }
    }
}

/// The order's payment state, derived from all its payments' entries.
pub fn derive_state(entries: &[LedgerEntry]) -> PaymentState {
    if entries.is_empty() {
        return PaymentState::Unpaid;
    }
    let mut ids: Vec<&Id> = entries.iter().map(|e| &e.payment_id).collect();
    ids.sort();
    ids.dedup();
    let mut sum = PaymentTotals::default();
    let mut all_closed_by = None;
    let mut any_open = false;
    for id in ids {
        let t = PaymentTotals::of(entries, id);
        sum.authorized += t.authorized;
        sum.captured += t.captured;
        sum.refunded += t.refunded;
        sum.failures += t.failures;
        if t.authorized > 0 {
            match t.closed {
                Some(kind) => all_closed_by = Some(kind),
                None => any_open = true,
            }
        }
    }
    if sum.refunded > 0 {
        return if sum.refunded >= sum.captured {
            PaymentState::Refunded
        } else {
            PaymentState::PartiallyRefunded
        };
    }
    if sum.captured > 0 {
        return if sum.captured >= sum.authorized || !any_open {
            PaymentState::Captured
        } else {
            PaymentState::PartiallyCaptured
        };
    }
    if sum.authorized > 0 {
        return match (any_open, all_closed_by) {
            (true, _) => PaymentState::Authorized,
            (false, Some(EntryKind::Expiry)) => PaymentState::Expired,
            (false, _) => PaymentState::Voided,
        };
    }
    PaymentState::Failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, amount: i64) -> LedgerEntry {
        LedgerEntry {
            payment_id: Id::new("pay_1"),
            kind,
            amount_minor: amount,
            provider_reference: None,
            idempotency_key: format!("{kind:?}-{amount}"),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    /// Given the entries, when `next` is appended, then the check answers `expected`.
    fn given_when(
        given: &[(EntryKind, i64)],
        next: (EntryKind, i64),
    ) -> Result<PaymentState, LedgerError> {
        let mut entries: Vec<LedgerEntry> = Vec::new();
        for &(k, a) in given {
            let e = entry(k, a);
            check_append(&entries, &e).expect("given entries are legal");
            entries.push(e);
        }
        let e = entry(next.0, next.1);
        check_append(&entries, &e)?;
        entries.push(e);
        Ok(derive_state(&entries))
    }

    use EntryKind::*;

    #[test]
    fn empty_ledger_is_unpaid_and_a_lone_failure_is_failed() {
        assert_eq!(derive_state(&[]), PaymentState::Unpaid);
        assert_eq!(given_when(&[], (Failure, 100)), Ok(PaymentState::Failed));
    }

    #[test]
    fn capture_moves_through_partial_to_full() {
        assert_eq!(
            given_when(&[], (Authorize, 100)),
            Ok(PaymentState::Authorized)
        );
        assert_eq!(
            given_when(&[(Authorize, 100)], (Capture, 40)),
            Ok(PaymentState::PartiallyCaptured)
        );
        assert_eq!(
            given_when(&[(Authorize, 100), (Capture, 40)], (Capture, 60)),
            Ok(PaymentState::Captured)
        );
    }

    #[test]
    fn void_after_partial_capture_releases_the_remainder() {
        assert_eq!(
            given_when(&[(Authorize, 100), (Capture, 40)], (Void, 0)),
            Ok(PaymentState::Captured)
        );
        assert_eq!(
            given_when(&[(Authorize, 100)], (Void, 0)),
            Ok(PaymentState::Voided)
        );
        assert_eq!(
            given_when(&[(Authorize, 100)], (Expiry, 0)),
            Ok(PaymentState::Expired)
        );
    }

    #[test]
    fn invariants_refuse_over_capture_over_refund_and_double_endings() {
        assert_eq!(
            given_when(&[(Authorize, 100)], (Capture, 101)),
            Err(LedgerError::CaptureExceedsAuthorized {
                requested: 101,
                remaining: 100
            })
        );
        assert_eq!(
            given_when(&[(Authorize, 100), (Capture, 100)], (Refund, 60)),
            Ok(PaymentState::PartiallyRefunded)
        );
        assert_eq!(
            given_when(
                &[(Authorize, 100), (Capture, 100), (Refund, 60)],
                (Refund, 60)
            ),
            Err(LedgerError::RefundExceedsCaptured {
                requested: 60,
                remaining: 40
            })
        );
        assert!(given_when(&[(Authorize, 100), (Void, 0)], (Capture, 10)).is_err());
        assert!(given_when(&[(Authorize, 100), (Void, 0)], (Expiry, 0)).is_err());
        assert!(given_when(&[(Authorize, 100), (Capture, 100)], (Void, 0)).is_err());
        assert_eq!(
            given_when(&[], (Authorize, 0)),
            Err(LedgerError::NonPositiveAmount)
        );
        assert_eq!(
            given_when(&[], (Capture, 10)),
            Err(LedgerError::NoOpenAuthorization("pay_1".into()))
        );
    }
}
