//! `[metrics]`: where Prometheus scrapes `/metrics`. Without `listen` the endpoint is on
//! the server's own address and needs an admin key (it tells the shape of the business);
//! with it, `/metrics` is served only there, without authentication, for a scraper on a
//! private network, and the main address does not serve it at all.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// A separate `host:port` that serves `/metrics` without authentication.
    pub listen: Option<String>,
}

impl MetricsConfig {
    pub(super) fn problems(&self) -> Vec<String> {
        match &self.listen {
            Some(l) if l.parse::<std::net::SocketAddr>().is_err() => {
                vec![format!("metrics.listen: {l:?} is not a host:port address")]
            }
            _ => Vec::new(),
        }
    }
}
