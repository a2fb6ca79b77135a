//! `payments.refund_limits`: the largest refund each role may ask for at once, in minor
//! units of the order's currency or `"unlimited"`. A role not listed is limited only by
//! its permission to refund. The runner checks it on the amount a refund decision
//! arrived at (`payments/commands.rs`), for keys and console users alike; the console
//! shows it beside the refund form.

use super::PaymentsConfig;
use orderly_domain::actor::Role;
use orderly_domain::returns::Limit;

impl PaymentsConfig {
    /// The most `role` may refund at once; `None`: no limit of its own.
    pub fn refund_limit(&self, role: Role) -> Option<i64> {
        match self.refund_limits.get(role.as_str()) {
            Some(Limit::UpToMinor(max)) => Some(*max),
            Some(Limit::Unlimited) | None => None,
        }
    }

    /// Whether `role` may refund `amount_minor` in one request.
    pub fn may_refund(&self, role: Role, amount_minor: i64) -> bool {
        self.refund_limit(role)
            .is_none_or(|max| amount_minor <= max)
    }

    /// Each key of `refund_limits` that is not a role or sets a negative limit.
    pub(super) fn refund_limit_problems(&self) -> Vec<String> {
        self.refund_limits
            .iter()
            .filter_map(|(role, limit)| {
                let key = format!("payments.refund_limits.{role}");
                if Role::parse(role).is_none() {
                    Some(format!("{key}: is not a role"))
                } else if matches!(limit, Limit::UpToMinor(v) if *v < 0) {
                    Some(format!("{key}: must not be negative"))
                } else {
                    None
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_role_is_bounded_and_an_unlisted_one_is_not() {
        let mut p = PaymentsConfig::default();
        p.refund_limits
            .insert("support".into(), Limit::UpToMinor(20_000));
        p.refund_limits.insert("finance".into(), Limit::Unlimited);
        assert!(p.may_refund(Role::Support, 20_000));
        assert!(!p.may_refund(Role::Support, 20_001));
        assert!(p.may_refund(Role::Finance, i64::MAX));
        assert!(p.may_refund(Role::Supervisor, i64::MAX));
        assert_eq!(p.refund_limit(Role::Support), Some(20_000));
        assert!(p.refund_limit_problems().is_empty());
        p.refund_limits
            .insert("superviser".into(), Limit::UpToMinor(1));
        p.refund_limits.insert("admin".into(), Limit::UpToMinor(-1));
        assert_eq!(
            p.refund_limit_problems(),
            [
                "payments.refund_limits.admin: must not be negative",
                "payments.refund_limits.superviser: is not a role"
            ]
        );
    }
}
