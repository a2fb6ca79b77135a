//! Deciding about customers, for every interface: each command is authorized here, the
//! customer is found the way a read finds it (an id or an email, followed to the record
//! that stands, within the actor's channels), decided by the domain's customer stream
//! and appended in one transaction; a merge appends to both records' streams at once.

use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use crate::customers::view::record_json;
use orderly_domain::customer::{CustomerCommand, CustomerError, CustomerFlag, decide};
use orderly_domain::order::FieldIssue;
use orderly_domain::values::Id;
use orderly_store::EventMeta;

/// What a command on a customer asks, parsed by the interface.
#[derive(Debug, Clone)]
pub enum CustomerAction {
    RaiseFlag {
        flag: CustomerFlag,
        reason: String,
    },
    ClearFlag {
        flag: CustomerFlag,
        reason: String,
    },
    AddNote {
        text: String,
    },
    /// Fold the record `from` names (an id or an email) into this customer.
    Merge {
        from: String,
    },
}

impl From<CustomerError> for AppError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::Invalid {
                field,
                code,
                message,
            } => AppError::Validation(vec![FieldIssue::new(field, code, message)]),
            e @ (CustomerError::Merged(_)
            | CustomerError::FlagAlreadySet(_)
            | CustomerError::FlagNotSet(_)) => AppError::Conflict {
                code: e.code(),
                detail: e.to_string(),
            },
        }
    }
}

impl App {
    /// Runs `action` on the customer `id` names; answers with its record and facts.
    pub async fn customer_command(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        id: String,
        action: CustomerAction,
    ) -> Result<Outcome, AppError> {
        authorize(&origin.actor, Permission::ManageCustomers)?;
        let target = self.customer(&origin.actor, id).await?.record.id;
        // The record merged away is named as it is (not followed to its survivor): a
        // record already merged is refused, not silently taken for another.
        let from = match &action {
            CustomerAction::Merge { from } => {
                self.customer(&origin.actor, from.clone()).await?;
                let from = from.clone();
                let raw = self
                    .store
                    .read(move |r| {
                        if from.contains('@') {
                            r.customer_by_email(&from.trim().to_lowercase())
                        } else {
                            r.customer(&from)
                        }
                    })
                    .await?
                    .ok_or_else(|| AppError::NotFound("customer".into()))?;
                Some(raw.id)
            }
            _ => None,
        };
        let clock = self.clock.clone();
        self.idempotent_write(idem, move |tx| {
            let record = tx
                .load_customer(&target)?
                .ok_or_else(|| AppError::NotFound("customer".into()))?;
            let command = match &action {
                CustomerAction::RaiseFlag { flag, reason } => CustomerCommand::RaiseFlag {
                    flag: *flag,
                    reason: reason.clone(),
                },
                CustomerAction::ClearFlag { flag, reason } => CustomerCommand::ClearFlag {
                    flag: *flag,
                    reason: reason.clone(),
                },
                CustomerAction::AddNote { text } => CustomerCommand::AddNote { text: text.clone() },
                CustomerAction::Merge { .. } => {
                    let from = from.clone().unwrap_or_default();
                    let absorbed = tx
                        .load_customer(&from)?
                        .ok_or_else(|| AppError::NotFound("customer".into()))?;
                    CustomerCommand::Absorb {
                        from: Id::new(from),
                        from_facts: absorbed.facts,
                    }
                }
            };
            let events = decide(&Id::new(record.id.clone()), &record.facts, &command)?;
            let meta = EventMeta {
                actor: origin.actor.clone(),
                correlation_id: origin.correlation_id.clone(),
                at: clock.now(),
            };
            let mut facts = record.facts.clone();
            for (stream, event) in &events {
                if stream.as_str() == record.id {
                    facts =
                        tx.append_customer(&record.id, facts, std::slice::from_ref(event), &meta)?;
                } else {
                    let other = tx
                        .load_customer(stream.as_str())?
                        .ok_or_else(|| AppError::NotFound("customer".into()))?;
                    tx.append_customer(
                        stream.as_str(),
                        other.facts,
                        std::slice::from_ref(event),
                        &meta,
                    )?;
                }
            }
            Ok(Outcome::Body(Answer::Done, record_json(&record, &facts)))
        })
        .await
    }
}
