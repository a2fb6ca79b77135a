//! Reading the exception queues, for every interface, authorized here once.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope};
use crate::app::error::AppError;
use orderly_domain::actor::Actor;
use orderly_domain::order::exceptions::queue;
use orderly_store::{ExceptionCount, ExceptionFilter, ExceptionRow};

impl App {
    /// The entries `filter` matches, oldest first. A queue that does not exist is
    /// refused as not found rather than answered as empty, so a typo is not mistaken for
    /// a clear queue.
    pub async fn exceptions(
        &self,
        actor: &Actor,
        mut filter: ExceptionFilter,
    ) -> Result<Vec<ExceptionRow>, AppError> {
        authorize(actor, Permission::ReadExceptions)?;
        filter.channels = channel_scope(actor);
        if let Some(q) = &filter.queue
            && !queue::ALL.contains(&q.as_str())
        {
            return Err(AppError::NotFound(format!("exception queue {q}")));
        }
        Ok(self.store.read(move |r| r.exceptions(&filter)).await?)
    }

    /// The open entries counted per queue and kind, with the oldest's opening time and
    /// how many are escalated (older than `exceptions.escalate_after_hours`), in the
    /// actor's channels.
    pub async fn exception_counts(&self, actor: &Actor) -> Result<Vec<ExceptionCount>, AppError> {
        authorize(actor, Permission::ReadExceptions)?;
        let channels = channel_scope(actor);
        let before = self.escalation_cutoff();
        Ok(self
            .store
            .read(move |r| r.exception_counts(channels.as_deref(), before))
            .await?)
    }

    /// Entries opened at or before this time are escalated.
    pub fn escalation_cutoff(&self) -> jiff::Timestamp {
        let hours = i64::from(self.config.exceptions.escalate_after_hours);
        self.now() - jiff::SignedDuration::from_hours(hours)
    }
}
