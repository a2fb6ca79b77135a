//! Who did something. Every event records its actor so the timeline and the audit log
//! can always answer "who changed this order".

use serde::{Deserialize, Serialize};

/// The role an API key or console user acts with; permissions hang off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Support,
    Warehouse,
    Finance,
    Integration,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Support,
        Role::Warehouse,
        Role::Finance,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
            Role::Warehouse => "warehouse",
            Role::Finance => "finance",
            Role::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The principal behind a change: an API key, or the system itself (workers, demo seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    ApiKey { id: String, role: Role },
    System { name: String },
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor::System {
            name: name.to_owned(),
        }
    }

    /// A short stable label such as `api_key:key_0193…` or `system:demo`.
    pub fn label(&self) -> String {
        match self {
            Actor::ApiKey { id, .. } => format!("api_key:{id}"),
            Actor::System { name } => format!("system:{name}"),
        }
    }
}
