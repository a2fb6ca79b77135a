//! Parse-don't-validate value types. Each has one constructor that checks its input, so a
//! value that exists is valid and the rest of the code never re-checks it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a raw value was refused; `code` is the stable API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub code: &'static str,
    pub message: String,
}

impl InvalidValue {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        InvalidValue {
            code,
            message: message.into(),
        }
    }
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// A stock-keeping unit: 1–64 characters of `A-Z a-z 0-9 - _ .`.
    Sku
);
string_newtype!(
    /// An email address, lower-cased, with one `@`, a local part and a dotted domain.
    Email
);
string_newtype!(
    /// An ISO 3166-1 alpha-2 country code, upper-case.
    CountryCode
);
string_newtype!(
    /// An ISO 4217 currency code, upper-case.
    Currency
);
string_newtype!(
    /// A GS1 trade item number (the number under a retail barcode), kept in its 14-digit
    /// form so a UPC-A, an EAN-13 and a GTIN-14 of the same item compare equal.
    Gtin
);
string_newtype!(
    /// An opaque identifier such as `ord_0193c0…`; minted by the caller, never parsed.
    Id
);

impl Sku {
    pub fn parse(raw: &str) -> Result<Sku, InvalidValue> {
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if raw.is_empty() || raw.len() > 64 || !ok_chars {
            return Err(InvalidValue::new(
                "invalid_sku",
                "a SKU is 1-64 characters of letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(Sku(raw.to_owned()))
    }
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, InvalidValue> {
        let bad = || InvalidValue::new("invalid_email", "not an email address");
        let trimmed = raw.trim();
        if trimmed.len() > 254 || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = trimmed.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63 && !label.starts_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Email(trimmed.to_ascii_lowercase()))
    }
}

/// ISO 3166-1 alpha-2 codes currently assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Active ISO 4217 currency codes.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP \
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW \
KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN \
NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS \
SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD \
XCG XOF XPF YER ZAR ZMW ZWG";

fn is_listed(list: &str, code: &str) -> bool {
    list.split_ascii_whitespace().any(|c| c == code)
}

impl CountryCode {
    /// Exactly one of [`CountryCode::all`], in capitals as listed.
    pub fn parse(raw: &str) -> Result<CountryCode, InvalidValue> {
        if raw.len() != 2 || !is_listed(COUNTRIES, raw) {
            return Err(InvalidValue::new(
                "invalid_country",
                "not an upper-case ISO 3166-1 alpha-2 country code",
            ));
        }
        Ok(CountryCode(raw.to_owned()))
    }

    /// Every code `parse` accepts.
    pub fn all() -> impl Iterator<Item = &'static str> {
        COUNTRIES.split_whitespace()
    }
}

impl Currency {
    pub fn parse(raw: &str) -> Result<Currency, InvalidValue> {
        if raw.len() != 3 || !is_listed(CURRENCIES, raw) {
            return Err(InvalidValue::new(
                "invalid_currency",
                "not an upper-case ISO 4217 currency code",
            ));
        }
        Ok(Currency(raw.to_owned()))
    }

    /// Every code `parse` accepts.
    pub fn all() -> impl Iterator<Item = &'static str> {
        CURRENCIES.split_whitespace()
    }

    /// Digits after the decimal point of the currency's minor unit (ISO 4217): 2 for
    /// most, 0 for JPY or KRW, 3 for BHD or KWD, 4 for CLF.
    pub fn minor_digits(&self) -> u32 {
        const NONE: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
        const THREE: &str = "BHD IQD JOD KWD LYD OMR TND";
        const FOUR: &str = "CLF UYW";
        if is_listed(NONE, &self.0) {
            0
        } else if is_listed(THREE, &self.0) {
            3
        } else if is_listed(FOUR, &self.0) {
            4
        } else {
            2
        }
    }
}

impl Gtin {
    /// Accepts GTIN-8, -12 (UPC-A), -13 (EAN) and -14 with a correct check digit, and
    /// pads it to 14 digits.
    pub fn parse(raw: &str) -> Result<Gtin, InvalidValue> {
        let digits = raw.trim();
        if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(InvalidValue::new(
                "invalid_gtin",
                "not a GTIN: 8, 12, 13 or 14 digits",
            ));
        }
        let padded = format!("{digits:0>14}");
        // GS1 mod 10: from the right, excluding the check digit, weights 3, 1, 3, 1 …
        let body = &padded.as_bytes()[..13];
        let sum: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
            .sum();
        let check = (10 - sum % 10) % 10;
        if u32::from(padded.as_bytes()[13] - b'0') != check {
            return Err(InvalidValue::new(
                "invalid_gtin",
                format!("a wrong check digit (expected {check})"),
            ));
        }
        Ok(Gtin(padded))
    }
}

impl Id {
    /// Wraps an id minted elsewhere (ids embed time and randomness, which the domain
    /// never produces itself).
    pub fn new(raw: impl Into<String>) -> Id {
        Id(raw.into())
    }

    /// The id of an order's `n`th record of one kind: `<prefix>_<order id suffix>_<n>`
    /// (`pay_…_1`, `ful_…_2`, `pkg_…`, `shp_…`). Whoever holds it finds the order's stream
    /// without an index.
    pub fn child(order_id: &Id, prefix: &str, n: usize) -> Id {
        let suffix = order_id.0.strip_prefix("ord_").unwrap_or(&order_id.0);
        Id(format!("{prefix}_{suffix}_{n}"))
    }

    /// The order that `child` (made by `Id::child` with `prefix`) belongs to; ids built
    /// on a child, such as the operation `pay_…_1.auth1`, work too.
    pub fn order_of_child(child: &str, prefix: &str) -> Option<Id> {
        let rest = child.strip_prefix(prefix)?.strip_prefix('_')?;
        let (suffix, _) = rest.rsplit_once('_')?;
        Some(Id(format!("ord_{suffix}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_accepts_the_usual_shapes_and_refuses_the_rest() {
        assert!(Sku::parse("TEE-BLK-M").is_ok());
        assert!(Sku::parse("a.b_c-9").is_ok());
        for bad in ["", "has space", "emoji🙂", &"X".repeat(65)] {
            assert_eq!(Sku::parse(bad).unwrap_err().code, "invalid_sku", "{bad}");
        }
    }

    #[test]
    fn email_is_lower_cased_and_needs_a_dotted_domain() {
        assert_eq!(
            Email::parse("Ana@Example.COM").unwrap().as_str(),
            "ana@example.com"
        );
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert_eq!(
                Email::parse(bad).unwrap_err().code,
                "invalid_email",
                "{bad}"
            );
        }
    }

    #[test]
    fn gtin_checks_its_digit_and_pads_to_fourteen() {
        // The same item as UPC-A, EAN-13 and GTIN-14.
        let upc = Gtin::parse("036000291452").unwrap();
        assert_eq!(upc.as_str(), "00036000291452");
        assert_eq!(Gtin::parse("0036000291452").unwrap(), upc);
        assert_eq!(Gtin::parse("00036000291452").unwrap(), upc);
        assert_eq!(
            Gtin::parse("4006381333931").unwrap().as_str(),
            "04006381333931"
        );
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "00000096385074");
        for bad in ["036000291453", "12345", "TEE-BLK-M", "03600029145a", ""] {
            assert_eq!(Gtin::parse(bad).unwrap_err().code, "invalid_gtin", "{bad}");
        }
    }

    #[test]
    fn a_child_id_leads_back_to_its_order() {
        let order = Id::new("ord_0193abc");
        let child = Id::child(&order, "pkg", 2);
        assert_eq!(child.as_str(), "pkg_0193abc_2");
        assert_eq!(
            Id::order_of_child(child.as_str(), "pkg"),
            Some(order.clone())
        );
        assert_eq!(
            Id::order_of_child("pay_0193abc_2.auth1", "pay"),
            Some(order)
        );
        assert_eq!(Id::order_of_child("pkg_0193abc_2", "shp"), None);
        assert_eq!(Id::order_of_child("pkgx_0193abc_2", "pkg"), None);
        assert_eq!(Id::order_of_child("evt_1", "pay"), None);
    }

    #[test]
    fn country_and_currency_must_be_assigned_codes() {
        assert_eq!(CountryCode::parse("US").unwrap().as_str(), "US");
        // As the document declares it: capitals only, nothing around them.
        assert_eq!(
            CountryCode::parse("us").unwrap_err().code,
            "invalid_country"
        );
        assert_eq!(
            CountryCode::parse(" US").unwrap_err().code,
            "invalid_country"
        );
        assert_eq!(
            CountryCode::parse("XX").unwrap_err().code,
            "invalid_country"
        );
        assert_eq!(
            CountryCode::parse("USA").unwrap_err().code,
            "invalid_country"
        );
        assert!(Currency::parse("EUR").is_ok());
        assert_eq!(Currency::parse("usd").unwrap_err().code, "invalid_currency");
        assert_eq!(Currency::parse("ABC").unwrap_err().code, "invalid_currency");
    }
}
