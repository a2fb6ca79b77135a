//! The delivery side on SQLite (see `crate::delivery`). One writer means a claim cannot
//! race another and feed positions are drawn in commit order by construction; the head
//! row is kept anyway so both backends draw them the same way.
//!
//! The file is longer than most: it holds both sides (`DeliveryTx`, `DeliveryReads`) of
//! the same seven tables, kept together so a column changes in one place per backend,
//! with its twin in `pg/delivery.rs`.

use super::queries::{ts, ts_opt};
use super::read::SqliteReader;
use super::write::SqliteTx;
use crate::delivery::{
    AttemptRow, ClaimedDelivery, DeliveryOutcome, DeliveryReads, DeliveryRecord, DeliveryTx,
    FeedEntry, MessageContent, MessageOutcome, MessageRow, NewDelivery, NewMessage,
    SubscriptionRow, list_from_column, list_to_column, next_columns,
};
use crate::error::StoreError;
use crate::rows::{channels_from_column, channels_to_column};
use crate::to_ms;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

const SUBSCRIPTION_COLUMNS: &str = "id, url, description, event_types, channels, secrets, active, \
     disabled_reason, failing_since, created_by, created_at, updated_at";

/// A subscription row with its JSON columns still encoded: (row, event types, secrets,
/// channels).
type RawSubscription = (SubscriptionRow, String, String, Option<String>);

fn subscription(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSubscription> {
    Ok((
        SubscriptionRow {
            id: r.get(0)?,
            url: r.get(1)?,
            description: r.get(2)?,
            event_types: Vec::new(),
            channels: None,
            secrets: Vec::new(),
            active: r.get(6)?,
            disabled_reason: r.get(7)?,
            failing_since: ts_opt(r, 8)?,
            created_by: r.get(9)?,
            created_at: ts(r, 10)?,
            updated_at: ts(r, 11)?,
        },
        r.get(3)?,
        r.get(5)?,
        r.get(4)?,
    ))
}

/// Decodes the JSON columns `subscription` carried along.
fn finish_subscription(
    (mut s, types, secrets, channels): RawSubscription,
) -> Result<SubscriptionRow, StoreError> {
    s.event_types = list_from_column(&types)?;
    s.secrets = list_from_column(&secrets)?;
    s.channels = channels_from_column(channels)?;
    Ok(s)
}

fn subscriptions_where(
    c: &Connection,
    condition: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<SubscriptionRow>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions {condition}");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, subscription)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(finish_subscription(row?)?);
    }
    Ok(out)
}

fn feed_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedEntry> {
    Ok(FeedEntry {
        position: r.get(0)?,
        event_id: r.get(1)?,
        event_type: r.get(2)?,
        order_id: r.get(3)?,
        channel: r.get(4)?,
        version: r.get::<_, i64>(5)?.try_into().unwrap_or_default(),
        at: ts(r, 6)?,
        payload: r.get(7)?,
    })
}

const FEED_COLUMNS: &str = "position, event_id, type, order_id, channel, version, at, payload";

const DELIVERY_COLUMNS: &str = "d.id, d.subscription_id, d.position, f.event_id, f.type, \
     d.order_id, d.sequence, d.status, d.attempts, d.next_at, d.created_at, d.finished_at, \
     d.last_status, d.last_error";

fn delivery_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.get(0)?,
        subscription_id: r.get(1)?,
        position: r.get(2)?,
        event_id: r.get(3)?,
        event_type: r.get(4)?,
        order_id: r.get(5)?,
        sequence: r.get(6)?,
        status: r.get(7)?,
        attempts: r.get(8)?,
        next_at: ts(r, 9)?,
        created_at: ts(r, 10)?,
        finished_at: ts_opt(r, 11)?,
        last_status: r.get(12)?,
        last_error: r.get(13)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, order_id, template, category, recipient, event_id, event_type, \
     position, transport, status, attempts, next_at, language, subject, text_body, html_body, \
     last_error, resend_of, created_by, created_at, sent_at";

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    let language: Option<String> = r.get(12)?;
    let content = match language {
        Some(language) => Some(MessageContent {
            language,
            subject: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
            text: r.get::<_, Option<String>>(14)?.unwrap_or_default(),
            html: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(MessageRow {
        id: r.get(0)?,
        order_id: r.get(1)?,
        template: r.get(2)?,
        category: r.get(3)?,
        recipient: r.get(4)?,
        event_id: r.get(5)?,
        event_type: r.get(6)?,
        position: r.get(7)?,
        transport: r.get(8)?,
        status: r.get(9)?,
        attempts: r.get(10)?,
        next_at: ts(r, 11)?,
        content,
        last_error: r.get(16)?,
        resend_of: r.get(17)?,
        created_by: r.get(18)?,
        created_at: ts(r, 19)?,
        sent_at: ts_opt(r, 20)?,
    })
}

impl DeliveryTx for SqliteTx<'_> {
    fn draw_feed_positions(&mut self, n: i64) -> Result<i64, StoreError> {
        let last: i64 = self
            .conn()
            .prepare_cached(
                "UPDATE feed_head SET position = position + ?1 WHERE id = 1 RETURNING position",
            )?
            .query_row([n], |r| r.get(0))?;
        Ok(last - n + 1)
    }

    fn insert_feed(&mut self, entries: &[FeedEntry]) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO event_feed (position, event_id, type, order_id, channel, version, at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in entries {
            stmt.execute(params![
                e.position,
                e.event_id,
                e.event_type,
                e.order_id,
                e.channel,
                i64::try_from(e.version).unwrap_or(i64::MAX),
                to_ms(e.at),
                e.payload
            ])?;
        }
        Ok(())
    }

    fn active_subscriptions(&mut self) -> Result<Vec<SubscriptionRow>, StoreError> {
        subscriptions_where(self.conn(), "WHERE active ORDER BY id", &[])
    }

    fn draw_sequences(
        &mut self,
        subscription_id: &str,
        order_id: &str,
        n: i64,
    ) -> Result<i64, StoreError> {
        let last: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO webhook_sequences (subscription_id, order_id, last_sequence)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (subscription_id, order_id)
                 DO UPDATE SET last_sequence = last_sequence + ?3
                 RETURNING last_sequence",
            )?
            .query_row(params![subscription_id, order_id, n], |r| r.get(0))?;
        Ok(last - n + 1)
    }

    fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO webhook_deliveries
                 (id, subscription_id, position, order_id, sequence, status, next_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        )?;
        for d in deliveries {
            stmt.execute(params![
                d.id,
                d.subscription_id,
                d.position,
                d.order_id,
                d.sequence,
                to_ms(d.at)
            ])?;
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
        let c = self.conn();
        let ids: Vec<String> = c
            .prepare_cached(
                "UPDATE webhook_deliveries SET claimed_by = ?1, claimed_until = ?3,
                        attempts = attempts + 1
                 WHERE id IN (
                     SELECT d.id FROM webhook_deliveries d
                     JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
                     WHERE d.subscription_id = ?5 AND d.status = 'pending'
                       AND d.next_at <= ?2
                       AND (d.claimed_until IS NULL OR d.claimed_until <= ?2)
                       AND NOT EXISTS (
                           SELECT 1 FROM webhook_deliveries p
                           WHERE p.subscription_id = d.subscription_id
                             AND p.order_id = d.order_id AND p.status = 'pending'
                             AND p.sequence < d.sequence)
                     ORDER BY d.next_at, d.position LIMIT ?4)
                 RETURNING id",
            )?
            .query_map(
                params![
                    worker,
                    to_ms(now),
                    to_ms(lease_until),
                    limit,
                    subscription_id
                ],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        let mut stmt = c.prepare_cached(
            "SELECT d.id, d.subscription_id, s.url, s.secrets, d.sequence, d.attempts, f.payload,
                    f.event_id, d.order_id
             FROM webhook_deliveries d
             JOIN webhook_subscriptions s ON s.id = d.subscription_id
             JOIN event_feed f ON f.position = d.position
             WHERE d.id = ?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            let (row, secrets) = stmt.query_row([id], |r| {
                Ok((
                    ClaimedDelivery {
                        id: r.get(0)?,
                        subscription_id: r.get(1)?,
                        url: r.get(2)?,
                        secrets: Vec::new(),
                        sequence: r.get(4)?,
                        attempts: r.get(5)?,
                        payload: r.get(6)?,
                        event_id: r.get(7)?,
                        order_id: r.get(8)?,
                    },
                    r.get::<_, String>(3)?,
                ))
            })?;
            out.push(ClaimedDelivery {
                secrets: list_from_column(&secrets)?,
                ..row
            });
        }
        out.sort_by_key(|d| d.id.clone());
        Ok(out)
    }

    fn finish_delivery(&mut self, o: &DeliveryOutcome) -> Result<bool, StoreError> {
        let c = self.conn();
        let a = &o.attempt;
        let (status, next_at, finished_at) = next_columns(o.next, false);
        let moved = c
            .prepare_cached(
                "UPDATE webhook_deliveries
                 SET status = ?3, next_at = ?4, finished_at = ?5, last_status = ?6,
                     last_error = ?7, claimed_by = NULL, claimed_until = NULL
                 WHERE id = ?1 AND claimed_by = ?2 AND status = 'pending'",
            )?
            .execute(params![
                a.delivery_id,
                o.worker,
                status,
                next_at,
                finished_at,
                a.status_code,
                a.error
            ])?;
        if moved == 0 {
            return Ok(false);
        }
        c.prepare_cached(
            "INSERT INTO webhook_attempts (delivery_id, subscription_id, attempt, at, outcome,
                 status_code, latency_ms, error, response_body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            a.delivery_id,
            a.subscription_id,
            a.attempt,
            to_ms(a.at),
            a.outcome,
            a.status_code,
            a.latency_ms,
            a.error,
            a.response_body
        ])?;
        Ok(true)
    }

    fn note_subscription_health(
        &mut self,
        id: &str,
        failed_at: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, StoreError> {
        let since: Option<Option<i64>> = self
            .conn()
            .prepare_cached(
                "UPDATE webhook_subscriptions
                 SET failing_since = CASE WHEN ?2 IS NULL THEN NULL
                                          ELSE COALESCE(failing_since, ?2) END
                 WHERE id = ?1 RETURNING failing_since",
            )?
            .query_row(params![id, failed_at.map(to_ms)], |r| r.get(0))
            .optional()?;
        since.flatten().map(crate::from_ms).transpose()
    }

    fn save_subscription(&mut self, s: &SubscriptionRow) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO webhook_subscriptions
                     (id, url, description, event_types, channels, secrets, active,
                      disabled_reason, failing_since, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                s.id,
                s.url,
                s.description,
                list_to_column(&s.event_types),
                channels_to_column(s.channels.as_deref()),
                list_to_column(&s.secrets),
                s.active,
                s.disabled_reason,
                s.failing_since.map(to_ms),
                s.created_by,
                to_ms(s.created_at),
                to_ms(s.updated_at)
            ])?;
        Ok(())
    }

    fn subscription_in_tx(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(subscriptions_where(self.conn(), "WHERE id = ?1", &[&id])?
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
        let c = self.conn();
        let reset = "UPDATE webhook_deliveries
             SET status = 'pending', attempts = 0, next_at = ?2, finished_at = NULL,
                 claimed_by = NULL, claimed_until = NULL
             WHERE subscription_id = ?1";
        match ids {
            Some(ids) => {
                let mut stmt = c.prepare_cached(&format!("{reset} AND id = ?3"))?;
                let mut n = 0;
                for id in ids {
                    n += stmt.execute(params![subscription_id, to_ms(now), id])?;
                }
                Ok(n)
            }
            None => Ok(c
                .prepare_cached(&format!("{reset} AND created_at >= ?3 AND created_at < ?4"))?
                .execute(params![subscription_id, to_ms(now), to_ms(from), to_ms(to)])?),
        }
    }

    fn insert_messages(&mut self, messages: &[NewMessage]) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO messages (id, order_id, template, category, recipient, event_id,
                 event_type, position, transport, status, next_at, language, subject, text_body,
                 html_body, resend_of, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11, ?12, ?13, ?14,
                     ?15, ?16, ?17)",
        )?;
        for m in messages {
            let content = m.content.as_ref();
            stmt.execute(params![
                m.id,
                m.order_id,
                m.template,
                m.category,
                m.recipient,
                m.event_id,
                m.event_type,
                m.position,
                m.transport,
                to_ms(m.send_at),
                content.map(|c| &c.language),
                content.map(|c| &c.subject),
                content.map(|c| &c.text),
                content.map(|c| &c.html),
                m.resend_of,
                m.created_by,
                to_ms(m.at)
            ])?;
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
        let sql = format!(
            "UPDATE messages SET claimed_by = ?1, claimed_until = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM messages
                          WHERE status = 'pending' AND next_at <= ?2
                            AND (claimed_until IS NULL OR claimed_until <= ?2)
                          ORDER BY next_at, id LIMIT ?4)
             RETURNING {MESSAGE_COLUMNS}"
        );
        let mut out: Vec<MessageRow> = self
            .conn()
            .prepare_cached(&sql)?
            .query_map(
                params![worker, to_ms(now), to_ms(lease_until), limit],
                message_row,
            )?
            .collect::<Result<_, _>>()?;
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
        let moved = self
            .conn()
            .prepare_cached(
                "UPDATE messages
                 SET status = ?3, next_at = ?4, sent_at = ?5, last_error = ?6,
                     language = COALESCE(?7, language), subject = COALESCE(?8, subject),
                     text_body = COALESCE(?9, text_body), html_body = COALESCE(?10, html_body),
                     claimed_by = NULL, claimed_until = NULL
                 WHERE id = ?1 AND claimed_by = ?2 AND status = 'pending'",
            )?
            .execute(params![
                o.id,
                o.worker,
                status,
                next_at,
                sent_at,
                o.error,
                content.map(|c| &c.language),
                content.map(|c| &c.subject),
                content.map(|c| &c.text),
                content.map(|c| &c.html)
            ])?;
        Ok(moved > 0)
    }

    fn set_notification_preferences(
        &mut self,
        email: &str,
        follow_ups: bool,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO notification_preferences (email, follow_ups, updated_at)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (email) DO UPDATE SET follow_ups = ?2, updated_at = ?3",
            )?
            .execute(params![email, follow_ups, to_ms(at)])?;
        Ok(())
    }
}

impl DeliveryReads for SqliteReader<'_> {
    fn subscriptions(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SubscriptionRow>, StoreError> {
        subscriptions_where(
            self.conn(),
            "WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[&after_id.unwrap_or(""), &limit],
        )
    }

    fn subscription(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(subscriptions_where(self.conn(), "WHERE id = ?1", &[&id])?
            .into_iter()
            .next())
    }

    fn deliveries(
        &mut self,
        subscription_id: &str,
        status: Option<&str>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             JOIN event_feed f ON f.position = d.position
             WHERE d.subscription_id = ?1 AND (?2 IS NULL OR d.status = ?2)
               AND (?3 IS NULL OR d.id < ?3)
             ORDER BY d.id DESC LIMIT ?4"
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_map(
                params![subscription_id, status, before_id, limit],
                delivery_record,
            )?
            .collect::<Result<_, _>>()?)
    }

    fn delivery(&mut self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             JOIN event_feed f ON f.position = d.position WHERE d.id = ?1"
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([id], delivery_record)
            .optional()?)
    }

    fn attempts(&mut self, delivery_ids: &[String]) -> Result<Vec<AttemptRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT delivery_id, subscription_id, attempt, at, outcome, status_code, latency_ms,
                    error, response_body
             FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY id",
        )?;
        let mut out = Vec::new();
        for id in delivery_ids {
            let rows = stmt.query_map([id], |r| {
                Ok(AttemptRow {
                    delivery_id: r.get(0)?,
                    subscription_id: r.get(1)?,
                    attempt: r.get(2)?,
                    at: ts(r, 3)?,
                    outcome: r.get(4)?,
                    status_code: r.get(5)?,
                    latency_ms: r.get(6)?,
                    error: r.get(7)?,
                    response_body: r.get(8)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    fn feed(
        &mut self,
        after: i64,
        channels: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let sql = format!(
            "SELECT {FEED_COLUMNS} FROM event_feed
             WHERE position > ?1
               AND (?3 IS NULL OR channel IN (SELECT value FROM json_each(?3)))
             ORDER BY position LIMIT ?2"
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_map(
                params![after, limit, channels_to_column(channels)],
                feed_entry,
            )?
            .collect::<Result<_, _>>()?)
    }

    fn feed_entry(&mut self, position: i64) -> Result<Option<FeedEntry>, StoreError> {
        let sql = format!("SELECT {FEED_COLUMNS} FROM event_feed WHERE position = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([position], feed_entry)
            .optional()?)
    }

    fn messages(&mut self, order_id: &str) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE order_id = ?1 ORDER BY created_at, id"
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_map([order_id], message_row)?
            .collect::<Result<_, _>>()?)
    }

    fn message(&mut self, id: &str) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([id], message_row)
            .optional()?)
    }

    fn follow_ups_wanted(&mut self, email: &str) -> Result<Option<bool>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT follow_ups FROM notification_preferences WHERE email = ?1")?
            .query_row([email], |r| r.get(0))
            .optional()?)
    }
}
