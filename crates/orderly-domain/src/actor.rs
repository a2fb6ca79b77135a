//! Who did something. Every event records its actor so the timeline and the audit log
//! can always answer "who changed this order".

use serde::{Deserialize, Serialize};

/// The role an API key or console user acts with; permissions hang off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Support,
    /// Support's senior: approves what support may not (larger returns on review).
    Supervisor,
    Warehouse,
    Finance,
    Integration,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Support,
        Role::Supervisor,
        Role::Warehouse,
        Role::Finance,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
            Role::Supervisor => "supervisor",
            Role::Warehouse => "warehouse",
            Role::Finance => "finance",
            Role::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The principal behind a change: an API key, a person signed in to the console, or the
/// system itself (workers, demo seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    ApiKey {
        id: String,
        role: Role,
        /// The channels a channel-bound key is limited to, recorded with what it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channels: Option<Vec<String>>,
    },
    /// A console user. Console users see every channel: channel scoping is for
    /// integrations, whose keys a marketplace holds.
    User {
        id: String,
        role: Role,
    },
    System {
        name: String,
    },
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor::System {
            name: name.to_owned(),
        }
    }

    /// The role a key or user acts with; `None` for the system.
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::ApiKey { role, .. } | Actor::User { role, .. } => Some(*role),
            Actor::System { .. } => None,
        }
    }

    /// The id of the key or user whose name a person would want to read.
    pub fn named_id(&self) -> Option<&str> {
        match self {
            Actor::ApiKey { id, .. } | Actor::User { id, .. } => Some(id),
            Actor::System { .. } => None,
        }
    }

    /// Who this is, for a person: `integration key 'storefront'` (given the key's name),
    /// `admin key key_0193…` (a key whose name is unknown), `support user 'Ana Diaz'`,
    /// `system (timers)`.
    pub fn describe(&self, name: Option<&str>) -> String {
        match (self, name) {
            (Actor::ApiKey { role, .. }, Some(name)) => format!("{} key '{name}'", role.as_str()),
            (Actor::ApiKey { id, role, .. }, None) => format!("{} key {id}", role.as_str()),
            (Actor::User { role, .. }, Some(name)) => format!("{} user '{name}'", role.as_str()),
            (Actor::User { id, role }, None) => format!("{} user {id}", role.as_str()),
            (Actor::System { name }, _) => format!("system ({name})"),
        }
    }

    /// A short stable label such as `api_key:key_0193…`, `user:usr_0193…` or
    /// `system:demo`.
    pub fn label(&self) -> String {
        match self {
            Actor::ApiKey { id, .. } => format!("api_key:{id}"),
            Actor::User { id, .. } => format!("user:{id}"),
            Actor::System { name } => format!("system:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_is_described_by_role_and_name_for_people() {
        let key = Actor::ApiKey {
            id: "key_1".into(),
            role: Role::Integration,
            channels: None,
        };
        assert_eq!(
            key.describe(Some("storefront")),
            "integration key 'storefront'"
        );
        assert_eq!(key.describe(None), "integration key key_1");
        assert_eq!(Actor::system("timers").describe(None), "system (timers)");
        assert_eq!(key.label(), "api_key:key_1", "the stable id is unchanged");
        let user = Actor::User {
            id: "usr_1".into(),
            role: Role::Support,
        };
        assert_eq!(user.describe(Some("Ana Diaz")), "support user 'Ana Diaz'");
        assert_eq!(user.label(), "user:usr_1");
        assert_eq!(user.role(), Some(Role::Support));
        assert_eq!(Actor::system("timers").role(), None);
    }
}
