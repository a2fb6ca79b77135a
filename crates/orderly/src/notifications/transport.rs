//! How a rendered message leaves: stored in the database (the embedded default: the
//! message row is the delivery, readable per order), or handed to an SMTP server through
//! lettre (STARTTLS, implicit TLS, or plain for a local relay; with authentication when
//! configured). A refusal or a timeout is an error the worker retries.

use crate::config::notifications::{NotificationsConfig, SmtpSecurity, Transport};
use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use orderly_store::MessageContent;
use std::time::Duration;

/// A file sent with a message.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub enum Mailer {
    Database,
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        reply_to: Option<Mailbox>,
    },
}

impl Mailer {
    pub fn new(config: &NotificationsConfig) -> anyhow::Result<Mailer> {
        if config.transport == Transport::Database {
            return Ok(Mailer::Database);
        }
        let smtp = &config.smtp;
        let builder = match smtp.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .with_context(|| format!("notifications.smtp.host: {}", smtp.host))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .with_context(|| format!("notifications.smtp.host: {}", smtp.host))?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_millis(smtp.timeout_ms)));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from = config
            .from
            .parse()
            .with_context(|| format!("notifications.from: {}", config.from))?;
        let reply_to = config
            .reply_to
            .as_deref()
            .map(str::parse)
            .transpose()
            .context("notifications.reply_to")?;
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
            reply_to,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mailer::Database => Transport::Database.as_str(),
            Mailer::Smtp { .. } => Transport::Smtp.as_str(),
        }
    }

    /// Sends `content` with `files` to `recipient`, under the message's id (the
    /// `Message-ID` header, so a resend or a retry is recognisable as what it is). The
    /// database transport keeps the words only: the files are made from the order again
    /// whenever they are wanted (a return's label is at `/returns/{id}/label.pdf`).
    pub async fn send(
        &self,
        id: &str,
        recipient: &str,
        content: &MessageContent,
        files: &[File],
    ) -> Result<(), String> {
        let Mailer::Smtp {
            transport,
            from,
            reply_to,
        } = self
        else {
            return Ok(());
        };
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| format!("the recipient {recipient:?} is not an address: {e}"))?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(content.subject.clone())
            .message_id(Some(format!("<{id}@orderly>")));
        if let Some(r) = reply_to {
            builder = builder.reply_to(r.clone());
        }
        let body = MultiPart::alternative_plain_html(content.text.clone(), content.html.clone());
        let body = if files.is_empty() {
            body
        } else {
            files
                .iter()
                .try_fold(MultiPart::mixed().multipart(body), |mixed, f| {
                    let kind = ContentType::parse(f.content_type)
                        .map_err(|e| format!("{}: {e}", f.content_type))?;
                    Ok::<_, String>(
                        mixed
                            .singlepart(Attachment::new(f.name.clone()).body(f.body.clone(), kind)),
                    )
                })?
        };
        let email = builder
            .multipart(body)
            .map_err(|e| format!("the message cannot be built: {e}"))?;
        transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP server refused it: {e}"))
    }
}
