//! The commands on customer messages, for every interface: read an order's messages,
//! preview any template for an order, resend a message (the same words, a new message
//! that says which one it repeats), and record whether a customer wants follow-ups.

use super::worker::render;
use crate::app::App;
use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use orderly_domain::actor::Actor;
use orderly_domain::order::FieldIssue;
use orderly_store::{MessageContent, MessageRow, NewMessage};

impl App {
    /// An order's messages, oldest first.
    pub async fn order_messages(
        &self,
        actor: &Actor,
        order: String,
    ) -> Result<Vec<MessageRow>, AppError> {
        let order = self.order(actor, order).await?;
        let id = order.id.to_string();
        Ok(self.store.read(move |r| r.messages(&id)).await?)
    }

    /// `template` rendered for the order as it stands now (no event: the latest parcel
    /// stands in for "the one shipped").
    pub async fn preview_message(
        &self,
        actor: &Actor,
        order: String,
        template: String,
    ) -> Result<MessageContent, AppError> {
        let order = self.order(actor, order).await?;
        if !self.notifier.renderer.has(&template) {
            return Err(AppError::NotFound(format!("template {template}")));
        }
        render(
            &self.config.notifications,
            self,
            &template,
            &order,
            &serde_json::Value::Null,
        )
        .map_err(AppError::Internal)
    }

    /// Sends message `message_id` of the order again, as a new message.
    pub async fn resend_message(
        &self,
        actor: &Actor,
        order: String,
        message_id: String,
    ) -> Result<MessageRow, AppError> {
        authorize(actor, Permission::SendMessages)?;
        let order = self.order(actor, order).await?;
        let id = message_id.clone();
        let original = self
            .store
            .read(move |r| r.message(&id))
            .await?
            .filter(|m| m.order_id == order.id.as_str())
            .ok_or_else(|| AppError::NotFound(format!("message {message_id}")))?;
        let content = match original.content.clone() {
            Some(c) => c,
            None => render(
                &self.config.notifications,
                self,
                &original.template,
                &order,
                &serde_json::Value::Null,
            )
            .map_err(AppError::Internal)?,
        };
        let now = self.now();
        let new = NewMessage {
            id: self.new_id("msg"),
            order_id: original.order_id.clone(),
            template: original.template.clone(),
            category: original.category.clone(),
            recipient: original.recipient.clone(),
            event_id: original.event_id.clone(),
            event_type: original.event_type.clone(),
            position: None,
            transport: self.notifier.mailer.name().into(),
            send_at: now,
            content: Some(content),
            resend_of: Some(original.id.clone()),
            created_by: actor.label(),
            at: now,
        };
        let id = new.id.clone();
        self.store
            .write(move |tx| {
                tx.insert_messages(std::slice::from_ref(&new))
                    .map_err(AppError::from)
            })
            .await?;
        self.store
            .read(move |r| r.message(&id))
            .await?
            .ok_or_else(|| AppError::Internal("the resent message is not stored".into()))
    }

    /// Records whether the customer at `email` takes follow-up messages.
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        email: String,
        follow_ups: bool,
    ) -> Result<(), AppError> {
        authorize(actor, Permission::SendMessages)?;
        let email = preference_email(&email)?;
        let now = self.now();
        self.store
            .write(move |tx| {
                tx.set_notification_preferences(&email, follow_ups, now)
                    .map_err(AppError::from)
            })
            .await
    }

    /// Whether the customer at `email` takes follow-ups (true unless they said no).
    pub async fn notification_preferences(
        &self,
        actor: &Actor,
        email: String,
    ) -> Result<bool, AppError> {
        authorize(actor, Permission::SendMessages)?;
        let email = preference_email(&email)?;
        let wanted = self
            .store
            .read(move |r| r.follow_ups_wanted(&email))
            .await?;
        Ok(wanted != Some(false))
    }
}

/// The normalised address preferences are kept under, or the refusal of one that is
/// not an email address (reading one is refused alike, not answered with a default).
fn preference_email(email: &str) -> Result<String, AppError> {
    orderly_domain::values::Email::parse(email)
        .map(|e| e.to_string())
        .map_err(|_| {
            AppError::Validation(vec![FieldIssue::new(
                "email",
                "invalid_email",
                "not an email address",
            )])
        })
}
