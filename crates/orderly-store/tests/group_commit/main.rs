//! Group commit changes when commands commit, never what they leave behind. A random mix
//! of placements, payment steps and commands that fail (refused before writing, failing
//! after writing, or refused by the database at commit), committed concurrently so that
//! they group, leaves exactly the rows (surrogate ids aside) that the same commands leave
//! when committed one by one with group commit off, and every command gets the same
//! answer. The store's counters must show that groups were joined and that a failure made
//! a group fall back to one by one, so the property cannot hold by never grouping.
//!
//! Runs on SQLite, or on PostgreSQL when `ORDERLY_TEST_DATABASE_URL` names a server (see
//! `common`). The commands touch disjoint rows (each placement its own SKU, each payment
//! step its own order), so the order in which concurrent commands commit cannot change
//! what they decide.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commands;
#[path = "../common/mod.rs"]
mod common;

use commands::{Command, Plan, Step, batch_second, ending, plan, run, set_up, shown, step};
use futures_util::future::{join, join_all};
use orderly_store::GroupStats;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// Whether a row (as `common::TestStore::rows` writes it) has a value that is `id`.
fn names(row: &str, id: &str) -> bool {
    row.contains(&format!("'{id}'")) || row.contains(&format!("\"{id}\""))
}

/// One case: the batch committed wave by wave, each wave's commands concurrently, on a
/// store that groups, and one by one on a store that does not; returns what the grouping
/// store counted.
async fn case(
    waves: Vec<Vec<Step>>,
    closed: &mut Vec<common::Closed>,
) -> Result<GroupStats, TestCaseError> {
    let plan = plan(&waves);
    let (grouped, alone) = join(common::open(true), common::open(false)).await;
    let compared = compare(&plan, &grouped, &alone).await;
    closed.extend([grouped.close(), alone.close()]);
    compared
}

/// Runs the plan on both stores and compares what they answered and kept.
async fn compare(
    plan: &Plan,
    grouped: &common::TestStore,
    alone: &common::TestStore,
) -> Result<GroupStats, TestCaseError> {
    join(set_up(&grouped.store, plan), set_up(&alone.store, plan)).await;
    // Connections opened before the batch (on PostgreSQL), so that opening one does not
    // hold a command back from the others of its wave.
    let pings = (0..8).map(|_| grouped.store.read(|r| r.ping()));
    for ping in join_all(pings).await {
        ping.unwrap();
    }
    let before = grouped.store.group_stats();

    // A wave's commands are submitted at once (each write is queued when first polled),
    // so that they wait together and group.
    let mut together = Vec::with_capacity(plan.batch.len());
    let mut next = 0;
    for &size in &plan.waves {
        let wave = (next..next + size).map(|i| {
            let second = batch_second(plan, i);
            run(grouped.store.clone(), plan.batch[i].0.clone(), second)
        });
        together.extend(join_all(wave).await);
        next += size;
    }
    let mut one_by_one = Vec::with_capacity(plan.batch.len());
    for (i, (command, _)) in plan.batch.iter().enumerate() {
        let second = batch_second(plan, i);
        one_by_one.push(run(alone.store.clone(), command.clone(), second).await);
    }

    for (i, (command, expected)) in plan.batch.iter().enumerate() {
        let (a, b) = (ending(&together[i]), ending(&one_by_one[i]));
        prop_assert_eq!(
            (&a, &b),
            (&Ok(*expected), &Ok(*expected)),
            "command {} ({:?}): grouped {}, one by one {}",
            i,
            command,
            shown(&together[i]),
            shown(&one_by_one[i])
        );
    }
    let (rows_grouped, rows_alone) = join(grouped.rows(), alone.rows()).await;
    // A command that failed leaves nothing: no row names the order it would have made.
    // (On SQLite both runs go through the writer's savepoint fallback, a group of one
    // being a group too, so this is what shows that the fallback undoes a failure.)
    for (command, _) in &plan.batch {
        let (Command::Oversell(p) | Command::FailAfterWriting(p)) = command else {
            continue;
        };
        for (store, rows) in [("grouped", &rows_grouped), ("one by one", &rows_alone)] {
            let left: Vec<&String> = rows
                .values()
                .flatten()
                .filter(|r| names(r, &p.id))
                .collect();
            prop_assert!(
                left.is_empty(),
                "{} left by failed {:?} ({}): {:?}",
                left.len(),
                command,
                store,
                left
            );
        }
    }
    for (table, rows) in &rows_alone {
        let other = rows_grouped.get(table).cloned().unwrap_or_default();
        let missing: Vec<&String> = rows.iter().filter(|r| !other.contains(r)).collect();
        let extra: Vec<&String> = other.iter().filter(|r| !rows.contains(r)).collect();
        prop_assert!(
            missing.is_empty() && extra.is_empty() && rows.len() == other.len(),
            "table {}: committed in groups, {:?} are missing and {:?} are extra",
            table,
            missing,
            extra
        );
    }
    prop_assert_eq!(
        rows_grouped.keys().collect::<Vec<_>>(),
        rows_alone.keys().collect::<Vec<_>>()
    );
    let report = grouped.store.check().await.unwrap();
    prop_assert!(report.violations.is_empty(), "{:?}", report.violations);
    prop_assert_eq!(
        alone.store.group_stats().groups_joined,
        0,
        "group commit off joins nothing"
    );

    let after = grouped.store.group_stats();
    Ok(GroupStats {
        groups_joined: after.groups_joined - before.groups_joined,
        commands_in_joined_groups: after.commands_in_joined_groups
            - before.commands_in_joined_groups,
        fallbacks_one_by_one: after.fallbacks_one_by_one - before.fallbacks_one_by_one,
    })
}

/// Most rounds of cases run to see a joined group and a fallback (see the test).
const MAX_ROUNDS: u32 = 4;

#[test]
fn commands_committed_in_groups_leave_the_rows_they_leave_one_by_one() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let config = Config {
        cases,
        max_shrink_iters: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/group_commit.txt",
        ))),
        ..Config::default()
    };
    let waves = prop::collection::vec(prop::collection::vec(step(), 1..6), 2..6);
    let seen = std::sync::Mutex::new(GroupStats::default());
    let closed = std::sync::Mutex::new(Vec::new());
    // Whether a wave groups, and whether a failing command lands in a joined group, is
    // up to timing (on PostgreSQL, when commands reach the committer). Every round checks
    // the property on each of its cases; rounds go on until the counters have shown both,
    // so that the test cannot pass without them, and stop at a bound, failing, on a store
    // that never groups.
    let mut rounds = 0;
    loop {
        let now = *seen.lock().unwrap();
        if rounds == MAX_ROUNDS || (now.groups_joined > 0 && now.fallbacks_one_by_one > 0) {
            break;
        }
        rounds += 1;
        let result = TestRunner::new(config.clone()).run(&waves, |waves| {
            let mut done = Vec::new();
            let counted = runtime.block_on(case(waves, &mut done));
            closed.lock().unwrap().extend(done);
            let counted = counted?;
            let mut seen = seen.lock().unwrap();
            seen.groups_joined += counted.groups_joined;
            seen.commands_in_joined_groups += counted.commands_in_joined_groups;
            seen.fallbacks_one_by_one += counted.fallbacks_one_by_one;
            Ok(())
        });
        if let Err(e) = result {
            runtime.block_on(common::remove(closed.into_inner().unwrap()));
            panic!("{e}");
        }
    }
    runtime.block_on(common::remove(closed.into_inner().unwrap()));
    let seen = *seen.lock().unwrap();
    println!("group commit over {rounds} round(s) of {cases} cases: {seen:?}");
    assert!(
        seen.groups_joined > 0,
        "no group was joined, so nothing was compared: {seen:?}"
    );
    assert!(
        seen.fallbacks_one_by_one > 0,
        "no group fell back to one by one: {seen:?}"
    );
}
