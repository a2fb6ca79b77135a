//! The payment ledger and the payment state derived from it. Authorize, capture and refund
//! are different facts with different money; keeping them as an append-only ledger (never a
//! status field) means the state can always be recomputed and audited.

use crate::Timestamp;
use crate::order::MAX_AMOUNT_MINOR;
use crate::values::Id;
use serde::{Deserialize, Serialize};

snake_enum!(
    /// The payment machine's state, derived from the ledger.
    PaymentState {
        Unpaid => "unpaid",
        Authorized => "authorized",
        PartiallyCaptured => "partially_captured",
        Captured => "captured",
        PartiallyRefunded => "partially_refunded",
        Refunded => "refunded",
        Voided => "voided",
        Failed => "failed",
        Expired => "expired",
    }
);

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
    /// Releases part of an open authorization (less than its uncaptured remainder) and
    /// keeps the rest open: what an edit that lowers an uncaptured order leaves.
    Reduce,
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
    #[error("amounts must be between 1 and 10^13 minor units (zero for a void or expiry)")]
    NonPositiveAmount,
    #[error("payment {0} is already authorized")]
    AlreadyAuthorized(String),
    #[error("payment {0} has no open authorization")]
    NoOpenAuthorization(String),
    #[error("capture of {requested} exceeds the {remaining} still authorized")]
    CaptureExceedsAuthorized { requested: i64, remaining: i64 },
    #[error("a reduction of {requested} must leave part of the {remaining} still authorized")]
    ReductionNotBelowRemaining { requested: i64, remaining: i64 },
    #[error("refund of {requested} exceeds the {remaining} captured and not refunded")]
    RefundExceedsCaptured { requested: i64, remaining: i64 },
}

/// Money per payment, summed from its entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentTotals {
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    /// Authorized money released by reductions while the authorization stays open.
    pub reduced: i64,
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
                EntryKind::Reduce => t.reduced += e.amount_minor,
                EntryKind::Failure => t.failures += 1,
                EntryKind::Void | EntryKind::Expiry => t.closed = Some(e.kind),
            }
        }
        t
    }

    /// Authorized money not captured yet, while the authorization is open.
    pub(crate) fn open_remaining(&self) -> i64 {
        if self.closed.is_some() {
            0
        } else {
            self.authorized - self.captured - self.reduced
        }
    }
}

/// Checks that `entry` may be appended to `entries`: the ledger invariants
/// (captured ≤ authorized, refunded ≤ captured, amounts > 0, one ending per authorization).
pub fn check_append(entries: &[LedgerEntry], entry: &LedgerEntry) -> Result<(), LedgerError> {
    let t = PaymentTotals::of(entries, &entry.payment_id);
    // A void or expiry releases whatever remains, so it carries no amount of its own.
    let needs_amount = !matches!(entry.kind, EntryKind::Void | EntryKind::Expiry);
    if needs_amount && !(1..=MAX_AMOUNT_MINOR).contains(&entry.amount_minor) {
        return Err(LedgerError::NonPositiveAmount);
    }
    if !needs_amount && entry.amount_minor != 0 {
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
        // A reduction leaves part of the authorization open: releasing all of it is a void.
        EntryKind::Reduce => {
            if t.authorized == 0 || t.closed.is_some() {
                return Err(LedgerError::NoOpenAuthorization(pid()));
            }
            let remaining = t.open_remaining();
            if entry.amount_minor >= remaining {
                return Err(LedgerError::ReductionNotBelowRemaining {
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
    let (mut any_open, mut any_void, mut any_expiry) = (false, false, false);
    for id in ids {
        let t = PaymentTotals::of(entries, id);
        sum.authorized += t.authorized;
        sum.captured += t.captured;
        sum.refunded += t.refunded;
        sum.failures += t.failures;
        // "Open" means money could still be captured; a fully captured authorization
        // is as finished as a voided one.
        any_open |= t.authorized > 0 && t.open_remaining() > 0;
        any_void |= t.closed == Some(EntryKind::Void);
        any_expiry |= t.closed == Some(EntryKind::Expiry);
    }
    if sum.refunded > 0 {
        return if sum.refunded >= sum.captured && !any_open {
            PaymentState::Refunded
        } else {
            PaymentState::PartiallyRefunded
        };
    }
    if sum.captured > 0 {
        return if any_open {
            PaymentState::PartiallyCaptured
        } else {
            PaymentState::Captured
        };
    }
    if sum.authorized > 0 {
        return match (any_open, any_void, any_expiry) {
            (true, _, _) => PaymentState::Authorized,
            // A customer-side lapse is the more telling fact when both happened.
            (false, _, true) => PaymentState::Expired,
            (false, _, false) => PaymentState::Voided,
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

    /// Two payments that, between them, captured everything that can still be captured
    /// (one fully captured, the other voided) should read the same as one payment that
    /// captured part and voided the rest: `Captured`, not `PartiallyCaptured`.
    #[test]
    fn fully_captured_plus_voided_payment_is_captured() {
        let on = |id: &str, kind: EntryKind, amount: i64| LedgerEntry {
            payment_id: Id::new(id),
            ..entry(kind, amount)
        };
        let two = [
            on("pay_1", Authorize, 100),
            on("pay_1", Capture, 100),
            on("pay_2", Authorize, 50),
            on("pay_2", Void, 0),
        ];
        let one = [
            on("pay_1", Authorize, 150),
            on("pay_1", Capture, 100),
            on("pay_1", Void, 0),
        ];
        assert_eq!(derive_state(&one), PaymentState::Captured);
        assert_eq!(derive_state(&two), PaymentState::Captured);
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        const PAYMENTS: [&str; 2] = ["pay_1", "pay_2"];

        fn kind() -> impl Strategy<Value = EntryKind> {
            prop::sample::select(vec![
                Authorize, Capture, Void, Expiry, Refund, Failure, Reduce,
            ])
        }

        /// A minimal model of one payment, used as an oracle for `check_append`.
        #[derive(Debug, Default, Clone, Copy)]
        struct Model {
            authorized: i64,
            captured: i64,
            refunded: i64,
            reduced: i64,
            closed: bool,
        }

        impl Model {
            fn accepts(&self, kind: EntryKind, amount: i64) -> bool {
                match kind {
                    Authorize => amount > 0 && self.authorized == 0,
                    Failure => amount > 0,
                    Capture => {
                        amount > 0 && self.authorized > 0 && !self.closed && amount <= self.open()
                    }
                    Reduce => {
                        amount > 0 && self.authorized > 0 && !self.closed && amount < self.open()
                    }
                    Void | Expiry => {
                        amount == 0 && self.authorized > 0 && !self.closed && self.open() > 0
                    }
                    Refund => amount > 0 && amount <= self.captured - self.refunded,
                }
            }

            fn open(&self) -> i64 {
                self.authorized - self.captured - self.reduced
            }

            fn apply(&mut self, kind: EntryKind, amount: i64) {
                match kind {
                    Authorize => self.authorized += amount,
                    Capture => self.captured += amount,
                    Refund => self.refunded += amount,
                    Reduce => self.reduced += amount,
                    Void | Expiry => self.closed = true,
                    Failure => {}
                }
            }
        }

        fn check_invariants(entries: &[LedgerEntry]) -> Result<(), TestCaseError> {
            let mut sum = PaymentTotals::default();
            let mut any_open = false;
            let mut closed_by = Vec::new();
            for pid in PAYMENTS.map(Id::new) {
                let mine: Vec<&LedgerEntry> =
                    entries.iter().filter(|e| e.payment_id == pid).collect();
                let t = PaymentTotals::of(entries, &pid);
                prop_assert!(0 <= t.refunded && t.refunded <= t.captured, "{pid}: {t:?}");
                prop_assert!(t.captured + t.reduced <= t.authorized, "{pid}: {t:?}");
                let count = |k: EntryKind| mine.iter().filter(|e| e.kind == k).count();
                prop_assert!(count(Authorize) <= 1, "{pid} authorized twice");
                prop_assert!(count(Void) + count(Expiry) <= 1, "{pid} ended twice");
                for e in &mine {
                    if !matches!(e.kind, Void | Expiry) {
                        prop_assert!(e.amount_minor > 0, "{e:?}");
                    }
                }
                // An ending comes after the authorization, leaves something uncaptured,
                // and nothing is captured after it.
                if let Some(end) = mine.iter().position(|e| matches!(e.kind, Void | Expiry)) {
                    let before = PaymentTotals::of(
                        &mine[..end].iter().map(|e| (*e).clone()).collect::<Vec<_>>(),
                        &pid,
                    );
                    prop_assert!(before.authorized > 0);
                    prop_assert!(before.captured < before.authorized);
                    prop_assert!(mine[end..].iter().all(|e| e.kind != Capture));
                    closed_by.push(mine[end].kind);
                } else if t.authorized > t.captured + t.reduced {
                    // Open means something could still be captured: what was reduced
                    // away can no more be captured than what was captured already.
                    any_open = true;
                }
                sum.authorized += t.authorized;
                sum.captured += t.captured;
                sum.refunded += t.refunded;
                sum.reduced += t.reduced;
                sum.failures += t.failures;
            }

            let state = derive_state(entries);
            prop_assert_eq!(state == PaymentState::Unpaid, entries.is_empty());
            match state {
                PaymentState::Unpaid => {}
                PaymentState::Refunded => {
                    prop_assert!(sum.captured > 0 && sum.refunded == sum.captured, "{sum:?}");
                    prop_assert!(!any_open, "refunded while an authorization is open");
                }
                PaymentState::PartiallyRefunded => {
                    prop_assert!(0 < sum.refunded, "{sum:?}");
                    prop_assert!(sum.refunded < sum.captured || any_open, "{sum:?}");
                }
                PaymentState::Captured => {
                    prop_assert!(sum.captured > 0 && sum.refunded == 0, "{sum:?}");
                    prop_assert!(!any_open, "captured with an open authorization: {sum:?}");
                }
                PaymentState::PartiallyCaptured => {
                    prop_assert!(sum.refunded == 0, "{sum:?}");
                    prop_assert!(0 < sum.captured && sum.captured < sum.authorized, "{sum:?}");
                    prop_assert!(any_open, "partially captured with nothing open");
                }
                PaymentState::Authorized => {
                    prop_assert!(sum.captured == 0 && sum.refunded == 0, "{sum:?}");
                    prop_assert!(any_open, "authorized with nothing open");
                }
                PaymentState::Voided | PaymentState::Expired => {
                    prop_assert!(sum.authorized > 0 && sum.captured == 0, "{sum:?}");
                    prop_assert!(!any_open, "{state:?} with an open authorization");
                    let kind = if state == PaymentState::Voided {
                        Void
                    } else {
                        Expiry
                    };
                    prop_assert!(closed_by.contains(&kind), "{state:?} but {closed_by:?}");
                }
                PaymentState::Failed => {
                    prop_assert!(sum.authorized == 0 && sum.failures > 0, "{sum:?}");
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn random_ledgers_accept_only_appends_that_keep_the_invariants(
                ops in vec(
                    (
                        0..PAYMENTS.len(),
                        kind(),
                        prop_oneof![8 => 1i64..=150, 1 => -10i64..=0, 2 => Just(0i64)],
                    ),
                    0..40,
                )
            ) {
                let mut entries: Vec<LedgerEntry> = Vec::new();
                let mut models = [Model::default(); 2];
                check_invariants(&entries)?;
                for (n, (p, kind, amount)) in ops.into_iter().enumerate() {
                    let e = LedgerEntry {
                        payment_id: Id::new(PAYMENTS[p]),
                        kind,
                        amount_minor: amount,
                        provider_reference: Some(format!("prov_{n}")),
                        idempotency_key: format!("key_{n}"),
                        at: Timestamp::from_second(n as i64).unwrap(),
                    };
                    let verdict = check_append(&entries, &e);
                    prop_assert_eq!(
                        verdict.is_ok(),
                        models[p].accepts(kind, amount),
                        "{:?} {} on {:?}: {:?}",
                        kind,
                        amount,
                        models[p],
                        verdict
                    );
                    if verdict.is_ok() {
                        models[p].apply(kind, amount);
                        entries.push(e);
                        check_invariants(&entries)?;
                    }
                }
            }
        }
    }
}
