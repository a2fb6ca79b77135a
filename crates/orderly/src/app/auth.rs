//! API keys and what each may do: a role says which actions, a key's channels which
//! objects (a marketplace's key sees the marketplace's orders and nothing else). Keys are
//! 256-bit random secrets, so a fast SHA-256 hash is the right storage form (a slow
//! password hash would add milliseconds to every request without adding safety). Keys
//! have a life: an optional expiry, revocation, and rotation with a grace period.
//!
//! The file runs a little past the usual size on purpose: the permission list, the role
//! table and the permission of every order command stay together, so who may do what is
//! read in one place.

use crate::app::error::AppError;
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::order::{EditCommand, FieldIssue, Order, OrderCommand, OrderError};
use orderly_store::{ApiKeyRow, NewApiKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Actions that are authorized per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadCatalog,
    WriteCatalog,
    AdjustStock,
    ReadOrders,
    CreateOrders,
    CancelOrders,
    ManageKeys,
    /// Add a payment attempt to an order (a new card after a decline).
    AddPayments,
    CapturePayments,
    RefundPayments,
    /// Confirm money received for a manual payment; issue store credit.
    SettleManually,
    /// Place holds, and release those that are not reviews.
    ManageHolds,
    /// Release fraud and high-value review holds.
    ReleaseReviewHolds,
    /// Hand fulfillment orders to the warehouse by hand.
    ReleaseFulfillment,
    /// Pick, pack and ship.
    Fulfill,
    /// See the exception queues.
    ReadExceptions,
    /// Resolve exception entries.
    ResolveExceptions,
    /// Create or cancel returns for customers.
    RequestReturns,
    /// Approve or deny returns in review, within the policy's approval limit of the role.
    ReviewReturns,
    /// Receive and inspect returned parcels at a location.
    ReceiveReturns,
    /// Settle a return's money by hand, and set a policy rule aside (fee waived, refund
    /// without the goods), within the role's approval limit.
    ResolveReturns,
    /// Replay past return requests under a draft policy (the backtest): admin only, as
    /// it reads a period's decisions and money across every channel.
    BacktestPolicies,
    /// Change an order's lines, address or shipping service (an edit).
    EditOrders,
    /// Set a price in an edit other than the order's own or the catalog's.
    OverridePrices,
    /// Create and change webhook subscriptions, read their delivery logs, redeliver.
    ManageWebhooks,
    /// Read the public event feed (`GET /events`), for a consumer catching up.
    ReadEvents,
    /// Resend a customer message; record a customer's notification preferences.
    SendMessages,
    /// Write internal notes and tags on orders.
    AnnotateOrders,
    /// See support cases and their queues.
    ReadCases,
    /// Open cases, log contacts, assign, change status and priority, resolve.
    ManageCases,
    /// See customers: profile, history, lifetime value, flags, notes.
    ReadCustomers,
    /// Flag customers, write notes on them, merge two records of one person.
    ManageCustomers,
    /// Create, disable and reset console users.
    ManageUsers,
    /// Scrape `/metrics` on the main address.
    ReadMetrics,
    /// Read the operations KPIs (`/metrics/kpis`, the dashboard, the weekly review).
    ReadKpis,
}

impl Permission {
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadCatalog => "read the catalog and inventory",
            Permission::WriteCatalog => "change the catalog",
            Permission::AdjustStock => "adjust stock",
            Permission::ReadOrders => "read orders",
            Permission::CreateOrders => "create orders",
            Permission::CancelOrders => "cancel orders",
            Permission::ManageKeys => "manage API keys",
            Permission::AddPayments => "add payments to orders",
            Permission::CapturePayments => "capture payments",
            Permission::RefundPayments => "refund payments",
            Permission::SettleManually => "record money received or issue store credit",
            Permission::ManageHolds => "place or release holds",
            Permission::ReleaseReviewHolds => "release review holds",
            Permission::ReleaseFulfillment => "release fulfillment orders",
            Permission::Fulfill => "pick, pack and ship",
            Permission::ReadExceptions => "read exception queues",
            Permission::ResolveExceptions => "resolve exceptions",
            Permission::RequestReturns => "create or cancel returns",
            Permission::ReviewReturns => "review returns",
            Permission::ReceiveReturns => "receive and inspect returns",
            Permission::ResolveReturns => "resolve returns",
            Permission::BacktestPolicies => "backtest return policies",
            Permission::EditOrders => "edit orders",
            Permission::OverridePrices => "set prices in an edit",
            Permission::ManageWebhooks => "manage webhook subscriptions",
            Permission::ReadEvents => "read the event feed",
            Permission::SendMessages => "resend messages and set notification preferences",
            Permission::AnnotateOrders => "write notes and tags on orders",
            Permission::ReadCases => "read support cases",
            Permission::ManageCases => "open and work support cases",
            Permission::ReadCustomers => "read customers",
            Permission::ManageCustomers => "flag, annotate and merge customers",
            Permission::ManageUsers => "manage console users",
            Permission::ReadMetrics => "read metrics",
            Permission::ReadKpis => "read KPIs",
        }
    }
}

/// The role table, in one place so a reader sees who may do what.
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        // A supervisor may do what support does; what sets it apart is the larger return
        // value it may approve (the return policy's `approval_limits`) and setting prices
        // in an edit. Releasing review holds stays with finance.
        Role::Supervisor if p == OverridePrices => true,
        Role::Support | Role::Supervisor => matches!(
            p,
            ReadCatalog
                | ReadOrders
                | CreateOrders
                | CancelOrders
                | EditOrders
                | AddPayments
                | RefundPayments
                | ManageHolds
                | ReleaseFulfillment
                | ReadExceptions
                | ResolveExceptions
                | RequestReturns
                | ReviewReturns
                | ResolveReturns
                | SendMessages
                | AnnotateOrders
                | ReadCases
                | ManageCases
                | ReadCustomers
                | ManageCustomers
                | ReadKpis
        ),
        Role::Warehouse => matches!(
            p,
            ReadCatalog
                | AnnotateOrders
                | ReadCases
                | AdjustStock
                | ReadOrders
                | ReleaseFulfillment
                | Fulfill
                | ReadExceptions
                | ResolveExceptions
                | ReceiveReturns
                | ReadKpis
        ),
        Role::Finance => matches!(
            p,
            ReadCatalog
                | ReadOrders
                | CapturePayments
                | RefundPayments
                | SettleManually
                | ManageHolds
                | ReleaseReviewHolds
                | ReadExceptions
                | ReviewReturns
                | ResolveReturns
                | AnnotateOrders
                | ReadCases
                | ManageCases
                | ReadCustomers
                | ManageCustomers
                | ReadKpis
        ),
        Role::Integration => matches!(
            p,
            ReadCatalog
                | WriteCatalog
                | AdjustStock
                | ReadOrders
                | CreateOrders
                | CancelOrders
                | EditOrders
                | AddPayments
                | CapturePayments
                | RequestReturns
                | ManageWebhooks
                | ReadEvents
                | SendMessages
        ),
    }
}

/// Whether `actor` may act with permission `p`: a key or a console user by its role;
/// the system (timers, verified provider and carrier events, the demo) always.
pub fn authorize(actor: &Actor, p: Permission) -> Result<(), AppError> {
    match actor.role() {
        None => Ok(()),
        Some(role) if allows(role, p) => Ok(()),
        Some(role) => Err(AppError::Forbidden {
            role: role.as_str(),
            action: p.describe(),
        }),
    }
}

/// The permission an order command needs, decided here once for every interface (the
/// API, the console, the CLI), per action and, where it matters, per object: releasing
/// a review hold is finance's call. `None` marks what only the system issues: a
/// provider's answer, a deadline, a backorder filled by arriving stock, a delay check.
pub fn order_permission(cmd: &OrderCommand) -> Option<Permission> {
    use OrderCommand::*;
    Some(match cmd {
        Place(_) => Permission::CreateOrders,
        Cancel(_) => Permission::CancelOrders,
        AddPayment(_) => Permission::AddPayments,
        Capture { .. } => Permission::CapturePayments,
        Refund(_) | RetryRefund { .. } => Permission::RefundPayments,
        MarkPaid { .. } => Permission::SettleManually,
        // A hold only finance may lift is finance's to place: support could otherwise
        // lock an order it cannot free.
        PlaceHold(hold) if hold.reason.needs_finance() => Permission::ReleaseReviewHolds,
        PlaceHold(_) => Permission::ManageHolds,
        AddNote { .. } | ChangeTags { .. } => Permission::AnnotateOrders,
        ReleaseHold { hold, .. } if hold.reason.needs_finance() => Permission::ReleaseReviewHolds,
        ReleaseHold { .. } => Permission::ManageHolds,
        Release { .. } => Permission::ReleaseFulfillment,
        // A scan at the counter (click and collect) is the warehouse's; a carrier's
        // arrives as a verified event, from the system.
        Pick { .. } | Pack { .. } | Ship { .. } | Reject { .. } | RecordTracking(_) => {
            Permission::Fulfill
        }
        RequestReturn(_) | CancelReturn { .. } | IssueReturnLabel { .. } => {
            Permission::RequestReturns
        }
        ReviewReturn { .. } | DecideReturnItems { .. } => Permission::ReviewReturns,
        ReceiveReturn(_) | InspectReturn { .. } | SendBackReturnItems { .. } => {
            Permission::ReceiveReturns
        }
        ResolveReturn { .. } => Permission::ResolveReturns,
        Edit(edit) => match &edit.0 {
            EditCommand::RequestCancellation(_) => Permission::CancelOrders,
            EditCommand::AnswerCancellation { .. } => Permission::Fulfill,
            EditCommand::Begin(_)
            | EditCommand::Stage { .. }
            | EditCommand::Abandon { .. }
            | EditCommand::Commit(_) => Permission::EditOrders,
        },
        RecordOutcome { .. }
        | ExpireAuthorization { .. }
        | PaymentDeadline { .. }
        | FillBackorder { .. }
        | CheckDelay { .. }
        | TrackReturn { .. }
        | CompleteReturn { .. }
        | RecordExchange { .. }
        | ExpireReturn { .. }
        | RaiseWatches { .. }
        | ClearWatches => return None,
    })
}

/// Whether `actor` may run `cmd` on an order.
pub fn authorize_order(actor: &Actor, cmd: &OrderCommand) -> Result<(), AppError> {
    match (order_permission(cmd), actor.role()) {
        (Some(p), _) => authorize(actor, p),
        (None, None) => Ok(()),
        (None, Some(role)) => Err(AppError::Forbidden {
            role: role.as_str(),
            action: "record what only providers, carriers and timers report",
        }),
    }
}

/// Whether `actor` may see objects of `channel`: a channel-bound key only its own.
pub fn sees_channel(actor: &Actor, channel: &str) -> bool {
    match actor {
        Actor::ApiKey {
            channels: Some(own),
            ..
        } => own.iter().any(|c| c == channel),
        Actor::ApiKey { channels: None, .. } | Actor::User { .. } | Actor::System { .. } => true,
    }
}

/// The channels a channel-bound actor is limited to; `None` for any.
pub fn channel_scope(actor: &Actor) -> Option<Vec<String>> {
    match actor {
        Actor::ApiKey { channels, .. } => channels.clone(),
        Actor::User { .. } | Actor::System { .. } => None,
    }
}

/// An order of a channel the actor may not see is not found, exactly as one that does
/// not exist: a channel-bound key learns nothing of other channels' orders.
pub fn in_scope(actor: &Actor, order: &Order) -> Result<(), AppError> {
    if sees_channel(actor, order.channel.as_str()) {
        Ok(())
    } else {
        Err(AppError::Order(OrderError::NotFound))
    }
}

/// Managing keys needs a key bound to no channel: a channel-bound key could otherwise
/// mint itself a wider one.
fn authorize_key_management(actor: &Actor) -> Result<(), AppError> {
    authorize(actor, Permission::ManageKeys)?;
    match actor {
        Actor::ApiKey {
            channels: Some(_),
            role,
            ..
        } => Err(AppError::Forbidden {
            role: role.as_str(),
            action: "manage API keys while bound to channels",
        }),
        _ => Ok(()),
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    /// The key's name, for a person (`ana`, `storefront`).
    pub name: String,
    pub role: Role,
    pub channels: Option<Vec<String>>,
}

impl Principal {
    /// Who this is, for a person: `support key 'ana'`.
    pub fn describe(&self) -> String {
        self.actor().describe(Some(&self.name))
    }

    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        authorize(&self.actor(), p)
    }

    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            id: self.key_id.clone(),
            role: self.role,
            channels: self.channels.clone(),
        }
    }
}

pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// A new secret: `oly_` and 64 hex digits.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("oly_{}", hex::encode(bytes))
}

/// What a new key is: its role, a name people know it by, the channels it is bound to
/// (`None`: every channel) and when it stops working by itself.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub role: Role,
    pub name: String,
    pub channels: Option<Vec<String>>,
    pub expires_at: Option<Timestamp>,
}

impl KeySpec {
    /// A key of `role` for every channel that never expires.
    pub fn unbound(role: Role, name: &str) -> KeySpec {
        KeySpec {
            role,
            name: name.to_owned(),
            channels: None,
            expires_at: None,
        }
    }
}

/// A key as created: its row, and the secret, shown only this once.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: ApiKeyRow,
    pub secret: String,
}

impl crate::app::App {
    /// The caller behind a bearer secret. The key is read on every request, not cached,
    /// so a revocation takes effect at once on every process that shares the database
    /// (one indexed read, a small cost beside any request that does work).
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, AppError> {
        let hash = hash_key(secret);
        let row = self.store.read(move |r| r.api_key_by_hash(&hash)).await?;
        match row {
            Some(k) if k.is_live(self.now()) => Ok(Principal {
                key_id: k.id,
                name: k.name,
                role: k.role,
                channels: k.channels,
            }),
            _ => Err(AppError::Unauthorized),
        }
    }

    /// A new API key, if `actor` may manage keys.
    pub async fn create_key(&self, actor: &Actor, spec: KeySpec) -> Result<NewKey, AppError> {
        authorize_key_management(actor)?;
        self.check_key_spec(&spec)?;
        let secret = generate_key();
        let key = NewApiKey {
            id: self.ids.new_id("key"),
            name: spec.name,
            role: spec.role,
            key_hash: hash_key(&secret),
            channels: spec.channels,
            created_at: self.now(),
            expires_at: spec.expires_at,
        };
        let row = stored_row(&key);
        self.store
            .write(move |tx| tx.insert_api_key(&key).map_err(AppError::from))
            .await?;
        Ok(NewKey { key: row, secret })
    }

    /// Every key, oldest first, secrets never included (only their hashes are kept).
    pub async fn api_keys(&self, actor: &Actor) -> Result<Vec<ApiKeyRow>, AppError> {
        authorize_key_management(actor)?;
        Ok(self.store.read(|r| r.api_keys()).await?)
    }

    /// Revokes key `id` now; it fails at once on every process.
    pub async fn revoke_key(&self, actor: &Actor, id: String) -> Result<ApiKeyRow, AppError> {
        authorize_key_management(actor)?;
        let at = self.now();
        let label = id.clone();
        self.store
            .write(move |tx| tx.revoke_api_key(&id, at).map_err(AppError::from))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("API key {label}")))
    }

    /// A new secret for key `id`, with the same role, name, channels and expiry, in one
    /// transaction with the old key's end: at once, or after `grace` so the integration
    /// can switch without a gap. A revoked or expired key cannot be rotated.
    pub async fn rotate_key(
        &self,
        actor: &Actor,
        id: String,
        grace: Option<jiff::SignedDuration>,
    ) -> Result<NewKey, AppError> {
        authorize_key_management(actor)?;
        let now = self.now();
        let old_ends = now.saturating_add(grace.unwrap_or_default()).unwrap_or(now);
        let secret = generate_key();
        let (new_id, hash) = (self.ids.new_id("key"), hash_key(&secret));
        let row = self
            .store
            .write(move |tx| {
                let Some(old) = tx.expire_api_key(&id, old_ends)? else {
                    return Err(AppError::NotFound(format!("API key {id}")));
                };
                // Expiring is idempotent on a dead key, so its liveness is judged as it was.
                if old.revoked_at.is_some() || old.expires_at.is_some_and(|at| at <= now) {
                    return Err(AppError::Conflict {
                        code: "key_not_live",
                        detail: format!("API key {id} is revoked or expired"),
                    });
                }
                let key = NewApiKey {
                    id: new_id.clone(),
                    name: old.name,
                    role: old.role,
                    key_hash: hash.clone(),
                    channels: old.channels,
                    created_at: now,
                    expires_at: None,
                };
                tx.insert_api_key(&key)?;
                Ok(stored_row(&key))
            })
            .await?;
        Ok(NewKey { key: row, secret })
    }

    /// Channels named must exist, a name is 1-100 characters, and an expiry lies ahead.
    fn check_key_spec(&self, spec: &KeySpec) -> Result<(), AppError> {
        let mut issues = Vec::new();
        let name = spec.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            issues.push(FieldIssue::new(
                "name",
                "invalid_length",
                "name is 1-100 characters, without control characters",
            ));
        }
        if let Some(channels) = &spec.channels {
            if channels.is_empty() || channels.len() > 20 {
                issues.push(FieldIssue::new(
                    "channels",
                    "invalid_length",
                    "a bound key names 1-20 channels (leave channels out for every channel)",
                ));
            }
            for (i, c) in channels.iter().enumerate() {
                if self.config.channel(c).is_none() {
                    issues.push(FieldIssue::new(
                        format!("channels[{i}]"),
                        "unknown_channel",
                        "no such channel",
                    ));
                }
            }
        }
        if spec.expires_at.is_some_and(|at| at <= self.now()) {
            issues.push(FieldIssue::new(
                "expires_at",
                "in_the_past",
                "an expiry must lie in the future",
            ));
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(issues))
        }
    }
}

/// The row `key` is stored as.
fn stored_row(key: &NewApiKey) -> ApiKeyRow {
    ApiKeyRow {
        id: key.id.clone(),
        name: key.name.clone(),
        role: key.role,
        channels: key.channels.clone(),
        created_at: key.created_at,
        expires_at: key.expires_at,
        revoked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderly_domain::order::{HoldChange, HoldReason};
    use orderly_domain::payment::CaptureMode;
    use orderly_domain::values::Id;

    fn key(role: Role) -> Actor {
        Actor::ApiKey {
            id: "key_1".into(),
            role,
            channels: None,
        }
    }

    fn release(reason: HoldReason) -> OrderCommand {
        OrderCommand::ReleaseHold {
            hold: HoldChange { reason, note: None },
            capture: CaptureMode::OnAuthorization,
        }
    }

    #[test]
    fn a_review_hold_is_finance_to_release_and_a_manual_one_is_support_too() {
        let review = release(HoldReason::FraudReview);
        let manual = release(HoldReason::Manual);
        assert!(authorize_order(&key(Role::Finance), &review).is_ok());
        let refused = authorize_order(&key(Role::Support), &review).unwrap_err();
        assert_eq!(refused.code(), "forbidden");
        assert!(authorize_order(&key(Role::Support), &manual).is_ok());
        assert!(authorize_order(&key(Role::Warehouse), &manual).is_err());
    }

    #[test]
    fn a_hold_only_finance_may_release_is_only_finance_to_place() {
        let place = |reason| OrderCommand::PlaceHold(HoldChange { reason, note: None });
        for reason in [
            HoldReason::FraudReview,
            HoldReason::HighValueReview,
            HoldReason::CaptureFailed,
        ] {
            assert!(authorize_order(&key(Role::Finance), &place(reason)).is_ok());
            assert!(authorize_order(&key(Role::Support), &place(reason)).is_err());
        }
        assert!(authorize_order(&key(Role::Support), &place(HoldReason::Manual)).is_ok());
    }

    #[test]
    fn what_only_the_system_reports_is_refused_to_every_key_even_admin() {
        let check = OrderCommand::CheckDelay {
            shipment_id: Id::new("shp_1"),
            now: jiff::Timestamp::UNIX_EPOCH,
            silence_hours: 24,
        };
        assert!(authorize_order(&key(Role::Admin), &check).is_err());
        assert!(authorize_order(&Actor::system("timers"), &check).is_ok());
    }

    #[test]
    fn a_supervisor_may_do_what_support_does_and_no_more() {
        let review = release(HoldReason::FraudReview);
        assert!(authorize_order(&key(Role::Supervisor), &release(HoldReason::Manual)).is_ok());
        assert!(authorize_order(&key(Role::Supervisor), &review).is_err());
        assert_eq!(Role::parse("supervisor"), Some(Role::Supervisor));
    }

    #[test]
    fn a_command_needs_its_roles_permission() {
        let capture = OrderCommand::Capture { amount_minor: None };
        assert!(authorize_order(&key(Role::Finance), &capture).is_ok());
        assert!(authorize_order(&key(Role::Integration), &capture).is_ok());
        assert!(authorize_order(&key(Role::Support), &capture).is_err());
        assert!(authorize_order(&key(Role::Warehouse), &capture).is_err());
    }
}
