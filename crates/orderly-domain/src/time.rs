//! The one way Orderly writes a time: RFC 3339 in UTC with exactly three fractional
//! digits (`2026-12-03T10:51:17.000Z`). A fixed width makes times from every source (our
//! clock, a carrier, a client) sort as strings and read alike; jiff's own `Display` drops
//! trailing zeros (`10:51:17.1Z`, `10:51:17Z`). Reading accepts any RFC 3339 time, so
//! values stored before in another width read back unchanged.

use crate::Timestamp;
use std::fmt;

/// `ts` in the wire format.
pub fn rfc3339(ts: Timestamp) -> String {
    Rfc3339(ts).to_string()
}

/// A time that displays in the wire format, for times inside sentences
/// (`format!("due by {}", Rfc3339(at))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff truncates to the precision asked for; every time Orderly keeps is whole
        // milliseconds (see `to_millis`), so nothing is lost.
        write!(f, "{:.3}", self.0)
    }
}

/// `ts` truncated to whole milliseconds: the precision storage keeps, applied to times
/// from outside (a carrier's scan, a client's promise) before they enter an order, so a
/// snapshot, its replay and what the API shows always carry the same instant.
pub fn to_millis(ts: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(ts.as_millisecond()).unwrap_or(ts)
}

/// `#[serde(with = "crate::time::wire")]`: a `Timestamp` written in the wire format.
pub mod wire {
    use super::Rfc3339;
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Rfc3339(*ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }
}

/// `#[serde(default, with = "crate::time::wire_opt")]`: an optional `Timestamp` written in
/// the wire format.
pub mod wire_opt {
    use super::Rfc3339;
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => s.collect_str(&Rfc3339(*ts)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<Timestamp>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::{Deserialize, Serialize};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn every_time_is_written_with_three_fractional_digits() {
        for (input, written) in [
            ("2026-12-03T10:51:17Z", "2026-12-03T10:51:17.000Z"),
            ("2026-12-03T10:51:17.1Z", "2026-12-03T10:51:17.100Z"),
            ("2026-12-03T10:51:17.99Z", "2026-12-03T10:51:17.990Z"),
            ("2026-12-03T10:51:17.123Z", "2026-12-03T10:51:17.123Z"),
            ("2026-12-03T12:51:17.5+02:00", "2026-12-03T10:51:17.500Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(rfc3339(ts(input)), written, "{input}");
        }
    }

    #[test]
    fn sub_millisecond_times_are_truncated_the_same_way_everywhere() {
        let t = ts("2026-12-03T10:51:17.123999Z");
        assert_eq!(rfc3339(t), "2026-12-03T10:51:17.123Z");
        assert_eq!(to_millis(t), ts("2026-12-03T10:51:17.123Z"));
        assert_eq!(rfc3339(to_millis(t)), rfc3339(t));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Both {
        #[serde(with = "wire")]
        at: Timestamp,
        #[serde(default, with = "wire_opt")]
        due: Option<Timestamp>,
    }

    #[test]
    fn serde_writes_the_wire_format_and_reads_any_width() {
        let value = Both {
            at: ts("2026-12-03T10:51:17.1Z"),
            due: Some(ts("2026-12-04T00:00:00Z")),
        };
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-12-03T10:51:17.100Z","due":"2026-12-04T00:00:00.000Z"}"#
        );
        let old: Both = serde_json::from_str(r#"{"at":"2026-12-03T10:51:17.1Z"}"#).unwrap();
        assert_eq!(old.at, value.at);
        assert_eq!(old.due, None);
        let none = serde_json::to_string(&Both { due: None, ..old }).unwrap();
        assert!(none.ends_with(r#""due":null}"#), "{none}");
    }
}
