//! KPIs kept as events commit: the counters the demo's history leaves equal what a
//! rebuild from the event log gives, and the API's figures follow from them.

use crate::helpers::*;
use orderly_domain::kpi::Dim;
use orderly_store::{KpiMarks, KpiRows};

async fn kept(app: &TestApp) -> (Vec<KpiRows>, KpiMarks) {
    let from = jiff::civil::date(2000, 1, 1);
    let to = jiff::civil::date(2100, 1, 1);
    app.state
        .store
        .read(move |r| {
            let mut rows = Vec::new();
            for dim in Dim::ALL {
                rows.push(r.kpi_rows(*dim, from, to)?);
            }
            Ok((rows, r.kpi_marks()?))
        })
        .await
        .expect("read the counters")
}

fn count(rows: &KpiRows, metric: &str) -> i64 {
    rows.iter()
        .filter(|(k, _)| k.metric == metric)
        .map(|(_, v)| v.count)
        .sum()
}

#[tokio::test]
async fn rebuilding_from_the_event_log_gives_the_counters_kept_as_events_committed() {
    let app = spawn_app().await;
    orderly::demo::prepare(&app.state, app.addr)
        .await
        .expect("the demo's history");
    let (rows, marks) = kept(&app).await;
    let all = &rows[0];
    let orders = app.order_rows().await;
    assert_eq!(count(all, "orders_placed"), orders);
    for metric in [
        "shipments",
        "order_to_ship",
        "cycle_time",
        "delivered_units",
        "orders_cancelled",
        "returns_requested",
        "returns_authorized",
        "orders_with_exception",
    ] {
        assert!(count(all, metric) > 0, "the demo counts some {metric}");
    }
    assert!(!marks.is_empty());

    let rebuilt = app.state.rebuild_kpis().await.expect("rebuild");
    assert_eq!(rebuilt.orders as i64, orders);
    let (again, marks_again) = kept(&app).await;
    for (dim, (before, after)) in Dim::ALL.iter().zip(rows.iter().zip(&again)) {
        assert_eq!(before, after, "the {} counters", dim.as_str());
    }
    assert_eq!(marks, marks_again);

    // The API reads the same counters.
    let page = app
        .get("/metrics/kpis?from=2000-01-01&to=2000-12-31&group_by=channel")
        .await
        .expect(200);
    let placed = page["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "orders_placed")
        .unwrap();
    assert_eq!(placed["total"]["count"], 0, "nothing happened in 2000");
}
