//! What every console page shares: the layout (who is signed in, what the role may
//! open, the notice the last action left, the search box), rendering a compiled
//! template into an answer, times in the viewer's time zone and money as money.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::session::Viewer;
use crate::console::wire::respond;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The console's sections: where, named how, and what a role needs to see it there.
const SECTIONS: [(&str, &str, Option<Permission>); 6] = [
    ("/console", "Home", None),
    ("/console/cases", "Cases", Some(Permission::ReadCases)),
    (
        "/console/exceptions",
        "Exceptions",
        Some(Permission::ReadExceptions),
    ),
    ("/console/returns", "Returns", Some(Permission::ReadOrders)),
    ("/console/floor", "Warehouse", Some(Permission::Fulfill)),
    ("/console/kpis", "KPIs", Some(Permission::ReadKpis)),
];

/// The frame of every signed-in page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user_name: String,
    pub role: &'static str,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub notice: Option<String>,
    /// What the search box shows.
    pub query: String,
}

impl Layout {
    pub fn new(viewer: &Viewer, title: impl Into<String>, section: &str) -> Layout {
        let role = viewer.user.role;
        let nav = SECTIONS
            .iter()
            .filter(|(_, _, needs)| needs.is_none_or(|p| allows(role, p)))
            .map(|&(href, label, _)| NavItem {
                href,
                label,
                current: section == href,
            })
            .collect();
        Layout {
            title: title.into(),
            user_name: viewer.user.display_name.clone(),
            role: role.as_str(),
            csrf: viewer.user.csrf_token.clone(),
            nav,
            notice: viewer.notice.as_ref().map(|n| n.0.clone()),
            query: String::new(),
        }
    }
}

/// The links between the pages of a list: back to its first page and on to the next.
#[derive(Debug, Clone)]
pub struct Pager {
    pub first: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// For list `base` (a path with its query), on a later page when `paged`, with the
    /// cursor of the next page if there is one.
    pub fn new(base: &str, paged: bool, next_cursor: Option<String>) -> Pager {
        let sep = if base.contains('?') { '&' } else { '?' };
        Pager {
            first: paged.then(|| base.to_owned()),
            next: next_cursor.map(|c| format!("{base}{sep}cursor={c}")),
        }
    }
}

/// The (time, id) a list's `cursor` parameter carries.
pub fn cursor(text: Option<&str>) -> Result<Option<(Timestamp, String)>, ConsoleError> {
    text.filter(|c| !c.is_empty())
        .map(|c| {
            crate::http::extract::decode_time_cursor(c).map_err(|_| {
                ConsoleError::BadForm("the page link's cursor is not one this console made".into())
            })
        })
        .transpose()
}

/// The name of line `line_no` of `order` (empty if it has none).
pub fn line_name(order: &orderly_domain::order::Order, line_no: u32) -> String {
    order
        .lines
        .iter()
        .find(|l| l.line_no == line_no)
        .map(|l| l.name.clone())
        .unwrap_or_default()
}

/// A page's answer: the template rendered, the console's policy, and the notice
/// cookie cleared once it was shown.
pub fn render(viewer: Option<&Viewer>, status: StatusCode, page: &impl Template) -> Response {
    let clear = viewer.filter(|v| v.notice.is_some()).map(|v| v.secure);
    respond(status, page, clear)
}

/// A time in `zone`, to the minute, with the zone's abbreviation: `2026-12-07 09:12 CST`.
pub fn when(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// An RFC 3339 time from a view, as `when` shows it (the text itself if it is not one).
pub fn when_text(rfc3339: &str, zone: &TimeZone) -> String {
    rfc3339
        .parse::<Timestamp>()
        .map_or_else(|_| rfc3339.to_owned(), |t| when(t, zone))
}

/// `text` with every RFC 3339 UTC time in it (`2026-12-10T13:00:39.799Z`, as the
/// domain's sentences carry them) shown as `when` shows times.
pub fn local_times(text: &str, zone: &TimeZone) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(len) = rfc3339_at(&bytes[i..])
            && let Ok(at) = text[i..i + len].parse::<Timestamp>()
        {
            out.push_str(&when(at, zone));
            i += len;
            continue;
        }
        let ch = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch]);
        i += ch;
    }
    out
}

/// The length of the `YYYY-MM-DDTHH:MM:SS[.fff]Z` that `b` starts with, if it does.
fn rfc3339_at(b: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < SHAPE.len() + 1 {
        return None;
    }
    let fits = SHAPE.iter().zip(b).all(|(s, c)| {
        if *s == b'd' {
            c.is_ascii_digit()
        } else {
            s == c
        }
    });
    if !fits {
        return None;
    }
    let mut n = SHAPE.len();
    if b.get(n) == Some(&b'.') {
        n += 1;
        while b.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    (b.get(n) == Some(&b'Z')).then_some(n + 1)
}

/// The zone a viewer reads times in: their own, else the business calendar's.
pub fn zone_of(app: &AppState, viewer: &Viewer) -> TimeZone {
    viewer
        .user
        .time_zone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(&app.config.calendar.time_zone).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Money as a person reads it: `USD 15.00`.
pub fn money(minor: i64, currency: &str) -> String {
    match orderly_domain::values::Currency::parse(currency) {
        Ok(c) => orderly_domain::order::money(minor, &c),
        Err(_) => format!("{currency} {minor}"),
    }
}

/// Minor units as a person types them into a form: `12.50` (what `parse_money` reads).
pub fn typed_money(minor: i64, currency: &str) -> String {
    let digits = orderly_domain::values::Currency::parse(currency).map_or(2, |c| c.minor_digits());
    let scale = 10i64.pow(digits);
    match digits {
        0 => minor.to_string(),
        d => format!(
            "{}.{:0width$}",
            minor / scale,
            minor % scale,
            width = d as usize
        ),
    }
}

/// Money typed into a form (`12.50`, `12`, `12,50`) as minor units of `currency`.
pub fn parse_money(text: &str, currency: &str) -> Option<i64> {
    let digits = orderly_domain::values::Currency::parse(currency)
        .ok()?
        .minor_digits();
    let text = text.trim().replace(',', ".");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > digits as usize
        || whole.len() > 12
    {
        return None;
    }
    let scale = 10i64.checked_pow(digits)?;
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = digits as usize)
            .parse()
            .ok()?
    };
    whole.checked_mul(scale)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_typed_in_a_form_becomes_minor_units() {
        assert_eq!(parse_money("12.50", "USD"), Some(1250));
        assert_eq!(parse_money("12", "USD"), Some(1200));
        assert_eq!(parse_money("0,5", "EUR"), Some(50));
        assert_eq!(parse_money(".05", "USD"), Some(5));
        assert_eq!(parse_money("1500", "JPY"), Some(1500));
        for bad in ["", ".", "-1", "1.234", "1e3", "abc", "1.5", "9999999999999"] {
            let currency = if bad == "1.5" { "JPY" } else { "USD" };
            assert_eq!(parse_money(bad, currency), None, "{bad}");
        }
    }

    #[test]
    fn money_shown_in_a_form_reads_back_as_itself() {
        for (minor, currency, text) in [
            (1250, "USD", "12.50"),
            (5, "EUR", "0.05"),
            (1500, "JPY", "1500"),
        ] {
            assert_eq!(typed_money(minor, currency), text);
            assert_eq!(parse_money(text, currency), Some(minor));
        }
    }

    #[test]
    fn times_show_in_the_viewers_zone() {
        let at: Timestamp = "2026-12-07T15:12:00Z".parse().unwrap();
        let chicago = TimeZone::get("America/Chicago").unwrap();
        assert_eq!(when(at, &chicago), "2026-12-07 09:12 CST");
        assert_eq!(when_text("not a time", &chicago), "not a time");
        assert_eq!(
            local_times(
                "unpaid by 2026-12-07T15:12:39.799Z; at 2026-12-07T15:12:00Z.",
                &chicago
            ),
            "unpaid by 2026-12-07 09:12 CST; at 2026-12-07 09:12 CST."
        );
        assert_eq!(
            local_times("2026-12-07T15:12:00 (no zone) — é", &chicago),
            "2026-12-07T15:12:00 (no zone) — é"
        );
    }
}
