//! Stock per (SKU, location) and the rules for changing it by hand. Inventory lives outside
//! the order stream because many orders compete for it; every change is a movement with a
//! reason so a count can always be explained.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementReason {
    Receipt,
    CycleCount,
    Damage,
    Correction,
    /// Stock held for an order line.
    Reservation,
    /// A reservation given back (cancellation, re-sourcing).
    Release,
    /// Reserved units the picker did not find: gone from on hand and from the reservation.
    ShortPick,
    /// Units that left in a shipment.
    Shipment,
    /// A returned unit back into on hand at the receiving location.
    ReturnRestock,
    /// A returned unit into quarantine: held at the location, never sellable.
    ReturnQuarantine,
    /// A returned unit scrapped on receipt: no stock changes, but the unit is accounted.
    ReturnScrap,
    /// A returned unit sent back to the customer: no stock changes, but it is recorded.
    ReturnToCustomer,
    /// Quarantined units released into on hand.
    QuarantineRelease,
    /// Quarantined units scrapped: gone from quarantine.
    QuarantineScrap,
    /// A quarantined returned unit sent back to the customer after a person's decision.
    QuarantineToCustomer,
}

impl MovementReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementReason::Receipt => "receipt",
            MovementReason::CycleCount => "cycle_count",
            MovementReason::Damage => "damage",
            MovementReason::Correction => "correction",
            MovementReason::Reservation => "reservation",
            MovementReason::Release => "release",
            MovementReason::ShortPick => "short_pick",
            MovementReason::Shipment => "shipment",
            MovementReason::ReturnRestock => "return_restock",
            MovementReason::ReturnQuarantine => "return_quarantine",
            MovementReason::ReturnScrap => "return_scrap",
            MovementReason::ReturnToCustomer => "return_to_customer",
            MovementReason::QuarantineRelease => "quarantine_release",
            MovementReason::QuarantineScrap => "quarantine_scrap",
            MovementReason::QuarantineToCustomer => "quarantine_to_customer",
        }
    }

    /// Every reason, in the order the API documents them.
    pub const ALL: [MovementReason; 15] = {
        use MovementReason::*;
        [
            Receipt,
            CycleCount,
            Damage,
            Correction,
            Reservation,
            Release,
            ShortPick,
            Shipment,
            ReturnRestock,
            ReturnQuarantine,
            ReturnScrap,
            ReturnToCustomer,
            QuarantineRelease,
            QuarantineScrap,
            QuarantineToCustomer,
        ]
    };

    pub fn parse(s: &str) -> Option<MovementReason> {
        MovementReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// How a movement of returned (or quarantined) units changes the levels, per unit:
    /// (on hand, quarantine); None for a reason that is not about returned units. A
    /// scrapped or sent-back return changes neither, but is still a movement.
    pub fn returned_unit_deltas(self) -> Option<(i64, i64)> {
        use MovementReason::*;
        match self {
            ReturnRestock => Some((1, 0)),
            ReturnQuarantine => Some((0, 1)),
            ReturnScrap | ReturnToCustomer => Some((0, 0)),
            QuarantineRelease => Some((1, -1)),
            QuarantineScrap | QuarantineToCustomer => Some((0, -1)),
            Receipt | CycleCount | Damage | Correction | Reservation | Release | ShortPick
            | Shipment => None,
        }
    }
}

/// Current numbers for one (SKU, location).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockLevel {
    pub on_hand: i64,
    pub reserved: i64,
    /// Returned units held apart (never sellable, not part of on hand).
    pub quarantine: i64,
}

impl StockLevel {
    /// What may be sold: on hand less reserved; quarantined units are not on hand.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// A manual stock change as a person or an integration asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// Goods arrived: on hand grows by `quantity` (> 0).
    Receipt { quantity: i64 },
    /// Goods found broken: on hand shrinks by `quantity` (> 0).
    Damage { quantity: i64 },
    /// A signed fix of a booking error (≠ 0).
    Correction { delta: i64 },
    /// A physical count replaces on hand, but only if nobody changed it since the counter
    /// last looked (`expected_on_hand`); otherwise the count is stale.
    CycleCount { counted: i64, expected_on_hand: i64 },
}

impl Adjustment {
    /// The request field that carries this adjustment's number, for naming it in an error.
    pub fn field(&self) -> &'static str {
        match self {
            Adjustment::Receipt { .. } | Adjustment::Damage { .. } => "quantity",
            Adjustment::Correction { .. } => "delta",
            Adjustment::CycleCount { .. } => "counted",
        }
    }

    pub fn reason(&self) -> MovementReason {
        match self {
            Adjustment::Receipt { .. } => MovementReason::Receipt,
            Adjustment::Damage { .. } => MovementReason::Damage,
            Adjustment::Correction { .. } => MovementReason::Correction,
            Adjustment::CycleCount { .. } => MovementReason::CycleCount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    #[error("quantity must be greater than zero")]
    NonPositive,
    #[error("a correction must change the count")]
    ZeroCorrection,
    #[error("the count is stale: expected {expected} on hand but there are {actual}")]
    StaleCount { expected: i64, actual: i64 },
    #[error("on hand would become {on_hand}, below the {reserved} reserved for orders")]
    BelowReserved { on_hand: i64, reserved: i64 },
    #[error("on hand would become {on_hand}, above the most one location holds (10^9)")]
    AboveMaximum { on_hand: i64 },
}

impl AdjustmentError {
    pub fn code(&self) -> &'static str {
        match self {
            AdjustmentError::NonPositive => "must_be_positive",
            AdjustmentError::ZeroCorrection => "must_not_be_zero",
            AdjustmentError::StaleCount { .. } => "stale_count",
            AdjustmentError::BelowReserved { .. } => "below_reserved",
            AdjustmentError::AboveMaximum { .. } => "above_maximum_on_hand",
        }
    }
}

/// Largest on-hand count accepted for one (SKU, location).
pub const MAX_ON_HAND: i64 = 1_000_000_000;

/// Decides the on-hand delta of `adjustment` against `level`. Reserved units cannot be
/// adjusted away: they belong to orders, which must be re-sourced or cancelled first.
pub fn decide_adjustment(
    level: StockLevel,
    adjustment: Adjustment,
) -> Result<i64, AdjustmentError> {
    let delta = match adjustment {
        Adjustment::Receipt { quantity } | Adjustment::Damage { quantity } if quantity <= 0 => {
            return Err(AdjustmentError::NonPositive);
        }
        Adjustment::Receipt { quantity } => quantity,
        Adjustment::Damage { quantity } => -quantity,
        Adjustment::Correction { delta: 0 } => return Err(AdjustmentError::ZeroCorrection),
        Adjustment::Correction { delta } => delta,
        Adjustment::CycleCount { counted, .. } if counted < 0 => {
            return Err(AdjustmentError::NonPositive);
        }
        Adjustment::CycleCount {
            counted,
            expected_on_hand,
        } => {
            if expected_on_hand != level.on_hand {
                return Err(AdjustmentError::StaleCount {
                    expected: expected_on_hand,
                    actual: level.on_hand,
                });
            }
            counted - level.on_hand
        }
    };
    let on_hand = level.on_hand.saturating_add(delta);
    if on_hand > MAX_ON_HAND {
        return Err(AdjustmentError::AboveMaximum { on_hand });
    }
    if on_hand < level.reserved {
        return Err(AdjustmentError::BelowReserved {
            on_hand,
            reserved: level.reserved,
        });
    }
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: StockLevel = StockLevel {
        on_hand: 10,
        reserved: 4,
        quarantine: 0,
    };

    #[test]
    fn every_reason_reads_back_from_its_name() {
        for reason in MovementReason::ALL {
            assert_eq!(MovementReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(MovementReason::parse("return"), None);
    }

    #[test]
    fn only_return_reasons_move_returned_units() {
        let moving: Vec<&str> = MovementReason::ALL
            .into_iter()
            .filter(|r| r.returned_unit_deltas().is_some())
            .map(MovementReason::as_str)
            .collect();
        assert_eq!(
            moving,
            [
                "return_restock",
                "return_quarantine",
                "return_scrap",
                "return_to_customer",
                "quarantine_release",
                "quarantine_scrap",
                "quarantine_to_customer"
            ]
        );
        // A manual adjustment never takes a return's reason.
        for a in [
            Adjustment::Receipt { quantity: 1 },
            Adjustment::Damage { quantity: 1 },
            Adjustment::Correction { delta: 1 },
            Adjustment::CycleCount {
                counted: 1,
                expected_on_hand: 1,
            },
        ] {
            assert_eq!(a.reason().returned_unit_deltas(), None);
        }
    }

    #[test]
    fn receipts_damage_and_corrections_move_on_hand() {
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Receipt { quantity: 5 }),
            Ok(5)
        );
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Damage { quantity: 6 }),
            Ok(-6)
        );
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Correction { delta: -2 }),
            Ok(-2)
        );
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Receipt { quantity: 0 }),
            Err(AdjustmentError::NonPositive)
        );
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Correction { delta: 0 }),
            Err(AdjustmentError::ZeroCorrection)
        );
    }

    #[test]
    fn on_hand_never_exceeds_the_maximum() {
        assert_eq!(
            decide_adjustment(
                LEVEL,
                Adjustment::Receipt {
                    quantity: MAX_ON_HAND
                }
            ),
            Err(AdjustmentError::AboveMaximum {
                on_hand: MAX_ON_HAND + 10
            })
        );
        assert_eq!(Adjustment::Receipt { quantity: 1 }.field(), "quantity");
        assert_eq!(Adjustment::Correction { delta: 1 }.field(), "delta");
        let count = Adjustment::CycleCount {
            counted: 1,
            expected_on_hand: 10,
        };
        assert_eq!(count.field(), "counted");
    }

    #[test]
    fn reserved_units_cannot_be_adjusted_away() {
        assert_eq!(
            decide_adjustment(LEVEL, Adjustment::Damage { quantity: 7 }),
            Err(AdjustmentError::BelowReserved {
                on_hand: 3,
                reserved: 4
            })
        );
    }

    #[test]
    fn a_cycle_count_on_a_stale_value_fails_instead_of_overwriting() {
        assert_eq!(
            decide_adjustment(
                LEVEL,
                Adjustment::CycleCount {
                    counted: 8,
                    expected_on_hand: 10
                }
            ),
            Ok(-2)
        );
        assert_eq!(
            decide_adjustment(
                LEVEL,
                Adjustment::CycleCount {
                    counted: 8,
                    expected_on_hand: 12
                }
            ),
            Err(AdjustmentError::StaleCount {
                expected: 12,
                actual: 10
            })
        );
    }
}
