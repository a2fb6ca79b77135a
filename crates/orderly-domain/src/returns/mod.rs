//! Returns (RMAs). A return is judged by the policy version in force when its order was
//! placed, by a pure function of the request, the order's facts and that policy, so the
//! same request is always answered the same way and a draft policy can be replayed over
//! past requests without writing anything. The return's own workflow (authorization,
//! transit, receipt, inspection, resolution) lives in the order aggregate, which owns the
//! money and the units it moves.

pub mod backtest;
pub mod eligibility;
pub mod judgement;
pub mod policy;
pub mod reasons;
pub mod state;

#[cfg(test)]
mod backtest_tests;
#[cfg(test)]
mod eligibility_review_tests;
#[cfg(test)]
mod eligibility_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod test_policy;

pub use eligibility::judge;
pub use judgement::{
    AskedItem, ExchangeTerms, Judgement, LineFacts, Outcome, RefundTiming, Replacement, ReturnAsk,
    ReturnFacts, ReturnHistory, ReturnShipping, Rule, Wanted,
};
pub use policy::{
    ExchangeAllowed, ExchangeRules, LateRequests, Limit, PolicyBook, PriceDifference,
    RefundMethodDefault, RefundMethodRule, RejectedItems, ReturnPolicy, SerialReturnerRule,
};
pub use reasons::{LeafReason, ReasonLookup, ReasonNode, RestockingFee, ShippingRule};
pub use state::{Acceptance, Disposition, Reception, ReturnState};
