//! The state machine of a fulfillment order (the part of an order shipped from one
//! location). Exceptions such as a delay are flags beside the state, not states, because a
//! delayed parcel is still in transit and must keep moving forward.

use serde::{Deserialize, Serialize};

snake_enum!(
    /// Ordered along the warehouse path: a later state is greater.
    #[derive(PartialOrd, Ord)]
    FulfillmentState {
        Pending => "pending",
        Released => "released",
        Picking => "picking",
        Packed => "packed",
        Shipped => "shipped",
        InTransit => "in_transit",
        OutForDelivery => "out_for_delivery",
        Delivered => "delivered",
        Cancelled => "cancelled",
    }
);

snake_enum!(
    /// A carrier's normalized scan of a shipment.
    TrackingStatus {
        LabelCreated => "label_created",
        PickedUp => "picked_up",
        InTransit => "in_transit",
        OutForDelivery => "out_for_delivery",
        /// Waiting at a counter or parcel point for the customer to collect.
        ReadyForPickup => "ready_for_pickup",
        AttemptedDelivery => "attempted_delivery",
        Delayed => "delayed",
        Exception => "exception",
        Delivered => "delivered",
        ReturnedToSender => "returned_to_sender",
        Lost => "lost",
    }
);

impl TrackingStatus {
    /// How far along the way a scan says the parcel is; exceptions say nothing about
    /// progress (None) and become flags instead.
    pub fn progress(self) -> Option<u8> {
        use TrackingStatus::*;
        match self {
            LabelCreated => Some(0),
            PickedUp => Some(1),
            InTransit => Some(2),
            // The last leg either way: on the van, or on the shelf for the customer.
            OutForDelivery | ReadyForPickup => Some(3),
            Delivered => Some(4),
            AttemptedDelivery | Delayed | Exception | ReturnedToSender | Lost => None,
        }
    }

    /// The exception a scan raises, if any.
    pub fn flag(self) -> Option<ExceptionFlag> {
        use TrackingStatus::*;
        match self {
            AttemptedDelivery => Some(ExceptionFlag::DeliveryFailed),
            Delayed | Exception => Some(ExceptionFlag::Delayed),
            ReturnedToSender => Some(ExceptionFlag::ReturnedToSender),
            Lost => Some(ExceptionFlag::Lost),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionFlag {
    Delayed,
    DeliveryFailed,
    Lost,
    ReturnedToSender,
}

impl FulfillmentState {
    /// Whether the warehouse or a carrier may move a fulfillment order from `self` to `to`.
    /// Carrier scans may skip intermediate states (a parcel can be delivered without an
    /// out-for-delivery scan) but never go backwards; cancelling stops once goods left.
    pub fn can_transition_to(self, to: FulfillmentState) -> bool {
        use FulfillmentState::*;
        matches!(
            (self, to),
            (Pending, Released)
                | (Released, Picking)
                | (Picking, Packed)
                | (Packed, Shipped)
                | (Pending | Released | Picking | Packed, Cancelled)
                | (Shipped, InTransit | OutForDelivery | Delivered)
                | (InTransit, OutForDelivery | Delivered)
                | (OutForDelivery, Delivered)
        )
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            FulfillmentState::Delivered | FulfillmentState::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::FulfillmentState::*;
    use super::*;

    #[test]
    fn the_warehouse_path_is_linear() {
        let path = [
            Pending,
            Released,
            Picking,
            Packed,
            Shipped,
            InTransit,
            OutForDelivery,
            Delivered,
        ];
        for pair in path.windows(2) {
            assert!(
                pair[0].can_transition_to(pair[1]),
                "{:?} -> {:?}",
                pair[0],
                pair[1]
            );
        }
        assert!(
            !Pending.can_transition_to(Picking),
            "release cannot be skipped"
        );
        assert!(
            !Released.can_transition_to(Shipped),
            "pick and pack cannot be skipped"
        );
    }

    #[test]
    fn nothing_moves_backwards_or_out_of_a_terminal_state() {
        for &from in FulfillmentState::ALL {
            for &to in FulfillmentState::ALL {
                if from.can_transition_to(to) && to != Cancelled {
                    assert!(to > from, "{from:?} -> {to:?} goes backwards");
                }
                if from.is_terminal() {
                    assert!(!from.can_transition_to(to), "{from:?} is terminal");
                }
            }
        }
    }

    #[test]
    fn cancel_is_possible_only_before_shipping() {
        for from in [Pending, Released, Picking, Packed] {
            assert!(from.can_transition_to(Cancelled));
        }
        for from in [Shipped, InTransit, OutForDelivery, Delivered] {
            assert!(!from.can_transition_to(Cancelled));
        }
    }
}
