//! Store credit issued by a person (goodwill, a manual refund), outside any order, and a
//! customer's credit as support reads it. Credit redeemed or refunded to on an order
//! moves with that order's events instead.

use crate::app::auth::{Permission, authorize, channel_scope};
use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use orderly_domain::actor::Actor;
use orderly_domain::order::FieldIssue;
use orderly_domain::values::{Currency, Email};
use orderly_store::{CreditChange, OrderFilter, StoreCreditRow};

/// How many of a customer's latest credit changes a read shows.
const LATEST_CHANGES: u32 = 100;

impl App {
    /// `email`'s latest store credit changes, newest first; each carries the balance
    /// after it.
    pub async fn store_credit(
        &self,
        actor: &Actor,
        email: &Email,
    ) -> Result<Vec<StoreCreditRow>, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        self.customer_in_scope(actor, email).await?;
        let key = email.to_string();
        Ok(self
            .store
            .read(move |r| r.store_credit_entries(&key, LATEST_CHANGES))
            .await?)
    }

    /// Adds `amount_minor` of `currency` to `email`'s balance, recording who and why.
    pub async fn issue_store_credit(
        &self,
        origin: &Origin,
        idem: Option<Idempotency>,
        email: &Email,
        currency: Currency,
        amount_minor: i64,
        note: Option<String>,
    ) -> Result<(), AppError> {
        authorize(&origin.actor, Permission::SettleManually)?;
        self.customer_in_scope(&origin.actor, email).await?;
        if !(1..=orderly_domain::order::MAX_AMOUNT_MINOR).contains(&amount_minor) {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "amount",
                "invalid_amount",
                "a positive amount in minor units",
            )]));
        }
        let actor = origin.actor.label();
        let key = email.to_string();
        let clock = self.clock.clone();
        self.idempotent_write(idem, move |tx| {
            tx.change_store_credit(&CreditChange {
                email: &key,
                currency: currency.as_str(),
                delta_minor: amount_minor,
                reason: "issue",
                order_id: None,
                op_id: None,
                note: note.as_deref(),
                actor: &actor,
                at: clock.now(),
            })?;
            Ok(Outcome::Body(Answer::Created, Vec::new()))
        })
        .await?;
        Ok(())
    }

    /// A customer is a channel-bound key's to see once they ordered in one of its
    /// channels; anyone else's credit is not found, as if they had none.
    async fn customer_in_scope(&self, actor: &Actor, email: &Email) -> Result<(), AppError> {
        let Some(channels) = channel_scope(actor) else {
            return Ok(());
        };
        let filter = OrderFilter {
            email: Some(email.to_string()),
            channels: Some(channels),
            limit: 1,
            ..OrderFilter::default()
        };
        let known = !self
            .store
            .read(move |r| r.orders(&filter))
            .await?
            .is_empty();
        if known {
            Ok(())
        } else {
            Err(AppError::NotFound("customer".into()))
        }
    }
}
