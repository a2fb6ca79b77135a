//! Resolving an exception entry: the one exception command a person issues (entries are
//! opened, and some resolved, by the events that raise and clear them). Here rather than
//! in the handler so the console's "resolve" form runs the same check and write.

use crate::app::auth::{Permission, authorize, channel_scope, sees_channel};
use crate::app::error::AppError;
use crate::app::{App, Origin};
use orderly_domain::order::FieldIssue;
use orderly_store::ExceptionRow;

impl App {
    /// Resolves entry `id` (`exc_<n>`) of `queue` with a note of what was done. Resolving
    /// twice is refused (`already_resolved`), so two people working one queue learn that
    /// the other got there first.
    pub async fn resolve_exception(
        &self,
        origin: &Origin,
        queue: String,
        id: String,
        resolution: &str,
    ) -> Result<ExceptionRow, AppError> {
        authorize(&origin.actor, Permission::ResolveExceptions)?;
        let resolution = resolution.trim().to_owned();
        if resolution.is_empty() || resolution.chars().count() > 2_000 {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "resolution",
                "invalid_length",
                "say what was done, in 1-2000 characters",
            )]));
        }
        let n: i64 = id
            .strip_prefix("exc_")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| AppError::NotFound(format!("exception {id} in queue {queue}")))?;
        let by = origin.actor.label();
        let clock = self.clock.clone();
        let actor = origin.actor.clone();
        self.store
            .write(move |tx| {
                let resolved = tx.resolve_exception(n, &queue, &by, &resolution, clock.now())?;
                // Another channel's entry is not found; failing here undoes the write.
                let visible = match &resolved {
                    Some((row, _)) if channel_scope(&actor).is_some() => tx
                        .load_order(&row.order_id)?
                        .is_some_and(|o| sees_channel(&actor, o.channel.as_str())),
                    _ => true,
                };
                if !visible {
                    return Err(AppError::NotFound(format!(
                        "exception {id} in queue {queue}"
                    )));
                }
                match resolved {
                    Some((row, true)) => Ok(row),
                    Some((row, false)) => Err(AppError::Conflict {
                        code: "already_resolved",
                        detail: format!(
                            "{id} was resolved by {} already",
                            row.resolved_by.unwrap_or_default()
                        ),
                    }),
                    None => Err(AppError::NotFound(format!(
                        "exception {id} in queue {queue}"
                    ))),
                }
            })
            .await
    }
}
