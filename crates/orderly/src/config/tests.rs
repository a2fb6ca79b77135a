//! The configuration loader's tests: defaults, overrides, and each invalid key named.

use super::*;

fn load_with(extra: &str) -> anyhow::Result<Config> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, extra)?;
    Config::load(Some(&path), Some(crate::DEMO_CONFIG))
}

#[test]
fn the_demo_configuration_is_valid_and_geocodes_regions() {
    let c = load_with("").unwrap();
    assert_eq!(c.locations.len(), 3);
    assert_eq!(
        c.channel("web").map(|ch| ch.number_prefix.as_str()),
        Some("WEB")
    );
    let tx = c.geocode("US", Some("tx")).unwrap();
    assert!((tx.latitude - 31.5).abs() < 0.01);
    assert!(
        c.geocode("US", Some("Nowhere")).is_some(),
        "falls back to the country"
    );
    assert!(c.geocode("JP", None).is_none());
}

#[test]
fn a_wrong_type_or_unknown_key_is_named() {
    let err = load_with("[limits]\nmax_lines_per_order = \"many\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.max_lines_per_order"), "{err}");
    let err = load_with("[server]\nlisten_on = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("listen_on"), "{err}");
}

#[test]
fn semantic_errors_name_every_offending_key() {
    let err = load_with(
        "[limits]\nmax_quantity_per_line = 0\n[idempotency]\nretention_hours = 1\n\
         [[locations]]\nid = \"a\"\nname = \"first\"\nlatitude = 1.0\nlongitude = 0.0\n\
         address = { line1 = \"x\", city = \"y\", postal_code = \"1\", country = \"US\" }\n\
         [[locations]]\nid = \"a\"\nname = \"dup\"\nlatitude = 95.0\nlongitude = 0.0\n\
         address = { line1 = \"x\", city = \"y\", postal_code = \"1\", country = \"XX\" }\n",
    )
    .unwrap_err()
    .to_string();
    for key in [
        "limits.max_quantity_per_line",
        "idempotency.retention_hours",
        "locations[1].id",
        "locations[1].latitude",
        "locations[1].address.country",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

#[test]
fn an_event_clock_skew_out_of_range_stops_startup() {
    let c = load_with("").unwrap();
    assert_eq!(c.payments.max_event_clock_skew_seconds, 300);
    assert_eq!(c.fulfillment.max_event_clock_skew_seconds, 300);
    let err = load_with(
        "[payments]\nmax_event_clock_skew_seconds = 0\n\
         [fulfillment]\nmax_event_clock_skew_seconds = 90000\n",
    )
    .unwrap_err()
    .to_string();
    for key in [
        "payments.max_event_clock_skew_seconds",
        "fulfillment.max_event_clock_skew_seconds",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

#[test]
fn a_channels_price_rules_are_checked_at_startup() {
    let c = load_with("").unwrap();
    let web = c.channel("web").unwrap();
    assert_eq!(
        (web.prices, web.allow_free_orders),
        (PriceTrust::Checked, false)
    );
    assert_eq!(c.channel("marketplace").unwrap().prices, PriceTrust::AsSent);
    let channel = |rule: &str| {
        format!(
            "[[channels]]\nid = \"web\"\nname = \"Web\"\nnumber_prefix = \"WEB\"\n\
             currency = \"USD\"\n{rule}\n"
        )
    };
    let err = load_with(&channel("price_tolerance_percent = 51"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("channels[0].price_tolerance_percent"), "{err}");
    let err = format!(
        "{:#}",
        load_with(&channel("prices = \"trusted\"")).unwrap_err()
    );
    assert!(err.contains("prices") && err.contains("trusted"), "{err}");
}

#[test]
fn connection_limits_have_defaults_and_out_of_range_values_are_named() {
    let c = load_with("").unwrap();
    assert_eq!(c.server.header_read_timeout_seconds, 10);
    assert_eq!(c.server.idle_timeout_seconds, 75);
    assert_eq!(c.server.request_timeout_seconds, 30);
    assert_eq!(c.server.max_connections, 4096);
    assert_eq!(c.server.auth_failure_limit, 20);
    let err = load_with(
        "[server]\nheader_read_timeout_seconds = 0\nidle_timeout_seconds = 0\n\
         request_timeout_seconds = 100000\nmax_connections = 0\n\
         auth_failure_limit = 0\nauth_failure_window_seconds = 0\n",
    )
    .unwrap_err()
    .to_string();
    for key in [
        "server.header_read_timeout_seconds",
        "server.idle_timeout_seconds",
        "server.request_timeout_seconds",
        "server.max_connections",
        "server.auth_failure_limit",
        "server.auth_failure_window_seconds",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

#[test]
fn the_log_format_is_read_from_the_file_and_a_wrong_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, "[log]\nformat = \"json\"\n").unwrap();
    assert_eq!(log_config(Some(&path), None).format, LogFormat::Json);
    assert_eq!(
        log_config(None, Some(crate::DEMO_CONFIG)).format,
        LogFormat::Text
    );
    let err = load_with("[log]\nformat = \"xml\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("log.format"), "{err}");
}

#[test]
fn database_urls_name_a_backend() {
    use DatabaseTarget::*;
    let parse = |u: &str| DatabaseTarget::parse(u).unwrap();
    assert_eq!(
        parse("postgres://u@h:5432/db"),
        Postgres("postgres://u@h:5432/db".into())
    );
    assert_eq!(
        parse("postgresql://h/db"),
        Postgres("postgresql://h/db".into())
    );
    assert_eq!(
        parse("sqlite://data/x.db"),
        Sqlite(PathBuf::from("data/x.db"))
    );
    assert_eq!(parse("/tmp/x.db"), Sqlite(PathBuf::from("/tmp/x.db")));
    assert!(DatabaseTarget::parse("sqlite://").is_err());
}

#[test]
fn queue_thresholds_and_group_addresses_are_checked_at_startup() {
    let c = load_with("").unwrap();
    assert_eq!(c.exceptions.unpaid_after_minutes, 30);
    assert_eq!(
        c.exceptions.thresholds().release,
        jiff::SignedDuration::from_hours(4)
    );
    let err = load_with(
        "[exceptions]\nunpaid_after_minutes = 0\nreturn_receipt_days = 9999\n\
         [cases.group_emails]\ntier2 = \"not an address\"\nnobody = \"a@example.com\"\n",
    )
    .unwrap_err()
    .to_string();
    for key in [
        "exceptions.unpaid_after_minutes",
        "exceptions.return_receipt_days",
        "cases.group_emails.tier2",
        "cases.group_emails.nobody",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}
