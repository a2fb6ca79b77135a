//! What sending customer messages needs, built once at start-up from the configuration:
//! the compiled templates, the triggers and the transport.

use super::render::Renderer;
use super::transport::Mailer;
use crate::config::notifications::{NotificationsConfig, Trigger};

pub struct Notifier {
    pub renderer: Renderer,
    pub triggers: Vec<Trigger>,
    pub mailer: Mailer,
}

impl Notifier {
    pub fn new(config: &NotificationsConfig) -> anyhow::Result<Notifier> {
        let renderer = Renderer::new(&config.templates()?).map_err(anyhow::Error::msg)?;
        Ok(Notifier {
            renderer,
            triggers: config.triggers()?,
            mailer: Mailer::new(config)?,
        })
    }
}
