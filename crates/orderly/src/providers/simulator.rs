//! A built-in payment service for development, the demo and the tests.
//!
//! The payment flow must be exercised end to end without a real provider account, including
//! the paths a happy-path fake never takes: declines, fraud, captures and refunds that fail,
//! authorizations that expire, and calls that time out after the provider has acted. The
//! simulator behaves like a real service on each of these. Every answer is recorded per
//! idempotency key and replayed for the same key, captures and refunds are limited by what
//! was authorized and captured, and a timed-out call has still taken effect. A re-drive
//! with the same key learns the answer, and so does `Simulator::outcome`, which stands in
//! for the event a real provider would send.
//!
//! The token passed at authorization selects the behaviour:
//!
//! | token               | behaviour                                                              |
//! |---------------------|------------------------------------------------------------------------|
//! | `tok_visa`          | approved, expires after `authorization_days`                           |
//! | `tok_expiring`      | approved, expires after `expiring_authorization_days`                  |
//! | `tok_declined`      | declined `insufficient_funds`                                          |
//! | `tok_fraud`         | declined `suspected_fraud`                                             |
//! | `tok_capture_fails` | approved; every capture declined `capture_failed`                      |
//! | `tok_refund_fails`  | approved, captures fine; every refund declined `refund_failed`         |
//! | `tok_capture_fails_once` | approved; the first capture declined `capture_failed`, later ones approved |
//! | `tok_refund_fails_once`  | approved; the first refund declined `refund_failed`, later ones approved   |
//! | `tok_timeout`       | approved and recorded, but the first call hangs `timeout_ms` and returns `Timeout`; a replay returns the approval |
//! | `tok_refund_timeout_once` | approved, captures fine; the first refund is made and recorded, but its call hangs `timeout_ms` and returns `Timeout`; a replay of its key returns the approval, later refunds answer at once |
//! | anything else       | declined `invalid_token` (no token: `missing_token`)                   |
//!
//! One provider's behaviour is one file: the code ends at line ~450 (every operation's
//! rules, the answer per idempotency key, the timeout), the rest is its tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};

use crate::providers::payment::{
    OpRequest, PaymentProvider, ProviderAnswer, ProviderError, ProviderResult,
};

/// How the simulator treats authorizations and slow calls; `[payments.simulator]` in
/// the configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    /// How long an ordinary authorization (`tok_visa`) can be captured.
    pub authorization_days: i64,
    /// How long a `tok_expiring` authorization can be captured.
    pub expiring_authorization_days: i64,
    /// How long a `tok_timeout` call hangs before it returns `ProviderError::Timeout`.
    pub timeout_ms: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            authorization_days: 7,
            expiring_authorization_days: 1,
            timeout_ms: 50,
        }
    }
}

/// The simulated payment service. See the module docs for the test tokens.
pub struct Simulator {
    config: SimulatorConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Everything the service remembers, behind one lock so an answer and the state change
/// behind it are recorded together.
#[derive(Default)]
struct State {
    /// The definite answer given for each idempotency key.
    answers: HashMap<String, ProviderAnswer>,
    /// Authorizations by their reference.
    authorizations: HashMap<String, Authorization>,
    /// Calls per kind, replays included.
    calls: HashMap<&'static str, usize>,
    /// Makes each generated reference unique within this simulator.
    next_reference: u64,
}

struct Authorization {
    behaviour: Behaviour,
    amount_minor: i64,
    captured_minor: i64,
    refunded_minor: i64,
    voided: bool,
    expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Normal,
    CaptureFails,
    RefundFails,
    /// A transient issuer refusal: the next capture (or refund) is declined, then the
    /// authorization behaves normally.
    CaptureFailsOnce,
    RefundFailsOnce,
    /// The next refund takes effect but its call times out (the answer is lost on the
    /// way back), then the authorization behaves normally.
    RefundTimesOutOnce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Authorize,
    Capture,
    Void,
    Refund,
    Reduce,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Authorize => "authorize",
            Kind::Capture => "capture",
            Kind::Void => "void",
            Kind::Refund => "refund",
            Kind::Reduce => "reduce",
        }
    }
}

/// What the locked part of a call decided.
struct Decision {
    answer: ProviderAnswer,
    /// The provider acted, but this call must look like a timeout.
    time_out: bool,
}

fn declined(code: &str, message: &str) -> ProviderAnswer {
    ProviderAnswer::Declined {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn approved(reference: String, authorization_expires_at: Option<Timestamp>) -> ProviderAnswer {
    ProviderAnswer::Approved {
        reference,
        authorization_expires_at,
    }
}

fn plus_days(now: Timestamp, days: i64) -> Timestamp {
    now.checked_add(SignedDuration::from_hours(days.saturating_mul(24)))
        .unwrap_or(Timestamp::MAX)
}

impl State {
    fn reference(&mut self, prefix: &str) -> String {
        self.next_reference += 1;
        // The counter keeps references unique here; the random part keeps them distinct
        // from those of an earlier simulator (a restarted process) in the same database.
        format!(
            "{prefix}_{:06x}{}",
            rand::random::<u32>() & 0x00ff_ffff,
            self.next_reference
        )
    }

    fn authorize(&mut self, config: &SimulatorConfig, req: &OpRequest<'_>) -> Decision {
        let (behaviour, days, time_out) = match req.token {
            None => return decided(declined("missing_token", "no payment token was given")),
            Some("tok_visa") => (Behaviour::Normal, config.authorization_days, false),
            Some("tok_expiring") => (Behaviour::Normal, config.expiring_authorization_days, false),
            Some("tok_capture_fails") => {
                (Behaviour::CaptureFails, config.authorization_days, false)
            }
            Some("tok_refund_fails") => (Behaviour::RefundFails, config.authorization_days, false),
            Some("tok_capture_fails_once") => (
                Behaviour::CaptureFailsOnce,
                config.authorization_days,
                false,
            ),
            Some("tok_refund_fails_once") => {
                (Behaviour::RefundFailsOnce, config.authorization_days, false)
            }
            Some("tok_refund_timeout_once") => (
                Behaviour::RefundTimesOutOnce,
                config.authorization_days,
                false,
            ),
            Some("tok_timeout") => (Behaviour::Normal, config.authorization_days, true),
            Some("tok_declined") => {
                return decided(declined(
                    "insufficient_funds",
                    "the card has insufficient funds",
                ));
            }
            Some("tok_fraud") => {
                return decided(declined(
                    "suspected_fraud",
                    "the payment was blocked as suspected fraud",
                ));
            }
            Some(_) => return decided(declined("invalid_token", "the payment token is not valid")),
        };
        if req.amount_minor <= 0 {
            return decided(declined("invalid_amount", "the amount must be positive"));
        }
        let reference = self.reference("sim_auth");
        let expires_at = plus_days(req.now, days);
        self.authorizations.insert(
            reference.clone(),
            Authorization {
                behaviour,
                amount_minor: req.amount_minor,
                captured_minor: 0,
                refunded_minor: 0,
                voided: false,
                expires_at,
            },
        );
        Decision {
            answer: approved(reference, Some(expires_at)),
            time_out,
        }
    }

    fn capture(&mut self, req: &OpRequest<'_>) -> ProviderAnswer {
        let Some(auth) = self.authorization(req) else {
            return unknown_authorization();
        };
        match auth.behaviour {
            Behaviour::CaptureFails => {
                return declined("capture_failed", "the capture failed at the issuer");
            }
            Behaviour::CaptureFailsOnce => {
                auth.behaviour = Behaviour::Normal;
                return declined("capture_failed", "the capture failed at the issuer");
            }
            _ => {}
        }
        if auth.voided {
            return declined("authorization_voided", "the authorization was voided");
        }
        if req.now >= auth.expires_at {
            return declined("authorization_expired", "the authorization has expired");
        }
        if req.amount_minor <= 0 {
            return declined("invalid_amount", "the amount must be positive");
        }
        if req.amount_minor > auth.amount_minor - auth.captured_minor {
            return declined(
                "amount_exceeds_authorization",
                "the amount exceeds what remains of the authorization",
            );
        }
        auth.captured_minor += req.amount_minor;
        approved(self.reference("sim_cap"), None)
    }

    /// Lowers an open authorization (an incremental adjustment down, as card networks
    /// allow): part of it must stay open, releasing all of it is a void.
    fn reduce(&mut self, req: &OpRequest<'_>) -> ProviderAnswer {
        let Some(auth) = self.authorization(req) else {
            return unknown_authorization();
        };
        if auth.voided {
            return declined("authorization_voided", "the authorization was voided");
        }
        if req.now >= auth.expires_at {
            return declined("authorization_expired", "the authorization has expired");
        }
        if req.amount_minor <= 0 || req.amount_minor >= auth.amount_minor - auth.captured_minor {
            return declined(
                "invalid_amount",
                "a reduction must be positive and leave part of the authorization open",
            );
        }
        auth.amount_minor -= req.amount_minor;
        approved(self.reference("sim_red"), None)
    }

    fn void(&mut self, req: &OpRequest<'_>) -> ProviderAnswer {
        let Some(auth) = self.authorization(req) else {
            return unknown_authorization();
        };
        if auth.voided {
            return declined(
                "authorization_voided",
                "the authorization was already voided",
            );
        }
        if auth.captured_minor >= auth.amount_minor {
            return declined(
                "authorization_fully_captured",
                "the authorization was fully captured; refund instead",
            );
        }
        // Voiding an expired authorization succeeds: the hold is gone either way.
        auth.voided = true;
        approved(self.reference("sim_void"), None)
    }

    fn refund(&mut self, req: &OpRequest<'_>) -> Decision {
        let Some(auth) = self.authorization(req) else {
            return decided(unknown_authorization());
        };
        let mut time_out = false;
        match auth.behaviour {
            Behaviour::RefundFails => {
                return decided(declined("refund_failed", "the refund failed at the issuer"));
            }
            Behaviour::RefundFailsOnce => {
                auth.behaviour = Behaviour::Normal;
                return decided(declined("refund_failed", "the refund failed at the issuer"));
            }
            Behaviour::RefundTimesOutOnce => {
                // Only a refund that goes through uses up the timeout: the money moves,
                // the answer is what gets lost.
                time_out = true;
            }
            _ => {}
        }
        if req.amount_minor <= 0 {
            return decided(declined("invalid_amount", "the amount must be positive"));
        }
        if req.amount_minor > auth.captured_minor - auth.refunded_minor {
            return decided(declined(
                "amount_exceeds_captured",
                "the amount exceeds what was captured and not yet refunded",
            ));
        }
        auth.refunded_minor += req.amount_minor;
        if time_out {
            auth.behaviour = Behaviour::Normal;
        }
        Decision {
            answer: approved(self.reference("sim_ref"), None),
            time_out,
        }
    }

    fn authorization(&mut self, req: &OpRequest<'_>) -> Option<&mut Authorization> {
        self.authorizations.get_mut(req.authorization_reference?)
    }
}

fn decided(answer: ProviderAnswer) -> Decision {
    Decision {
        answer,
        time_out: false,
    }
}

fn unknown_authorization() -> ProviderAnswer {
    declined(
        "unknown_authorization",
        "no authorization with that reference",
    )
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Simulator {
        Simulator {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// How many calls of each kind (`"authorize"`, `"capture"`, `"void"`, `"refund"`) were
    /// made, replays included.
    pub fn calls(&self, kind: &str) -> usize {
        self.lock().calls.get(kind).copied().unwrap_or(0)
    }

    /// The definite outcome recorded for an idempotency key, if any: what a later provider
    /// event or a re-drive reveals, also after a call that timed out.
    pub fn outcome(&self, idempotency_key: &str) -> Option<ProviderAnswer> {
        self.lock().answers.get(idempotency_key).cloned()
    }

    /// A panic while holding the lock cannot leave the state half-written: each call
    /// records its answer last. So a poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides a call under the lock. A key that was answered before gets the same answer
    /// again without touching any state.
    fn decide(&self, kind: Kind, req: &OpRequest<'_>) -> Decision {
        let mut state = self.lock();
        *state.calls.entry(kind.name()).or_insert(0) += 1;
        if let Some(answer) = state.answers.get(req.idempotency_key) {
            return decided(answer.clone());
        }
        let decision = match kind {
            Kind::Authorize => state.authorize(&self.config, req),
            Kind::Capture => decided(state.capture(req)),
            Kind::Void => decided(state.void(req)),
            Kind::Refund => state.refund(req),
            Kind::Reduce => decided(state.reduce(req)),
        };
        state
            .answers
            .insert(req.idempotency_key.to_owned(), decision.answer.clone());
        decision
    }

    fn call<'a>(&'a self, kind: Kind, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        Box::pin(async move {
            // `decide` takes and releases the lock, so it is never held across an await.
            let decision = self.decide(kind, &req);
            if decision.time_out {
                tokio::time::sleep(Duration::from_millis(self.config.timeout_ms)).await;
                return Err(ProviderError::Timeout);
            }
            Ok(decision.answer)
        })
    }
}

impl PaymentProvider for Simulator {
    fn name(&self) -> &str {
        "simulator"
    }

    fn authorize<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        self.call(Kind::Authorize, req)
    }

    fn capture<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        self.call(Kind::Capture, req)
    }

    fn void<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        self.call(Kind::Void, req)
    }

    fn refund<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        self.call(Kind::Refund, req)
    }

    fn reduce<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult> {
        self.call(Kind::Reduce, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn sim() -> Simulator {
        Simulator::new(SimulatorConfig::default())
    }

    fn auth_req<'a>(key: &'a str, token: Option<&'a str>, amount: i64) -> OpRequest<'a> {
        OpRequest {
            idempotency_key: key,
            payment_id: "pay_1",
            token,
            authorization_reference: None,
            amount_minor: amount,
            currency: "USD",
            now: now(),
        }
    }

    fn op_req<'a>(key: &'a str, reference: &'a str, amount: i64) -> OpRequest<'a> {
        OpRequest {
            idempotency_key: key,
            payment_id: "pay_1",
            token: None,
            authorization_reference: Some(reference),
            amount_minor: amount,
            currency: "USD",
            now: now(),
        }
    }

    fn reference(answer: &ProviderAnswer) -> String {
        match answer {
            ProviderAnswer::Approved { reference, .. } => reference.clone(),
            other => panic!("expected approval, got {other:?}"),
        }
    }

    fn decline_code(answer: &ProviderAnswer) -> &str {
        match answer {
            ProviderAnswer::Declined { code, .. } => code,
            other => panic!("expected a decline, got {other:?}"),
        }
    }

    async fn authorize(sim: &Simulator, key: &str, token: &str, amount: i64) -> String {
        let answer = sim
            .authorize(auth_req(key, Some(token), amount))
            .await
            .unwrap();
        reference(&answer)
    }

    #[tokio::test]
    async fn visa_approves_with_a_seven_day_expiry() {
        let sim = sim();
        let answer = sim
            .authorize(auth_req("op_1", Some("tok_visa"), 1000))
            .await
            .unwrap();
        let ProviderAnswer::Approved {
            reference,
            authorization_expires_at,
        } = answer
        else {
            panic!("expected approval");
        };
        assert!(reference.starts_with("sim_auth_"), "{reference}");
        assert_eq!(
            authorization_expires_at,
            Some(now() + SignedDuration::from_hours(7 * 24))
        );
        assert_eq!(sim.name(), "simulator");
        assert_eq!(sim.calls("authorize"), 1);
    }

    #[tokio::test]
    async fn references_are_distinct() {
        let sim = sim();
        let a = authorize(&sim, "op_1", "tok_visa", 1000).await;
        let b = authorize(&sim, "op_2", "tok_visa", 1000).await;
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn declining_tokens() {
        let sim = sim();
        for (key, token, code) in [
            ("op_1", Some("tok_declined"), "insufficient_funds"),
            ("op_2", Some("tok_fraud"), "suspected_fraud"),
            ("op_3", Some("tok_mastercard"), "invalid_token"),
            ("op_4", None, "missing_token"),
        ] {
            let answer = sim.authorize(auth_req(key, token, 1000)).await.unwrap();
            assert_eq!(decline_code(&answer), code, "{token:?}");
            assert_eq!(sim.outcome(key), Some(answer));
        }
        assert_eq!(sim.calls("authorize"), 4);
    }

    #[tokio::test]
    async fn capture_fails_token_authorizes_but_never_captures() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_capture_fails", 1000).await;
        for key in ["op_2", "op_3"] {
            let answer = sim.capture(op_req(key, &auth, 500)).await.unwrap();
            assert_eq!(decline_code(&answer), "capture_failed");
        }
        // The hold can still be released.
        let void = sim.void(op_req("op_4", &auth, 0)).await.unwrap();
        assert!(void.is_approved_for_test());
    }

    #[tokio::test]
    async fn refund_fails_token_captures_but_never_refunds() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_refund_fails", 1000).await;
        let capture = sim.capture(op_req("op_2", &auth, 1000)).await.unwrap();
        assert!(capture.is_approved_for_test());
        let refund = sim.refund(op_req("op_3", &auth, 400)).await.unwrap();
        assert_eq!(decline_code(&refund), "refund_failed");
        assert_eq!(sim.calls("refund"), 1);
    }

    #[tokio::test]
    async fn expiring_token_lapses_after_one_day() {
        let sim = sim();
        let answer = sim
            .authorize(auth_req("op_1", Some("tok_expiring"), 1000))
            .await
            .unwrap();
        let ProviderAnswer::Approved {
            reference: auth,
            authorization_expires_at: Some(expires_at),
        } = answer
        else {
            panic!("expected approval with an expiry");
        };
        assert_eq!(expires_at, now() + SignedDuration::from_hours(24));

        let mut late = op_req("op_2", &auth, 1000);
        late.now = expires_at;
        let answer = sim.capture(late).await.unwrap();
        assert_eq!(decline_code(&answer), "authorization_expired");

        let mut in_time = op_req("op_3", &auth, 1000);
        in_time.now = expires_at - SignedDuration::from_secs(1);
        assert!(sim.capture(in_time).await.unwrap().is_approved_for_test());
    }

    #[tokio::test]
    async fn visa_authorization_expires_too() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        let mut late = op_req("op_2", &auth, 1000);
        late.now = now() + SignedDuration::from_hours(7 * 24);
        let answer = sim.capture(late).await.unwrap();
        assert_eq!(decline_code(&answer), "authorization_expired");
    }

    #[tokio::test]
    async fn same_key_same_answer_and_no_double_capture() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        let replayed_auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        assert_eq!(auth, replayed_auth);

        let first = sim.capture(op_req("op_2", &auth, 600)).await.unwrap();
        let again = sim.capture(op_req("op_2", &auth, 600)).await.unwrap();
        assert_eq!(first, again);
        assert!(first.is_approved_for_test());
        assert_eq!(sim.calls("capture"), 2);

        // Only 600 was captured: 400 remains, not -200.
        let rest = sim.capture(op_req("op_3", &auth, 400)).await.unwrap();
        assert!(rest.is_approved_for_test());
        let over = sim.capture(op_req("op_4", &auth, 1)).await.unwrap();
        assert_eq!(decline_code(&over), "amount_exceeds_authorization");
    }

    #[tokio::test]
    async fn a_declined_key_stays_declined() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        let over = sim.capture(op_req("op_2", &auth, 1001)).await.unwrap();
        assert_eq!(decline_code(&over), "amount_exceeds_authorization");
        // Same key, now a valid amount: still the recorded answer.
        let replay = sim.capture(op_req("op_2", &auth, 500)).await.unwrap();
        assert_eq!(replay, over);
    }

    #[tokio::test]
    async fn capture_needs_a_known_authorization() {
        let sim = sim();
        let unknown = sim
            .capture(op_req("op_1", "sim_auth_nope", 100))
            .await
            .unwrap();
        assert_eq!(decline_code(&unknown), "unknown_authorization");
        let mut missing = op_req("op_2", "x", 100);
        missing.authorization_reference = None;
        let answer = sim.capture(missing).await.unwrap();
        assert_eq!(decline_code(&answer), "unknown_authorization");
    }

    #[tokio::test]
    async fn void_releases_the_remainder_once() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        assert!(
            sim.capture(op_req("op_2", &auth, 300))
                .await
                .unwrap()
                .is_approved_for_test()
        );
        let void = sim.void(op_req("op_3", &auth, 0)).await.unwrap();
        assert!(void.is_approved_for_test());
        let again = sim.void(op_req("op_4", &auth, 0)).await.unwrap();
        assert_eq!(decline_code(&again), "authorization_voided");
        let capture = sim.capture(op_req("op_5", &auth, 100)).await.unwrap();
        assert_eq!(decline_code(&capture), "authorization_voided");
        // What was captured before the void can still be refunded.
        let refund = sim.refund(op_req("op_6", &auth, 300)).await.unwrap();
        assert!(refund.is_approved_for_test());
        assert_eq!(sim.calls("void"), 2);
    }

    #[tokio::test]
    async fn void_of_a_fully_captured_authorization_is_declined() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        assert!(
            sim.capture(op_req("op_2", &auth, 1000))
                .await
                .unwrap()
                .is_approved_for_test()
        );
        let void = sim.void(op_req("op_3", &auth, 0)).await.unwrap();
        assert_eq!(decline_code(&void), "authorization_fully_captured");
    }

    #[tokio::test]
    async fn refunds_are_limited_to_what_was_captured() {
        let sim = sim();
        let auth = authorize(&sim, "op_1", "tok_visa", 1000).await;
        let early = sim.refund(op_req("op_2", &auth, 1)).await.unwrap();
        assert_eq!(decline_code(&early), "amount_exceeds_captured");
        assert!(
            sim.capture(op_req("op_3", &auth, 800))
                .await
                .unwrap()
                .is_approved_for_test()
        );
        let first = sim.refund(op_req("op_4", &auth, 500)).await.unwrap();
        assert!(reference(&first).starts_with("sim_ref_"));
        // A replay does not refund twice.
        assert_eq!(sim.refund(op_req("op_4", &auth, 500)).await.unwrap(), first);
        let over = sim.refund(op_req("op_5", &auth, 301)).await.unwrap();
        assert_eq!(decline_code(&over), "amount_exceeds_captured");
        let rest = sim.refund(op_req("op_6", &auth, 300)).await.unwrap();
        assert!(rest.is_approved_for_test());
        let unknown = sim
            .refund(op_req("op_7", "sim_auth_nope", 1))
            .await
            .unwrap();
        assert_eq!(decline_code(&unknown), "unknown_authorization");
    }

    #[tokio::test]
    async fn timeout_then_replay_reveals_the_approval() {
        let sim = Simulator::new(SimulatorConfig {
            timeout_ms: 20,
            ..SimulatorConfig::default()
        });
        let started = std::time::Instant::now();
        let first = sim
            .authorize(auth_req("op_1", Some("tok_timeout"), 1000))
            .await;
        assert_eq!(first, Err(ProviderError::Timeout));
        assert!(started.elapsed() >= Duration::from_millis(20));

        // The provider acted although the call timed out.
        let recorded = sim.outcome("op_1").unwrap();
        let auth = reference(&recorded);

        // The re-drive with the same key gets the approval, at once.
        let replay = sim
            .authorize(auth_req("op_1", Some("tok_timeout"), 1000))
            .await
            .unwrap();
        assert_eq!(replay, recorded);
        assert_eq!(sim.calls("authorize"), 2);

        // The authorization is real: it can be captured.
        let capture = sim.capture(op_req("op_2", &auth, 1000)).await.unwrap();
        assert!(capture.is_approved_for_test());

        // A new key with the same token times out again.
        let other = sim
            .authorize(auth_req("op_3", Some("tok_timeout"), 1000))
            .await;
        assert_eq!(other, Err(ProviderError::Timeout));
    }

    #[tokio::test]
    async fn refund_timeout_once_token_refunds_then_loses_the_first_answer_only() {
        let sim = Simulator::new(SimulatorConfig {
            timeout_ms: 20,
            ..SimulatorConfig::default()
        });
        let auth = authorize(&sim, "op_1", "tok_refund_timeout_once", 1000).await;
        assert!(
            sim.capture(op_req("op_2", &auth, 1000))
                .await
                .unwrap()
                .is_approved_for_test()
        );
        // A refund the provider refuses answers at once and does not use up the timeout.
        let over = sim.refund(op_req("op_3", &auth, 1001)).await.unwrap();
        assert_eq!(decline_code(&over), "amount_exceeds_captured");

        let started = std::time::Instant::now();
        let first = sim.refund(op_req("op_4", &auth, 400)).await;
        assert_eq!(first, Err(ProviderError::Timeout));
        assert!(started.elapsed() >= Duration::from_millis(20));
        // The money moved although the call timed out.
        let recorded = sim.outcome("op_4").unwrap();
        assert!(reference(&recorded).starts_with("sim_ref_"));

        // The re-drive with the same key gets the approval and refunds nothing more.
        let replay = sim.refund(op_req("op_4", &auth, 400)).await.unwrap();
        assert_eq!(replay, recorded);
        let over = sim.refund(op_req("op_5", &auth, 601)).await.unwrap();
        assert_eq!(decline_code(&over), "amount_exceeds_captured");

        // Only the first refund times out: the next is answered.
        let rest = sim.refund(op_req("op_6", &auth, 600)).await.unwrap();
        assert!(rest.is_approved_for_test());
        assert_eq!(sim.calls("refund"), 5);
    }

    #[tokio::test]
    async fn unknown_keys_have_no_outcome_and_unknown_kinds_no_calls() {
        let sim = sim();
        assert_eq!(sim.outcome("op_nope"), None);
        assert_eq!(sim.calls("authorize"), 0);
        assert_eq!(sim.calls("settle"), 0);
    }

    trait ApprovedForTest {
        fn is_approved_for_test(&self) -> bool;
    }

    impl ApprovedForTest for ProviderAnswer {
        fn is_approved_for_test(&self) -> bool {
            matches!(self, ProviderAnswer::Approved { .. })
        }
    }
}
