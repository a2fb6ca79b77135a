//! The return (RMA) state machine and item dispositions. Returns are their own machine
//! because a return moves on its own clock (the parcel, the inspection) long after the
//! order it belongs to has been delivered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnState {
    Requested,
    Authorized,
    NeedsReview,
    Rejected,
    InTransit,
    Received,
    Inspected,
    Completed,
    Cancelled,
    Expired,
}

/// What happens to a returned item after inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Restock,
    Quarantine,
    Scrap,
    Refurbish,
    ReturnToCustomer,
}

impl ReturnState {
    pub fn can_transition_to(self, to: ReturnState) -> bool {
        use ReturnState::*;
        matches!(
            (self, to),
            (Requested, Authorized | NeedsReview | Rejected)
                | (NeedsReview, Authorized | Rejected)
                | (Authorized, InTransit | Received | Expired)
                | (InTransit, Received)
                | (Received, Inspected)
                | (Inspected, Completed)
                | (Requested | NeedsReview | Authorized, Cancelled)
        )
    }

    pub fn is_terminal(self) -> bool {
        use ReturnState::*;
        matches!(self, Rejected | Completed | Cancelled | Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::ReturnState::*;

    const ALL: [super::ReturnState; 10] = [
        Requested,
        Authorized,
        NeedsReview,
        Rejected,
        InTransit,
        Received,
        Inspected,
        Completed,
        Cancelled,
        Expired,
    ];

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
        ] {
            assert!(a.can_transition_to(b), "{a:?} -> {b:?}");
        }
    }

    #[test]
    fn received_goods_cannot_be_cancelled_and_terminal_states_stay() {
        assert!(!Received.can_transition_to(Cancelled));
        assert!(!InTransit.can_transition_to(Cancelled));
        assert!(
            !Requested.can_transition_to(Completed),
            "inspection cannot be skipped"
        );
        for from in ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in ALL {
                assert!(!from.can_transition_to(to), "{from:?} -> {to:?}");
            }
        }
    }
}
