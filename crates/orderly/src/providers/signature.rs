//! Standard Webhooks signatures for provider events.
//!
//! Provider events (an authorization that finally succeeded, a capture that settled) change
//! money state, and they arrive on a public endpoint. Without a check, anyone who can reach
//! that endpoint could forge or replay them. The Standard Webhooks scheme covers both: an
//! HMAC-SHA256 over `"{webhook-id}.{webhook-timestamp}.{raw body}"` proves the sender holds
//! the shared secret and the body is unchanged, and the timestamp tolerance limits how long
//! a captured request can be replayed. During secret rotation several secrets are active, and
//! a header may carry several signatures. A request is accepted if any `v1` signature matches
//! any secret.
//!
//! The signed content includes the raw body bytes, so verify before parsing the JSON and
//! never against a re-serialized body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far (in seconds, either direction) a `webhook-timestamp` may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The prefix of secrets written in the Standard Webhooks form (`whsec_<base64 key>`).
const SECRET_PREFIX: &str = "whsec_";

/// The only signature version this scheme defines (HMAC-SHA256).
const VERSION: &str = "v1";

/// Why a webhook request or a configured secret was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The named header is missing or empty.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of unix seconds.
    #[error("the webhook-timestamp header is not a unix timestamp in seconds")]
    BadTimestamp,
    /// `webhook-timestamp` is more than `TOLERANCE_SECONDS` from our clock.
    #[error("the webhook-timestamp is outside the {TOLERANCE_SECONDS} s tolerance")]
    StaleTimestamp,
    /// No `v1` signature matches any active secret.
    #[error("no signature matches")]
    BadSignature,
    /// A configured secret is empty or its `whsec_` part is not valid base64. Also returned
    /// by `verify` when no secret is configured.
    #[error("the webhook secret is empty or not valid base64")]
    BadSecret,
}

impl SignatureError {
    /// A stable snake_case code for responses and logs.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader(_) => "missing_signature_header",
            SignatureError::BadTimestamp => "bad_timestamp",
            SignatureError::StaleTimestamp => "stale_timestamp",
            SignatureError::BadSignature => "bad_signature",
            SignatureError::BadSecret => "bad_secret",
        }
    }
}

/// A signing key. `Debug` shows only the key's length, so secrets never reach logs.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

impl Secret {
    /// Reads a secret: `whsec_<base64 of the key bytes>`, or any other non-empty string,
    /// whose UTF-8 bytes are used as the key.
    pub fn parse(s: &str) -> Result<Secret, SignatureError> {
        let s = s.trim();
        let key = match s.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => STANDARD
                .decode(encoded)
                .map_err(|_| SignatureError::BadSecret)?,
            None => s.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(SignatureError::BadSecret);
        }
        Ok(Secret(key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail. The fallback only exists
        // to avoid an unwrap.
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// Signs one message; the result is one entry for the `webhook-signature` header
/// (`v1,<base64>`).
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.mac(id, timestamp, body).finalize().into_bytes();
    format!("{VERSION},{}", STANDARD.encode(tag))
}

/// Checks a webhook request. The arguments are the raw `webhook-id`, `webhook-timestamp`
/// and `webhook-signature` header values and the raw body. `secrets` holds the active
/// secrets (two during rotation), and `now_s` is the current unix time in seconds.
///
/// Checks run in this order: missing headers, timestamp format, timestamp tolerance,
/// signatures. A stale request is rejected before any MAC is computed. Signatures are
/// compared in constant time. Entries with a version other than `v1`, or with invalid
/// base64, are skipped.
pub fn verify(
    secrets: &[Secret],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_s: i64,
) -> Result<(), SignatureError> {
    let id = id.trim();
    let timestamp = timestamp.trim();
    if id.is_empty() {
        return Err(SignatureError::MissingHeader("webhook-id"));
    }
    if timestamp.is_empty() {
        return Err(SignatureError::MissingHeader("webhook-timestamp"));
    }
    if signatures.trim().is_empty() {
        return Err(SignatureError::MissingHeader("webhook-signature"));
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if now_s.abs_diff(ts) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::StaleTimestamp);
    }
    if secrets.is_empty() {
        return Err(SignatureError::BadSecret);
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .collect();
    for secret in secrets {
        let mac = secret.mac(id, ts, body);
        // `verify_slice` consumes the MAC, so each comparison uses a fresh clone.
        if candidates
            .iter()
            .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        {
            return Ok(());
        }
    }
    Err(SignatureError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"payment.authorized","data":{"amount_minor":1250}}"#;

    fn secret() -> Secret {
        Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    fn other_secret() -> Secret {
        Secret::parse("whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=").unwrap()
    }

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example from the Standard Webhooks reference libraries.
        let sig = sign(
            &secret(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn round_trip() {
        let sig = sign(&secret(), "msg_1", NOW, BODY);
        assert!(sig.starts_with("v1,"));
        assert_eq!(
            verify(&[secret()], "msg_1", &NOW.to_string(), &sig, BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn tampered_body_id_or_timestamp_is_rejected() {
        let sig = sign(&secret(), "msg_1", NOW, BODY);
        let tampered = br#"{"type":"payment.authorized","data":{"amount_minor":9250}}"#;
        let ts = NOW.to_string();
        assert_eq!(
            verify(&[secret()], "msg_1", &ts, &sig, tampered, NOW),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            verify(&[secret()], "msg_2", &ts, &sig, BODY, NOW),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            verify(
                &[secret()],
                "msg_1",
                &(NOW + 1).to_string(),
                &sig,
                BODY,
                NOW
            ),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let sig = sign(&other_secret(), "msg_1", NOW, BODY);
        assert_eq!(
            verify(&[secret()], "msg_1", &NOW.to_string(), &sig, BODY, NOW),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn rotated_second_secret_is_accepted() {
        let sig = sign(&other_secret(), "msg_1", NOW, BODY);
        assert_eq!(
            verify(
                &[secret(), other_secret()],
                "msg_1",
                &NOW.to_string(),
                &sig,
                BODY,
                NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn timestamp_tolerance_is_300_seconds_both_ways() {
        let at = |ts: i64| {
            let sig = sign(&secret(), "msg_1", ts, BODY);
            verify(&[secret()], "msg_1", &ts.to_string(), &sig, BODY, NOW)
        };
        assert_eq!(at(NOW - 300), Ok(()));
        assert_eq!(at(NOW + 300), Ok(()));
        assert_eq!(at(NOW - 301), Err(SignatureError::StaleTimestamp));
        assert_eq!(at(NOW + 301), Err(SignatureError::StaleTimestamp));
    }

    #[test]
    fn stale_is_reported_before_a_bad_signature() {
        let ts = (NOW - 301).to_string();
        assert_eq!(
            verify(&[secret()], "msg_1", &ts, "v1,AAAA", BODY, NOW),
            Err(SignatureError::StaleTimestamp)
        );
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        assert_eq!(
            verify(
                &[secret()],
                "m",
                &i64::MIN.to_string(),
                "v1,AAAA",
                BODY,
                i64::MAX
            ),
            Err(SignatureError::StaleTimestamp)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign(&secret(), "msg_1", NOW, BODY);
        let wrong = sign(&other_secret(), "msg_1", NOW, BODY);
        let header = format!("v2,abc {wrong} v1,!!!notbase64 {good}");
        assert_eq!(
            verify(&[secret()], "msg_1", &NOW.to_string(), &header, BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn only_v1_entries_count() {
        let good = sign(&secret(), "msg_1", NOW, BODY);
        let as_v2 = good.replacen("v1,", "v2,", 1);
        assert_eq!(
            verify(&[secret()], "msg_1", &NOW.to_string(), &as_v2, BODY, NOW),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn garbage_signatures_are_bad_signature_not_a_panic() {
        for header in [
            "v1,%%%not-base64%%%",
            "v1,",
            "v1",
            "garbage",
            "v1,AAAA",
            ",",
        ] {
            assert_eq!(
                verify(&[secret()], "msg_1", &NOW.to_string(), header, BODY, NOW),
                Err(SignatureError::BadSignature),
                "{header}"
            );
        }
    }

    #[test]
    fn missing_headers_and_bad_timestamps() {
        let sig = sign(&secret(), "msg_1", NOW, BODY);
        let ts = NOW.to_string();
        let missing_id = verify(&[secret()], "", &ts, &sig, BODY, NOW);
        assert_eq!(missing_id, Err(SignatureError::MissingHeader("webhook-id")));
        assert_eq!(
            verify(&[secret()], "msg_1", "", &sig, BODY, NOW),
            Err(SignatureError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(
            verify(&[secret()], "msg_1", &ts, "  ", BODY, NOW),
            Err(SignatureError::MissingHeader("webhook-signature"))
        );
        assert_eq!(
            verify(&[secret()], "msg_1", "soon", &sig, BODY, NOW),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(&[secret()], "msg_1", "1700000000.5", &sig, BODY, NOW),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(missing_id.unwrap_err().code(), "missing_signature_header");
    }

    #[test]
    fn no_configured_secret_is_bad_secret() {
        let sig = sign(&secret(), "msg_1", NOW, BODY);
        assert_eq!(
            verify(&[], "msg_1", &NOW.to_string(), &sig, BODY, NOW),
            Err(SignatureError::BadSecret)
        );
    }

    #[test]
    fn secret_forms() {
        // Without the prefix the string's bytes are the key.
        let raw = Secret::parse("plain-text-key").unwrap();
        let same = Secret::parse(&format!("whsec_{}", STANDARD.encode("plain-text-key"))).unwrap();
        assert_eq!(sign(&raw, "m", NOW, BODY), sign(&same, "m", NOW, BODY));
        assert_eq!(
            Secret::parse("whsec_***").unwrap_err(),
            SignatureError::BadSecret
        );
        assert_eq!(
            Secret::parse("whsec_").unwrap_err(),
            SignatureError::BadSecret
        );
        assert_eq!(Secret::parse("").unwrap_err(), SignatureError::BadSecret);
        assert_eq!(SignatureError::BadSecret.code(), "bad_secret");
        assert!(!format!("{raw:?}").contains("plain"));
    }
}
