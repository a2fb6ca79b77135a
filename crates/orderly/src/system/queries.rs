//! What the system tells a caller about itself: whether its database answers, and the
//! locations and channels it is configured with (authorized here, like every read).

use crate::app::App;
use crate::app::auth::{Permission, authorize, sees_channel};
use crate::app::error::AppError;
use crate::config::{ChannelConfig, LocationConfig};
use orderly_domain::actor::Actor;
use orderly_store::StoreError;

impl App {
    /// Whether the database answers a trivial query; unauthenticated, for health checks.
    pub async fn database_reachable(&self) -> Result<(), StoreError> {
        self.store.read(|r| r.ping()).await
    }

    /// The configured stock locations.
    pub fn locations(&self, actor: &Actor) -> Result<&[LocationConfig], AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        Ok(&self.config.locations)
    }

    /// The configured sales channels a key may see (a channel-bound key only its own).
    pub fn channels(&self, actor: &Actor) -> Result<Vec<&ChannelConfig>, AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        Ok(self
            .config
            .channels
            .iter()
            .filter(|c| sees_channel(actor, &c.id))
            .collect())
    }
}
