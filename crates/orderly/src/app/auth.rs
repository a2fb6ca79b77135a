//! API keys and what each role may do. Keys are 256-bit random secrets, so a fast SHA-256
//! hash is the right storage form (a slow password hash would add milliseconds to every
//! request without adding safety); a short-lived cache spares the database per request.

use crate::app::error::AppError;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::order::OrderCommand;
use orderly_store::{ApiKeyRow, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

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
        }
    }
}

/// The role table, in one place so a reader sees who may do what.
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        Role::Support => matches!(
            p,
            ReadCatalog
                | ReadOrders
                | CreateOrders
                | CancelOrders
                | AddPayments
                | RefundPayments
                | ManageHolds
                | ReleaseFulfillment
                | ReadExceptions
                | ResolveExceptions
        ),
        Role::Warehouse => matches!(
            p,
            ReadCatalog
                | AdjustStock
                | ReadOrders
                | ReleaseFulfillment
                | Fulfill
                | ReadExceptions
                | ResolveExceptions
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
        ),
        Role::Integration => matches!(
            p,
            ReadCatalog
                | WriteCatalog
                | AdjustStock
                | ReadOrders
                | CreateOrders
                | CancelOrders
                | AddPayments
                | CapturePayments
        ),
    }
}

/// Whether `actor` may act with permission `p`: a key by its role; the system (timers,
/// verified provider and carrier events, the demo) always.
pub fn authorize(actor: &Actor, p: Permission) -> Result<(), AppError> {
    match actor {
        Actor::System { .. } => Ok(()),
        Actor::ApiKey { role, .. } if allows(*role, p) => Ok(()),
        Actor::ApiKey { role, .. } => Err(AppError::Forbidden {
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
        PlaceHold(_) => Permission::ManageHolds,
        ReleaseHold { hold, .. } if hold.reason.needs_finance() => Permission::ReleaseReviewHolds,
        ReleaseHold { .. } => Permission::ManageHolds,
        Release { .. } => Permission::ReleaseFulfillment,
        // A scan at the counter (click and collect) is the warehouse's; a carrier's
        // arrives as a verified event, from the system.
        Pick { .. } | Pack { .. } | Ship { .. } | Reject { .. } | RecordTracking(_) => {
            Permission::Fulfill
        }
        RecordOutcome { .. }
        | ExpireAuthorization { .. }
        | PaymentDeadline { .. }
        | FillBackorder { .. }
        | CheckDelay { .. } => return None,
    })
}

/// Whether `actor` may run `cmd` on an order.
pub fn authorize_order(actor: &Actor, cmd: &OrderCommand) -> Result<(), AppError> {
    match (order_permission(cmd), actor) {
        (Some(p), _) => authorize(actor, p),
        (None, Actor::System { .. }) => Ok(()),
        (None, Actor::ApiKey { role, .. }) => Err(AppError::Forbidden {
            role: role.as_str(),
            action: "record what only providers, carriers and timers report",
        }),
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        authorize(&self.actor(), p)
    }

    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            id: self.key_id.clone(),
            role: self.role,
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

/// Creates and stores a key; returns (id, plaintext). The plaintext is shown once.
pub async fn create_key(
    store: &Store,
    role: Role,
    name: &str,
    clock: &dyn crate::app::clock::Clock,
    ids: &dyn crate::app::clock::IdSource,
) -> Result<(String, String), AppError> {
    let plaintext = generate_key();
    let id = ids.new_id("key");
    let at = clock.now();
    let (hash, key_id, name) = (hash_key(&plaintext), id.clone(), name.to_owned());
    store
        .write(move |tx| {
            tx.insert_api_key(&key_id, &name, role, &hash, at)
                .map_err(AppError::from)
        })
        .await?;
    Ok((id, plaintext))
}

const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Option<ApiKeyRow>, Instant)>>,
}

impl KeyCache {
    /// Resolves a bearer token to its principal, from cache or the database.
    pub async fn authenticate(&self, store: &Store, token: &str) -> Result<Principal, AppError> {
        let hash = hash_key(token);
        let cached = self.entries.read().ok().and_then(|m| {
            m.get(&hash)
                .filter(|(_, at)| at.elapsed() < CACHE_TTL)
                .map(|(row, _)| row.clone())
        });
        let row = match cached {
            Some(row) => row,
            None => {
                let h = hash.clone();
                let row = store.read(move |r| r.api_key_by_hash(&h)).await?;
                if let Ok(mut m) = self.entries.write() {
                    if m.len() >= CACHE_MAX {
                        m.clear();
                    }
                    m.insert(hash, (row.clone(), Instant::now()));
                }
                row
            }
        };
        match row {
            Some(k) if !k.revoked => Ok(Principal {
                key_id: k.id,
                role: k.role,
            }),
            _ => Err(AppError::Unauthorized),
        }
    }
}

impl crate::app::App {
    /// A new API key with `role`, stamped on this app's clock, if `actor` may manage
    /// keys; returns (id, secret).
    pub async fn create_key(
        &self,
        actor: &Actor,
        role: Role,
        name: &str,
    ) -> Result<(String, String), AppError> {
        authorize(actor, Permission::ManageKeys)?;
        create_key(
            &self.store,
            role,
            name,
            self.clock.as_ref(),
            self.ids.as_ref(),
        )
        .await
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
    fn a_command_needs_its_roles_permission() {
        let capture = OrderCommand::Capture { amount_minor: None };
        assert!(authorize_order(&key(Role::Finance), &capture).is_ok());
        assert!(authorize_order(&key(Role::Integration), &capture).is_ok());
        assert!(authorize_order(&key(Role::Support), &capture).is_err());
        assert!(authorize_order(&key(Role::Warehouse), &capture).is_err());
    }
}
