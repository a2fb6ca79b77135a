//! Durations kept as counts per bucket, so a percentile over any period and grouping is
//! a walk over a few hundred buckets. Buckets are exact where people read them: to the
//! minute below two hours, to ten minutes below a day, to the hour below a week, to six
//! hours below 60 days, to the day beyond. A percentile is the lower edge of the bucket
//! holding its rank, so a duration of whole hours under a week is reported exactly.

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// (start in seconds, bucket width in seconds), in rising order.
const BANDS: [(i64, i64); 5] = [
    (0, MINUTE),
    (2 * HOUR, 10 * MINUTE),
    (DAY, HOUR),
    (7 * DAY, 6 * HOUR),
    (60 * DAY, DAY),
];

/// How many buckets a band holds before the next one starts.
fn band_len(i: usize) -> i64 {
    match BANDS.get(i + 1) {
        Some((next, _)) => (next - BANDS[i].0) / BANDS[i].1,
        None => i64::MAX,
    }
}

/// The bucket of a duration in seconds (negative durations count as zero).
pub fn bucket_of(seconds: i64) -> i64 {
    let seconds = seconds.max(0);
    let mut first = 0;
    for (i, (start, width)) in BANDS.iter().enumerate() {
        let len = band_len(i);
        let end = start.saturating_add(len.saturating_mul(*width));
        if seconds < end {
            return first + (seconds - start) / width;
        }
        first += len;
    }
    first
}

/// The shortest duration in seconds that falls in `bucket`.
pub fn bucket_floor(bucket: i64) -> i64 {
    let mut rest = bucket.max(0);
    for (i, (start, width)) in BANDS.iter().enumerate() {
        let len = band_len(i);
        if rest < len {
            return start.saturating_add(rest.saturating_mul(*width));
        }
        rest -= len;
    }
    0
}

/// The `p`-th percentile (0 < p ≤ 100) of the counted values, nearest rank: the smallest
/// bucket by which at least p % of the observations are counted, as its key (`floor`
/// turns it into a value). None when nothing was counted.
pub fn percentile(buckets: &[(i64, i64)], p: u32) -> Option<i64> {
    let mut sorted: Vec<(i64, i64)> = buckets.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_unstable();
    let total: i64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // ceil(p/100 × total), at least 1.
    let rank = ((i64::from(p.min(100)) * total + 99) / 100).max(1);
    let mut seen = 0;
    for (bucket, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(bucket);
        }
    }
    None
}
