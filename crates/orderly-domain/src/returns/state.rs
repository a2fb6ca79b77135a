//! The return (RMA) state machine and the two facts kept per returned unit. A return moves
//! on its own clock (the parcel, the inspection) long after its order was delivered, and
//! the goods and the money are separate facts: `state` follows the goods, and what is
//! shown (`refund_pending`, `refund_failed`) is derived from the refund beside it, so a
//! refused refund can never read as "reimbursed".

snake_enum!(
    ReturnState {
        Requested => "requested",
        NeedsReview => "needs_review",
        Authorized => "authorized",
        Rejected => "rejected",
        InTransit => "in_transit",
        /// The carrier lost the parcel: still open, found later or resolved by a person.
        Lost => "lost",
        /// At least one unit arrived; more may follow.
        Received => "received",
        /// Every arrived unit has its acceptance, condition and disposition.
        Inspected => "inspected",
        /// Shown while the return's refund waits for its provider.
        RefundPending => "refund_pending",
        /// Shown while the return's refund was refused and waits for a retry.
        RefundFailed => "refund_failed",
        Completed => "completed",
        Cancelled => "cancelled",
        Expired => "expired",
    }
);

impl ReturnState {
    /// The moves of the goods. Money is not a state here: a refund may be asked at any
    /// open stage the policy's timing names, and only completion waits for it.
    pub fn can_transition_to(self, to: ReturnState) -> bool {
        use ReturnState::*;
        matches!(
            (self, to),
            (Requested, Authorized | NeedsReview | Rejected)
                | (NeedsReview, Authorized | Rejected | Cancelled)
                | (
                    Authorized,
                    InTransit | Received | Expired | Cancelled | Completed
                )
                | (InTransit, Lost | Received)
                | (Lost, Received | Completed | Cancelled)
                | (Received, Received | Inspected)
                | (Inspected, Received | Completed)
        )
    }

    pub fn is_terminal(self) -> bool {
        use ReturnState::*;
        matches!(self, Rejected | Completed | Cancelled | Expired)
    }

    /// Its units count in the line's `return_requested` bucket (and cannot be asked again).
    pub fn holds_units(self) -> bool {
        use ReturnState::*;
        !matches!(self, Rejected | Cancelled | Expired)
    }
}

snake_enum!(
    /// What happens to a returned unit after inspection.
    Disposition {
        /// Back into sellable stock at the receiving location.
        Restock => "restock",
        /// Into the location's quarantine: never sellable until released or scrapped.
        Quarantine => "quarantine",
        Scrap => "scrap",
        /// Held for refurbishment (in quarantine until it is released).
        Refurbish => "refurbish",
        ReturnToCustomer => "return_to_customer",
    }
);

snake_enum!(
    /// Whether a unit came back.
    Reception {
        Awaiting => "awaiting",
        Received => "received",
        LostInTransit => "lost_in_transit",
        /// Something else came back in its place.
        WrongItem => "wrong_item",
        /// The receipt was closed without it.
        Short => "short",
    }
);

snake_enum!(
    /// Whether a received unit is accepted for the return's outcome.
    Acceptance {
        Pending => "pending",
        Accepted => "accepted",
        Rejected => "rejected",
        NeedsManualDecision => "needs_manual_decision",
    }
);

#[cfg(test)]
mod tests {
    use super::ReturnState::{self, *};

    #[test]
    fn happy_path_and_review_path() {
        for (a, b) in [
            (Requested, Authorized),
            (Authorized, InTransit),
            (InTransit, Received),
            (Received, Inspected),
            (Inspected, Completed),
            (Requested, NeedsReview),
            (NeedsReview, Authorized),
            (NeedsReview, Rejected),
            (InTransit, Lost),
            (Lost, Received),
        ] {
            assert!(a.can_transition_to(b), "{a:?} -> {b:?}");
        }
    }

    #[test]
    fn received_goods_cannot_be_cancelled_and_terminal_states_stay() {
        assert!(!Received.can_transition_to(Cancelled));
        assert!(!InTransit.can_transition_to(Cancelled));
        assert!(!Requested.can_transition_to(Completed));
        assert!(
            !InTransit.can_transition_to(Completed),
            "receipt cannot be skipped"
        );
        for from in ReturnState::ALL.iter().filter(|s| s.is_terminal()) {
            for to in ReturnState::ALL {
                assert!(!from.can_transition_to(*to), "{from:?} -> {to:?}");
            }
        }
    }
}
