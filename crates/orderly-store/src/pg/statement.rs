//! What a deferred statement declares about itself when it is queued: which statement it
//! is, the tables it writes and how. Combining a command's writes into one statement
//! (`deferred`) and joining several commands' (`batch`) read only these declarations,
//! never the SQL text, so what may join is decided where the statement is written, in
//! plain sight of its review, and a statement is told from another by its name, not by
//! where the compiler put its text.

/// A table that deferred statements write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    Backorders,
    Customers,
    Events,
    Exceptions,
    FulfillmentOrders,
    IdempotencyKeys,
    Inventory,
    KpiCounts,
    KpiMarks,
    Orders,
    Outbox,
    PaymentFingerprints,
    PaymentTokens,
    Reservations,
    Returns,
    Shipments,
    StockMovements,
    StoreCreditEntries,
    Timers,
}

/// How a statement writes its table, which decides how it joins others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// Inserts rows given as array columns: the rows of the same insert, from one command
    /// or several, join by appending.
    InsertRows,
    /// Changes (updates, upserts or deletes) rows given as array columns, each row named
    /// by its first `key` columns, which are text. It joins other commands' same change of
    /// *other* rows: an `UPDATE … FROM` given one row twice applies only one of them, and
    /// an upsert fails. Within a command, a later change of the same row `replaces` the
    /// earlier one, which is right only when the statement sets every column it carries;
    /// otherwise the later change goes in a statement of its own.
    Keyed { key: usize, replaces: bool },
    /// The stock change: reserved and on-hand units moved per (SKU, location), with a
    /// movement row each. Joined, the moves of every command are summed per stock row,
    /// which is locked in sorted order (see `params::stock_columns`).
    StockMoves,
    /// Anything else: sent as it is, never joined with another command's writes.
    Other,
}

impl WriteKind {
    /// Whether a statement of this kind may join other commands' writes.
    pub(crate) fn joins(self) -> bool {
        !matches!(self, WriteKind::Other)
    }
}

/// A table and how a statement writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) table: Table,
    pub(crate) kind: WriteKind,
}

impl Target {
    pub(crate) const fn rows(table: Table) -> Target {
        Target {
            table,
            kind: WriteKind::InsertRows,
        }
    }

    pub(crate) const fn keyed(table: Table, key: usize, replaces: bool) -> Target {
        Target {
            table,
            kind: WriteKind::Keyed { key, replaces },
        }
    }

    pub(crate) const fn other(table: Table) -> Target {
        Target {
            table,
            kind: WriteKind::Other,
        }
    }
}

/// Which statement a deferred write is: writes of the same statement may share one (their
/// rows appended), and a combined statement's text is cached by the statements in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StatementId {
    Begin,
    BeginReadOnly,
    BeginSnapshot,
    SeqScanOn,
    Commit,
    DeleteExpiredKey,
    InsertKey,
    RepointKey,
    InsertEvents,
    InsertOrder,
    UpdateOrder,
    InsertOutbox,
    StockChange,
    InsertMovements,
    InsertReservations,
    CloseReservations,
    InsertBackorder,
    CancelBackorders,
    FillBackorders,
    InsertTimers,
    InsertFingerprint,
    InsertPaymentToken,
    DeletePaymentToken,
    SaveFulfillmentOrder,
    SaveShipment,
    OpenException,
    ResolveExceptions,
    InsertCreditEntry,
    SaveReturn,
    AddKpiRows,
    InsertKpiMarks,
    UpsertCustomer,
    /// Statements the unit tests make up.
    #[cfg(test)]
    Test(u8),
}

/// Named subqueries (`a AS (…), b AS (…)`, without `WITH`) a statement uses, kept apart
/// so that the statement can join a combined one, with the tables they write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctes {
    pub(crate) sql: &'static str,
    pub(crate) writes: &'static [Target],
}

/// A deferred statement as declared where it is queued.
#[derive(Debug)]
pub(crate) struct StatementSpec {
    pub(crate) id: StatementId,
    /// What the statement itself writes; None for transaction control (`BEGIN …`,
    /// `SET LOCAL …`, `COMMIT`), which never joins a combined statement.
    pub(crate) target: Option<Target>,
    pub(crate) ctes: Option<Ctes>,
    pub(crate) sql: &'static str,
}

impl StatementSpec {
    /// A write to `target`.
    pub(crate) const fn write(id: StatementId, target: Target, sql: &'static str) -> Self {
        StatementSpec {
            id,
            target: Some(target),
            ctes: None,
            sql,
        }
    }

    /// A write to `target` that uses named subqueries, which may write tables too.
    pub(crate) const fn with_ctes(
        id: StatementId,
        ctes: Ctes,
        target: Target,
        sql: &'static str,
    ) -> Self {
        StatementSpec {
            id,
            target: Some(target),
            ctes: Some(ctes),
            sql,
        }
    }

    const fn control(id: StatementId, sql: &'static str) -> Self {
        StatementSpec {
            id,
            target: None,
            ctes: None,
            sql,
        }
    }

    /// The kind of write it is (None for transaction control).
    pub(crate) fn kind(&self) -> Option<WriteKind> {
        self.target.map(|t| t.kind)
    }

    /// Every table it writes, its subqueries' included.
    pub(crate) fn tables(&self) -> impl Iterator<Item = Table> + '_ {
        let ctes = self.ctes.map_or(&[][..], |c| c.writes);
        ctes.iter().chain(&self.target).map(|t| t.table)
    }
}

/// Opens a write transaction.
pub(crate) const BEGIN: StatementSpec = StatementSpec::control(StatementId::Begin, "BEGIN");
/// Opens a read transaction whose statements each see the latest commits.
pub(crate) const BEGIN_READ_ONLY: StatementSpec =
    StatementSpec::control(StatementId::BeginReadOnly, "BEGIN READ ONLY");
/// Opens a read transaction with one snapshot for all of it.
pub(crate) const BEGIN_SNAPSHOT: StatementSpec = StatementSpec::control(
    StatementId::BeginSnapshot,
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
);
/// Lets whole-table reads scan (see `PgStore::open`).
pub(crate) const SEQ_SCAN_ON: StatementSpec =
    StatementSpec::control(StatementId::SeqScanOn, "SET LOCAL enable_seqscan = on");
pub(crate) const COMMIT: StatementSpec = StatementSpec::control(StatementId::Commit, "COMMIT");

/// A statement the unit tests make up, number `n`, declared to write `target`. (Numbers
/// are unique across the crate's tests: combined texts are cached by them.)
#[cfg(test)]
pub(crate) fn test_spec(n: u8, target: Target, sql: &'static str) -> &'static StatementSpec {
    Box::leak(Box::new(StatementSpec::write(
        StatementId::Test(n),
        target,
        sql,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::{customers, fulfillment, inventory, kpi, params, returns, work, write};

    impl Table {
        fn name(self) -> &'static str {
            match self {
                Table::Backorders => "backorders",
                Table::Customers => "customers",
                Table::Events => "events",
                Table::Exceptions => "exceptions",
                Table::FulfillmentOrders => "fulfillment_orders",
                Table::IdempotencyKeys => "idempotency_keys",
                Table::Inventory => "inventory",
                Table::KpiCounts => "kpi_counts",
                Table::KpiMarks => "kpi_marks",
                Table::Orders => "orders",
                Table::Outbox => "outbox",
                Table::PaymentFingerprints => "payment_fingerprints",
                Table::PaymentTokens => "payment_tokens",
                Table::Reservations => "reservations",
                Table::Returns => "returns",
                Table::Shipments => "shipments",
                Table::StockMovements => "stock_movements",
                Table::StoreCreditEntries => "store_credit_entries",
                Table::Timers => "timers",
            }
        }
    }

    /// Every statement the store defers. A new one belongs here, so that its
    /// declaration is checked against its text.
    const ALL: &[&StatementSpec] = &[
        &BEGIN,
        &BEGIN_READ_ONLY,
        &BEGIN_SNAPSHOT,
        &SEQ_SCAN_ON,
        &COMMIT,
        &write::DELETE_EXPIRED_KEY,
        &write::INSERT_KEY,
        &write::REPOINT_KEY,
        &write::INSERT_EVENTS,
        &write::INSERT_ORDER,
        &write::UPDATE_ORDER,
        &work::INSERT_OUTBOX,
        &params::STOCK_CHANGE,
        &inventory::INSERT_MOVEMENTS,
        &inventory::INSERT_RESERVATIONS,
        &inventory::CLOSE_RESERVATIONS,
        &inventory::INSERT_BACKORDER,
        &inventory::CANCEL_BACKORDERS,
        &inventory::FILL_BACKORDERS,
        &work::INSERT_TIMERS,
        &work::INSERT_FINGERPRINT,
        &work::INSERT_PAYMENT_TOKEN,
        &work::DELETE_PAYMENT_TOKEN,
        &fulfillment::SAVE_FULFILLMENT_ORDER,
        &fulfillment::SAVE_SHIPMENT,
        &fulfillment::OPEN_EXCEPTION,
        &fulfillment::RESOLVE_EXCEPTIONS,
        &work::INSERT_CREDIT_ENTRY,
        &returns::SAVE_RETURN,
        &customers::UPSERT_CUSTOMER,
        &kpi::ADD_KPI_ROWS,
        &kpi::INSERT_KPI_MARKS,
    ];

    /// The tables a statement's text changes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM
    /// t`; an upsert's `ON CONFLICT … DO UPDATE SET` names no table): what the store once
    /// decided joins by, now only a check of the declarations.
    fn written_tables(sql: &str) -> Vec<&str> {
        let mut found: Vec<(usize, &str)> = ["INSERT INTO ", "UPDATE ", "DELETE FROM "]
            .into_iter()
            .flat_map(|verb| {
                sql.match_indices(verb)
                    .filter(|(at, _)| !sql[..*at].ends_with("DO "))
                    .map(move |(at, _)| (at, &sql[at + verb.len()..]))
            })
            .filter_map(|(at, rest)| {
                let name = rest.split(|c: char| c.is_whitespace() || c == '(').next()?;
                Some((at, name))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, name)| name).collect()
    }

    #[test]
    fn every_statement_declares_the_tables_its_text_writes() {
        for spec in ALL {
            let declared: Vec<&str> = spec.tables().map(Table::name).collect();
            let mut scanned = written_tables(spec.ctes.map_or("", |c| c.sql));
            scanned.extend(written_tables(spec.sql));
            assert_eq!(declared, scanned, "{:?}", spec.id);
            if spec.target.is_none() {
                assert!(
                    ["BEGIN", "SET ", "COMMIT"]
                        .iter()
                        .any(|c| spec.sql.starts_with(c)),
                    "{:?} is declared as transaction control",
                    spec.id
                );
            }
        }
    }

    #[test]
    fn every_statement_has_a_name_of_its_own() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.sql, b.sql, "{:?} and {:?}", a.id, b.id);
            }
        }
    }

    #[test]
    fn keyed_statements_name_rows_by_columns_they_carry() {
        for spec in ALL {
            if let Some(WriteKind::Keyed { key, .. }) = spec.kind() {
                // Parameters are numbered from $1: the key columns come first, as text.
                assert!(key >= 1, "{:?}", spec.id);
                for i in 1..=key {
                    assert!(spec.sql.contains(&format!("${i}::text[]")), "{:?}", spec.id);
                }
            }
        }
    }
}
