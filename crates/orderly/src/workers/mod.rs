//! Background work that runs ordinary commands when time passes: the timer worker fires due deadlines (unpaid expiry, release after the edit window, capture and refund retries, tracking silence).

pub mod backoff;
pub mod dispatcher;
pub mod share;
pub mod timers;
