//! The delivery side on PostgreSQL (see `crate::delivery`). Many processes share the
//! work: claims skip rows another process holds (`FOR UPDATE SKIP LOCKED`), and the
//! feed's head row, locked by the draw until commit, hands positions out in commit
//! order, so a reader of `event_feed` never sees position n+1 before n is committed.
//!
//! The file is longer than most: it holds both sides (`DeliveryTx`, `DeliveryReads`) of
//! the same seven tables, kept together so a column changes in one place per backend,
//! with its twin in `sqlite/delivery.rs`.

use super::read::PgReader;
use super::write::PgTx;
use super::{Conn, col};
use crate::delivery::{
    AttemptRow, ClaimedDelivery, DeliveryOutcome, DeliveryReads, DeliveryRecord, DeliveryTx,
    FeedEntry, MessageContent, MessageOutcome, MessageRow, NewDelivery, NewMessage,
    SubscriptionRow, list_from_column, list_to_column, next_columns,
};
use crate::error::StoreError;
use crate::rows::{channels_from_column, channels_to_column};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

macro_rules! subscription_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, url, description, event_types, channels, secrets, active, ",
            "disabled_reason, failing_since, created_by, created_at, updated_at ",
            "FROM webhook_subscriptions ",
            $rest
        )
    };
}

fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    v.map(from_ms).transpose()
}

fn subscription(r: &Row) -> Result<SubscriptionRow, StoreError> {
    Ok(SubscriptionRow {
        id: col(r, 0)?,
        url: col(r, 1)?,
        description: col(r, 2)?,
        event_types: list_from_column(col(r, 3)?)?,
        channels: channels_from_column(col(r, 4)?)?,
        secrets: list_from_column(col(r, 5)?)?,
        active: col(r, 6)?,
        disabled_reason: col(r, 7)?,
        failing_since: opt_ts(col(r, 8)?)?,
        created_by: col(r, 9)?,
        created_at: from_ms(col(r, 10)?)?,
        updated_at: from_ms(col(r, 11)?)?,
    })
}

fn subscriptions(
    c: &Conn<'_>,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<SubscriptionRow>, StoreError> {
    c.query(sql, args)?.iter().map(subscription).collect()
}

macro_rules! feed_select {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, type, order_id, channel, version, at, payload ",
            "FROM event_feed ",
            $rest
        )
    };
}

fn feed_entry(r: &Row) -> Result<FeedEntry, StoreError> {
    let version: i64 = col(r, 5)?;
    Ok(FeedEntry {
        position: col(r, 0)?,
        event_id: col(r, 1)?,
        event_type: col(r, 2)?,
        order_id: col(r, 3)?,
        channel: col(r, 4)?,
        version: u64::try_from(version)
            .map_err(|_| StoreError::Corrupt(format!("feed version {version}")))?,
        at: from_ms(col(r, 6)?)?,
        payload: col(r, 7)?,
    })
}

macro_rules! delivery_select {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.subscription_id, d.position, f.event_id, f.type, d.order_id, ",
            "d.sequence, d.status, d.attempts, d.next_at, d.created_at, d.finished_at, ",
            "d.last_status, d.last_error FROM webhook_deliveries d ",
            "JOIN event_feed f ON f.position = d.position ",
            $rest
        )
    };
}

fn delivery_record(r: &Row) -> Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        id: col(r, 0)?,
        subscription_id: col(r, 1)?,
        position: col(r, 2)?,
        event_id: col(r, 3)?,
        event_type: col(r, 4)?,
        order_id: col(r, 5)?,
        sequence: col(r, 6)?,
        status: col(r, 7)?,
        attempts: col(r, 8)?,
        next_at: from_ms(col(r, 9)?)?,
        created_at: from_ms(col(r, 10)?)?,
        finished_at: opt_ts(col(r, 11)?)?,
        last_status: col(r, 12)?,
        last_error: col(r, 13)?,
    })
}

macro_rules! message_columns {
    () => {
        "id, order_id, template, category, recipient, event_id, event_type, position, \
         transport, status, attempts, next_at, language, subject, text_body, html_body, \
         last_error, resend_of, created_by, created_at, sent_at"
    };
}

fn message_row(r: &Row) -> Result<MessageRow, StoreError> {
    let language: Option<String> = col(r, 12)?;
    let text =
        |i| -> Result<String, StoreError> { Ok(col::<Option<String>>(r, i)?.unwrap_or_default()) };
    let content = match language {
        Some(language) => Some(MessageContent {
            language,
            subject: text(13)?,
            text: text(14)?,
            html: text(15)?,
        }),
        None => None,
    };
    Ok(MessageRow {
        id: col(r, 0)?,
        order_id: col(r, 1)?,
        template: col(r, 2)?,
        category: col(r, 3)?,
        recipient: col(r, 4)?,
        event_id: col(r, 5)?,
        event_type: col(r, 6)?,
        position: col(r, 7)?,
        transport: col(r, 8)?,
        status: col(r, 9)?,
        attempts: col(r, 10)?,
        next_at: from_ms(col(r, 11)?)?,
        content,
        last_error: col(r, 16)?,
        resend_of: col(r, 17)?,
        created_by: col(r, 18)?,
        created_at: from_ms(col(r, 19)?)?,
        sent_at: opt_ts(col(r, 20)?)?,
    })
}

impl DeliveryTx for PgTx<'_> {
    fn draw_feed_positions(&mut self, n: i64) -> Result<i64, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "UPDATE feed_head SET position = position + $1 WHERE id = 1 RETURNING position",
                &[&n],
            )?
            .ok_or_else(|| StoreError::Corrupt("the feed head row is missing".into()))?;
        let last: i64 = col(&row, 0)?;
        Ok(last - n + 1)
    }

    fn insert_feed(&mut self, entries: &[FeedEntry]) -> Result<(), StoreError> {
        for e in entries {
            let version = i64::try_from(e.version).unwrap_or(i64::MAX);
            self.conn().execute(
                "INSERT INTO event_feed (position, event_id, type, order_id, channel, version, at,
                     payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &e.position,
                    &e.event_id,
                    &e.event_type,
                    &e.order_id,
                    &e.channel,
                    &version,
                    &to_ms(e.at),
                    &e.payload,
                ],
            )?;
        }
        Ok(())
    }

    fn active_subscriptions(&mut self) -> Result<Vec<SubscriptionRow>, StoreError> {
        subscriptions(
            self.conn(),
            subscription_select!("WHERE active ORDER BY id"),
            &[],
        )
    }

    fn draw_sequences(
        &mut self,
        subscription_id: &str,
        order_id: &str,
        n: i64,
    ) -> Result<i64, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "INSERT INTO webhook_sequences (subscription_id, order_id, last_sequence)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (subscription_id, order_id)
                 DO UPDATE SET last_sequence = webhook_sequences.last_sequence + $3
                 RETURNING last_sequence",
                &[&subscription_id, &order_id, &n],
            )?
            .ok_or_else(|| StoreError::Corrupt("the sequence upsert returned nothing".into()))?;
        let last: i64 = col(&row, 0)?;
        Ok(last - n + 1)
    }

    fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
        for d in deliveries {
            self.conn().execute(
                "INSERT INTO webhook_deliveries
                     (id, subscription_id, position, order_id, sequence, status, next_at,
                      created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
                &[
                    &d.id,
                    &d.subscription_id,
                    &d.position,
                    &d.order_id,
                    &d.sequence,
                    &to_ms(d.at),
                ],
            )?;
        }
        Ok(())
    }

    fn claim_deliveries(
        &mut self,
        subscription_id: &str,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let rows = self.conn().query(
            "WITH claimed AS (
                 UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $3,
                        attempts = attempts + 1
                 WHERE id IN (
                     SELECT d.id FROM webhook_deliveries d
                     JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
                     WHERE d.subscription_id = $5 AND d.status = 'pending'
                       AND d.next_at <= $2
                       AND (d.claimed_until IS NULL OR d.claimed_until <= $2)
                       AND NOT EXISTS (
                           SELECT 1 FROM webhook_deliveries p
                           WHERE p.subscription_id = d.subscription_id
                             AND p.order_id = d.order_id AND p.status = 'pending'
                             AND p.sequence < d.sequence)
                     ORDER BY d.next_at, d.position LIMIT $4
                     FOR UPDATE OF d SKIP LOCKED)
                 RETURNING id, subscription_id, sequence, attempts, position, order_id)
             SELECT c.id, c.subscription_id, s.url, s.secrets, c.sequence, c.attempts, f.payload,
                    f.event_id, c.order_id
             FROM claimed c
             JOIN webhook_subscriptions s ON s.id = c.subscription_id
             JOIN event_feed f ON f.position = c.position
             ORDER BY c.id",
            &[
                &worker,
                &to_ms(now),
                &to_ms(lease_until),
                &i64::from(limit),
                &subscription_id,
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedDelivery {
                    id: col(r, 0)?,
                    subscription_id: col(r, 1)?,
                    url: col(r, 2)?,
                    secrets: list_from_column(col(r, 3)?)?,
                    sequence: col(r, 4)?,
                    attempts: col(r, 5)?,
                    payload: col(r, 6)?,
                    event_id: col(r, 7)?,
                    order_id: col(r, 8)?,
                })
            })
            .collect()
    }

    fn finish_delivery(&mut self, o: &DeliveryOutcome) -> Result<bool, StoreError> {
        let a = &o.attempt;
        let (status, next_at, finished_at) = next_columns(o.next, false);
        let moved = self.conn().execute(
            "UPDATE webhook_deliveries
             SET status = $3, next_at = $4, finished_at = $5, last_status = $6,
                 last_error = $7, claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
            &[
                &a.delivery_id,
                &o.worker,
                &status,
                &next_at,
                &finished_at,
                &a.status_code,
                &a.error,
            ],
        )?;
        if moved == 0 {
            return Ok(false);
        }
        self.conn().execute(
            "INSERT INTO webhook_attempts (delivery_id, subscription_id, attempt, at, outcome,
                 status_code, latency_ms, error, response_body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &a.delivery_id,
                &a.subscription_id,
                &a.attempt,
                &to_ms(a.at),
                &a.outcome,
                &a.status_code,
                &a.latency_ms,
                &a.error,
                &a.response_body,
            ],
        )?;
        Ok(true)
    }

    fn note_subscription_health(
        &mut self,
        id: &str,
        failed_at: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, StoreError> {
        let row = self.conn().query_opt(
            "UPDATE webhook_subscriptions
             SET failing_since = CASE WHEN $2::BIGINT IS NULL THEN NULL
                                      ELSE COALESCE(failing_since, $2::BIGINT) END
             WHERE id = $1 RETURNING failing_since",
            &[&id, &failed_at.map(to_ms)],
        )?;
        match row {
            Some(r) => opt_ts(col(&r, 0)?),
            None => Ok(None),
        }
    }

    fn save_subscription(&mut self, s: &SubscriptionRow) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO webhook_subscriptions
                 (id, url, description, event_types, channels, secrets, active,
                  disabled_reason, failing_since, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET url = $2, description = $3, event_types = $4,
                 channels = $5, secrets = $6, active = $7, disabled_reason = $8,
                 failing_since = $9, updated_at = $12",
            &[
                &s.id,
                &s.url,
                &s.description,
                &list_to_column(&s.event_types),
                &channels_to_column(s.channels.as_deref()),
                &list_to_column(&s.secrets),
                &s.active,
                &s.disabled_reason,
                &s.failing_since.map(to_ms),
                &s.created_by,
                &to_ms(s.created_at),
                &to_ms(s.updated_at),
            ],
        )?;
        Ok(())
    }

    fn subscription_in_tx(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(subscriptions(
            self.conn(),
            subscription_select!("WHERE id = $1 FOR UPDATE"),
            &[&id],
        )?
        .into_iter()
        .next())
    }

    fn redeliver(
        &mut self,
        subscription_id: &str,
        ids: Option<&[String]>,
        (from, to): (Timestamp, Timestamp),
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let n = self.conn().execute(
            "UPDATE webhook_deliveries
             SET status = 'pending', attempts = 0, next_at = $2, finished_at = NULL,
                 claimed_by = NULL, claimed_until = NULL
             WHERE subscription_id = $1
               AND (($3::TEXT[] IS NOT NULL AND id = ANY($3))
                    OR ($3::TEXT[] IS NULL AND created_at >= $4 AND created_at < $5))",
            &[
                &subscription_id,
                &to_ms(now),
                &ids,
                &to_ms(from),
                &to_ms(to),
            ],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn insert_messages(&mut self, messages: &[NewMessage]) -> Result<(), StoreError> {
        for m in messages {
            let content = m.content.as_ref();
            self.conn().execute(
                "INSERT INTO messages (id, order_id, template, category, recipient, event_id,
                     event_type, position, transport, status, next_at, language, subject,
                     text_body, html_body, resend_of, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13,
                         $14, $15, $16, $17)",
                &[
                    &m.id,
                    &m.order_id,
                    &m.template,
                    &m.category,
                    &m.recipient,
                    &m.event_id,
                    &m.event_type,
                    &m.position,
                    &m.transport,
                    &to_ms(m.send_at),
                    &content.map(|c| c.language.as_str()),
                    &content.map(|c| c.subject.as_str()),
                    &content.map(|c| c.text.as_str()),
                    &content.map(|c| c.html.as_str()),
                    &m.resend_of,
                    &m.created_by,
                    &to_ms(m.at),
                ],
            )?;
        }
        Ok(())
    }

    fn claim_messages(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let rows = self.conn().query(
            concat!(
                "UPDATE messages SET claimed_by = $1, claimed_until = $3, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM messages
                              WHERE status = 'pending' AND next_at <= $2
                                AND (claimed_until IS NULL OR claimed_until <= $2)
                              ORDER BY next_at, id LIMIT $4
                              FOR UPDATE SKIP LOCKED)
                 RETURNING ",
                message_columns!()
            ),
            &[&worker, &to_ms(now), &to_ms(lease_until), &i64::from(limit)],
        )?;
        let mut out: Vec<MessageRow> = rows.iter().map(message_row).collect::<Result<_, _>>()?;
        out.sort_by(|a, b| (a.next_at, &a.id).cmp(&(b.next_at, &b.id)));
        Ok(out)
    }

    fn finish_message(&mut self, o: &MessageOutcome) -> Result<bool, StoreError> {
        let (status, next_at, sent_at) = next_columns(o.next, o.suppressed);
        let status = if status == "delivered" {
            "sent"
        } else {
            status
        };
        let sent_at = if status == "sent" { sent_at } else { None };
        let content = o.content.as_ref();
        let moved = self.conn().execute(
            "UPDATE messages
             SET status = $3, next_at = $4, sent_at = $5, last_error = $6,
                 language = COALESCE($7, language), subject = COALESCE($8, subject),
                 text_body = COALESCE($9, text_body), html_body = COALESCE($10, html_body),
                 claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
            &[
                &o.id,
                &o.worker,
                &status,
                &next_at,
                &sent_at,
                &o.error,
                &content.map(|c| c.language.as_str()),
                &content.map(|c| c.subject.as_str()),
                &content.map(|c| c.text.as_str()),
                &content.map(|c| c.html.as_str()),
            ],
        )?;
        Ok(moved > 0)
    }

    fn set_notification_preferences(
        &mut self,
        email: &str,
        follow_ups: bool,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO notification_preferences (email, follow_ups, updated_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET follow_ups = $2, updated_at = $3",
            &[&email, &follow_ups, &to_ms(at)],
        )?;
        Ok(())
    }
}

impl DeliveryReads for PgReader<'_> {
    fn subscriptions(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SubscriptionRow>, StoreError> {
        subscriptions(
            self.conn(),
            subscription_select!("WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after_id.unwrap_or(""), &i64::from(limit)],
        )
    }

    fn subscription(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(
            subscriptions(self.conn(), subscription_select!("WHERE id = $1"), &[&id])?
                .into_iter()
                .next(),
        )
    }

    fn deliveries(
        &mut self,
        subscription_id: &str,
        status: Option<&str>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.conn()
            .query(
                delivery_select!(
                    "WHERE d.subscription_id = $1 AND ($2::TEXT IS NULL OR d.status = $2)
                       AND ($3::TEXT IS NULL OR d.id < $3)
                     ORDER BY d.id DESC LIMIT $4"
                ),
                &[&subscription_id, &status, &before_id, &i64::from(limit)],
            )?
            .iter()
            .map(delivery_record)
            .collect()
    }

    fn delivery(&mut self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        self.conn()
            .query_opt(delivery_select!("WHERE d.id = $1"), &[&id])?
            .map(|r| delivery_record(&r))
            .transpose()
    }

    fn attempts(&mut self, delivery_ids: &[String]) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = self.conn().query(
            "SELECT delivery_id, subscription_id, attempt, at, outcome, status_code, latency_ms,
                    error, response_body
             FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY id",
            &[&delivery_ids],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRow {
                    delivery_id: col(r, 0)?,
                    subscription_id: col(r, 1)?,
                    attempt: col(r, 2)?,
                    at: from_ms(col(r, 3)?)?,
                    outcome: col(r, 4)?,
                    status_code: col(r, 5)?,
                    latency_ms: col(r, 6)?,
                    error: col(r, 7)?,
                    response_body: col(r, 8)?,
                })
            })
            .collect()
    }

    fn feed(
        &mut self,
        after: i64,
        channels: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let channels: Option<Vec<String>> = channels.map(<[String]>::to_vec);
        self.conn()
            .query(
                feed_select!(
                    "WHERE position > $1 AND ($3::TEXT[] IS NULL OR channel = ANY($3))
                     ORDER BY position LIMIT $2"
                ),
                &[&after, &i64::from(limit), &channels],
            )?
            .iter()
            .map(feed_entry)
            .collect()
    }

    fn feed_entry(&mut self, position: i64) -> Result<Option<FeedEntry>, StoreError> {
        self.conn()
            .query_opt(feed_select!("WHERE position = $1"), &[&position])?
            .map(|r| feed_entry(&r))
            .transpose()
    }

    fn messages(&mut self, order_id: &str) -> Result<Vec<MessageRow>, StoreError> {
        self.conn()
            .query(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE order_id = $1 ORDER BY created_at, id"
                ),
                &[&order_id],
            )?
            .iter()
            .map(message_row)
            .collect()
    }

    fn message(&mut self, id: &str) -> Result<Option<MessageRow>, StoreError> {
        self.conn()
            .query_opt(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE id = $1"
                ),
                &[&id],
            )?
            .map(|r| message_row(&r))
            .transpose()
    }

    fn follow_ups_wanted(&mut self, email: &str) -> Result<Option<bool>, StoreError> {
        let row = self.conn().query_opt(
            "SELECT follow_ups FROM notification_preferences WHERE email = $1",
            &[&email],
        )?;
        row.map(|r| col(&r, 0)).transpose()
    }
}
