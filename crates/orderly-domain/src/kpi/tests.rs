use super::*;

#[test]
fn buckets_are_exact_where_people_read_them() {
    for (seconds, floor) in [
        (0, 0),
        (59, 0),
        (61, 60),
        (7_199, 7_140),
        (7_200, 7_200),
        (7_799, 7_200),
        (86_399, 85_800),
        (26 * 3_600 + 59, 26 * 3_600),
        (7 * 86_400 + 3 * 3_600, 7 * 86_400),
        (61 * 86_400 + 5, 61 * 86_400),
    ] {
        assert_eq!(bucket_floor(bucket_of(seconds)), floor, "{seconds} s");
    }
    assert_eq!(bucket_of(-5), 0);
    // Rising durations never fall into an earlier bucket.
    let mut last = 0;
    for s in (0..100 * 86_400).step_by(577) {
        let b = bucket_of(s);
        assert!(b >= last && bucket_floor(b) <= s, "{s}");
        last = b;
    }
}

#[test]
fn percentile_is_the_nearest_rank() {
    // Ten observations: 1 h ×5, 2 h ×3, 30 h ×2.
    let h = |n: i64| bucket_of(n * 3_600);
    let buckets = [(h(2), 3), (h(1), 5), (h(30), 2), (h(9), 0)];
    assert_eq!(percentile(&buckets, 50).map(bucket_floor), Some(3_600));
    assert_eq!(percentile(&buckets, 60).map(bucket_floor), Some(7_200));
    assert_eq!(percentile(&buckets, 90).map(bucket_floor), Some(30 * 3_600));
    assert_eq!(
        percentile(&buckets, 100).map(bucket_floor),
        Some(30 * 3_600)
    );
    assert_eq!(percentile(&[], 50), None);
}

#[test]
fn money_figures_are_stored_per_currency() {
    let usd = Currency::parse("USD").expect("a currency");
    let name = Metric::RefundAmount.stored_name(Some(&usd));
    assert_eq!(name, "refund_amount.USD");
    assert_eq!(
        Metric::parse_stored(&name),
        Some((Metric::RefundAmount, Some(usd)))
    );
    assert_eq!(
        Metric::parse_stored("orders_placed"),
        Some((Metric::OrdersPlaced, None))
    );
    assert_eq!(Metric::parse_stored("nonsense"), None);
}

#[test]
fn tallies_count_a_subject_at_the_reached_number_only() {
    let day = jiff::civil::date(2026, 12, 7);
    let once = Point::count(Metric::OrdersContacted, day, vec![]);
    let twice = Point::count(Metric::OrdersRepeatContact, day, vec![]);
    let reach = [(1, once.clone()), (2, twice.clone())];
    assert_eq!(Effect::reached(&reach, 1), vec![once]);
    assert_eq!(Effect::reached(&reach, 2), vec![twice]);
    assert!(Effect::reached(&reach, 3).is_empty());
}

#[test]
fn after_mark_counts_only_what_came_later() {
    let day = jiff::civil::date(2026, 12, 7);
    let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).expect("a time");
    let p = Point::count(Metric::ExchangeTime, day, vec![]);
    assert_eq!(Effect::after(&p, true, t(10), None), None);
    assert_eq!(Effect::after(&p, true, t(10), Some(t(20))), None);
    let timed = Effect::after(&p, true, t(7_200), Some(t(0))).expect("a point");
    assert_eq!((timed.sum, bucket_floor(timed.bucket)), (7_200, 7_200));
    let counted = Effect::after(&p, false, t(10), Some(t(0))).expect("a point");
    assert_eq!((counted.count, counted.sum), (1, 0));
}
