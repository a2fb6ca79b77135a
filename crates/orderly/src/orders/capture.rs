//! The capture request as it arrives (`POST /orders`) and its parsing into domain values,
//! reporting every problem of a request in one answer. Payments offered later
//! (`POST /orders/{id}/payments`) are parsed with the same `parse_payment`.

use crate::app::AppState;
use crate::app::error::AppError;
use crate::http::extract::{excerpt, required_line, too_long};
use crate::http::problem::ApiError;
use crate::http::schema::one_of;
use crate::orders::commands::{PaymentChoice, PlaceInput};
use crate::orders::view::AddressDto;
use orderly_domain::order::{Address, Customer, Delivery, FieldIssue};
use orderly_domain::payment::{MANUAL_PROVIDER, PaymentMethod, STORE_CREDIT_PROVIDER};
use orderly_domain::values::{CountryCode, Currency, Email, Id, Sku};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[serde(default)]
    #[schema(required = true, format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    #[serde(default)]
    #[schema(required = true, schema_with = sku_schema)]
    pub sku: String,
    /// At most `limits.max_quantity_per_line` (the document served says how many).
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
    /// Price per unit in minor units of the order currency.
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub unit_price: i64,
}

/// The schema of a SKU, as `Sku::parse` takes it.
pub(crate) fn sku_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some("^[A-Za-z0-9._-]+$"))
}

/// The schema of a currency, as `Currency::parse` takes it.
pub(crate) fn currency_schema() -> ObjectBuilder {
    one_of(Currency::all().collect())
}

/// How the customer pays. `provider` defaults by method: `simulator` for card and gift
/// card, `manual` for cash on delivery and bank transfer, `store_credit` for store credit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    #[schema(schema_with = method_schema)]
    pub method: String,
    #[schema(max_length = 64)]
    pub provider: Option<String>,
    /// The provider's token for the card. Used to authorize the payment and then
    /// deleted; it never appears in the order, its timeline or any view.
    #[schema(max_length = 200)]
    pub token: Option<String>,
    /// The card's fingerprint from the provider's tokenization, when the storefront has
    /// it; the same card ordering too often within the risk window goes to review.
    #[schema(max_length = 128)]
    pub fingerprint: Option<String>,
    /// The card's last four digits from the provider's tokenization, when it gave them;
    /// shown on the order so support can tell cards apart.
    #[schema(example = "4242", pattern = "^[0-9]{4}$")]
    pub last4: Option<String>,
}

fn method_schema() -> ObjectBuilder {
    one_of(PaymentMethod::ALL.iter().map(|m| m.as_str()).collect())
}

/// Checks a payment offer: a known method, the provider that settles it, and a token
/// where the provider needs one.
pub(crate) fn parse_payment(
    p: &PaymentIn,
    app: &AppState,
    issues: &mut Vec<FieldIssue>,
) -> Option<PaymentChoice> {
    let Some(method) = PaymentMethod::parse(&p.method) else {
        let all: Vec<&str> = PaymentMethod::ALL.iter().map(|m| m.as_str()).collect();
        issues.push(FieldIssue::new(
            "payment.method",
            "unknown_payment_method",
            format!("method is one of {}", all.join(", ")),
        ));
        return None;
    };
    let default = match method {
        PaymentMethod::Card | PaymentMethod::GiftCard => "simulator",
        PaymentMethod::CashOnDelivery | PaymentMethod::BankTransfer => MANUAL_PROVIDER,
        PaymentMethod::StoreCredit => STORE_CREDIT_PROVIDER,
    };
    let provider = p.provider.clone().unwrap_or_else(|| default.to_owned());
    if let Some(issue) = too_long("payment.provider", Some(&provider), 64) {
        issues.push(issue);
        return None;
    }
    let known = match method {
        PaymentMethod::Card | PaymentMethod::GiftCard => app.provider(&provider).is_some(),
        _ => provider == default,
    };
    if !known {
        issues.push(FieldIssue::new(
            "payment.provider",
            "unknown_provider",
            format!(
                "'{}' is not a provider for {}",
                excerpt(&provider),
                method.as_str()
            ),
        ));
        return None;
    }
    let needs_token = matches!(method, PaymentMethod::Card | PaymentMethod::GiftCard);
    let token = p.token.clone().filter(|t| !t.trim().is_empty());
    if let Some(issue) = too_long("payment.token", token.as_deref(), 200) {
        issues.push(issue);
        return None;
    }
    if needs_token && token.is_none() {
        issues.push(FieldIssue::new(
            "payment.token",
            "required",
            "a card or gift card payment needs the provider's token",
        ));
        return None;
    }
    let fingerprint = p.fingerprint.clone().filter(|f| !f.trim().is_empty());
    if let Some(issue) = too_long("payment.fingerprint", fingerprint.as_deref(), 128) {
        issues.push(issue);
        return None;
    }
    let last4 = p.last4.clone();
    if last4
        .as_ref()
        .is_some_and(|d| d.len() != 4 || !d.bytes().all(|b| b.is_ascii_digit()))
    {
        issues.push(FieldIssue::new(
            "payment.last4",
            "invalid_last4",
            "the card's last four digits, e.g. 4242",
        ));
        return None;
    }
    Some(PaymentChoice {
        method,
        provider,
        token,
        fingerprint,
        last4,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// One of the configured channels (the document served lists them).
    #[schema(max_length = 64)]
    pub channel: String,
    /// The order's id in the sales channel; a second create with the same pair returns
    /// the existing order.
    #[schema(min_length = 1, max_length = 128)]
    pub external_id: Option<String>,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    pub customer: CustomerIn,
    pub shipping_address: AddressDto,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressDto>,
    /// At most `limits.max_lines_per_order` (the document served says how many).
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineIn>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub shipping_amount: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub tax_amount: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub discount_amount: i64,
    /// Optional: the total the client computed; refused when it differs from ours.
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub total_amount: Option<i64>,
    pub payment: Option<PaymentIn>,
    pub delivery: Option<DeliveryIn>,
}

/// What the customer chose for delivery.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryIn {
    /// `carrier/service`, e.g. `local/express`; the cheapest in time when omitted.
    #[schema(max_length = 128)]
    pub service: Option<String>,
    /// The date promised to the customer (RFC 3339): the service chosen at shipping
    /// arrives by then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deliver_by: Option<jiff::Timestamp>,
    /// Click and collect: the id of a location that offers pickup. The order is then
    /// served from there only and collected at its counter.
    #[schema(max_length = 64)]
    pub pickup_location: Option<String>,
}

pub(crate) fn parse_address(
    a: &AddressDto,
    path: &str,
    issues: &mut Vec<FieldIssue>,
) -> Option<Address> {
    for (field, value) in [
        ("name", &a.name),
        ("line1", &a.line1),
        ("city", &a.city),
        ("postal_code", &a.postal_code),
    ] {
        issues.extend(required_line(&format!("{path}.{field}"), value, 200));
    }
    for (field, value) in [("line2", &a.line2), ("region", &a.region)] {
        issues.extend(too_long(&format!("{path}.{field}"), value.as_deref(), 200));
    }
    let country = if a.country.trim().is_empty() {
        issues.push(FieldIssue::new(
            format!("{path}.country"),
            "required",
            "country is required",
        ));
        None
    } else {
        CountryCode::parse(&a.country)
            .map_err(|e| {
                issues.push(FieldIssue::new(
                    format!("{path}.country"),
                    e.code,
                    e.message,
                ))
            })
            .ok()
    };
    let non_empty = |s: &Option<String>| {
        s.as_ref()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(Address {
        name: a.name.trim().to_owned(),
        line1: a.line1.trim().to_owned(),
        line2: non_empty(&a.line2),
        city: a.city.trim().to_owned(),
        region: non_empty(&a.region),
        postal_code: a.postal_code.trim().to_owned(),
        country: country?,
    })
}

/// Turns the request into well-formed domain values, reporting every problem at once.
pub(crate) fn parse_create(
    req: CreateOrderRequest,
    app: &AppState,
) -> Result<PlaceInput, ApiError> {
    let mut issues = Vec::new();
    let channel = app.config.channel(&req.channel);
    if channel.is_none() {
        issues.push(FieldIssue::new(
            "channel",
            "unknown_channel",
            format!("no channel '{}'", excerpt(&req.channel)),
        ));
    }
    let currency = match Currency::parse(&req.currency) {
        Ok(c) => {
            if let Some(ch) = channel
                && ch.currency != c.as_str()
            {
                issues.push(FieldIssue::new(
                    "currency",
                    "currency_mismatch",
                    format!("channel {} sells in {}", ch.id, ch.currency),
                ));
            }
            Some(c)
        }
        Err(e) => {
            issues.push(FieldIssue::new("currency", e.code, e.message));
            None
        }
    };
    if let Some(ext) = &req.external_id
        && (ext.is_empty() || ext.chars().count() > 128)
    {
        issues.push(FieldIssue::new(
            "external_id",
            "invalid_length",
            "external_id is 1-128 characters",
        ));
    }
    let email = if req.customer.email.trim().is_empty() {
        issues.push(FieldIssue::new(
            "customer.email",
            "required",
            "an email address is required",
        ));
        None
    } else {
        Email::parse(&req.customer.email)
            .map_err(|e| issues.push(FieldIssue::new("customer.email", e.code, e.message)))
            .ok()
    };
    issues.extend(too_long("customer.name", req.customer.name.as_deref(), 200));
    issues.extend(too_long(
        "customer.phone",
        req.customer.phone.as_deref(),
        50,
    ));
    let shipping = parse_address(&req.shipping_address, "shipping_address", &mut issues);
    let billing = match &req.billing_address {
        Some(b) => parse_address(b, "billing_address", &mut issues),
        None => shipping.clone(),
    };
    let max_qty = app.config.limits.max_quantity_per_line;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        let sku = Sku::parse(&l.sku).map_err(|e| {
            issues.push(FieldIssue::new(
                format!("lines[{i}].sku"),
                e.code,
                e.message,
            ))
        });
        let qty = if l.quantity <= 0 {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "must_be_positive",
                "quantity must be at least 1",
            ));
            None
        } else if l.quantity > i64::from(max_qty) {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "quantity_above_maximum",
                format!("at most {max_qty} units per line"),
            ));
            None
        } else {
            u32::try_from(l.quantity).ok()
        };
        if l.unit_price < 0 {
            issues.push(FieldIssue::new(
                format!("lines[{i}].unit_price"),
                "must_not_be_negative",
                "unit_price cannot be negative",
            ));
        }
        if let (Ok(sku), Some(qty)) = (sku, qty) {
            lines.push((sku, qty, l.unit_price));
        }
    }
    for (field, value) in [
        ("shipping_amount", req.shipping_amount),
        ("tax_amount", req.tax_amount),
        ("discount_amount", req.discount_amount),
    ] {
        if value < 0 {
            issues.push(FieldIssue::new(
                field,
                "must_not_be_negative",
                format!("{field} cannot be negative"),
            ));
        }
    }
    if req
        .total_amount
        .is_some_and(|t| !(0..=orderly_domain::order::MAX_AMOUNT_MINOR).contains(&t))
    {
        issues.push(FieldIssue::new(
            "total_amount",
            "amount_out_of_range",
            "total_amount must be between 0 and 10^13 minor units",
        ));
    }
    let payment = req
        .payment
        .as_ref()
        .and_then(|p| parse_payment(p, app, &mut issues));
    let delivery = req.delivery.as_ref().map(|d| {
        if let Some(s) = &d.service
            && !app.config.has_service(s)
        {
            issues.push(FieldIssue::new(
                "delivery.service",
                "unknown_service",
                format!("'{}' is not a configured carrier/service", excerpt(s)),
            ));
        }
        if let Some(p) = &d.pickup_location
            && !app
                .config
                .locations
                .iter()
                .any(|l| &l.id == p && l.can_pickup)
        {
            issues.push(FieldIssue::new(
                "delivery.pickup_location",
                "pickup_not_offered",
                format!("'{}' is not a location that offers pickup", excerpt(p)),
            ));
        }
        Delivery {
            service: d.service.clone(),
            deliver_by: d.deliver_by.map(orderly_domain::time::to_millis),
            pickup_location: d.pickup_location.clone().map(Id::new),
        }
    });
    let limits = app.config.limits();
    if req.lines.is_empty() {
        issues.push(FieldIssue::new(
            "lines",
            "required",
            "an order needs at least one line",
        ));
    } else if req.lines.len() > limits.max_lines_per_order as usize {
        issues.push(FieldIssue::new(
            "lines",
            "too_many_lines",
            format!("at most {} lines", limits.max_lines_per_order),
        ));
    }
    match (issues.is_empty(), currency, email, shipping, billing) {
        (true, Some(currency), Some(email), Some(shipping_address), Some(billing_address)) => {
            Ok(PlaceInput {
                channel: req.channel,
                external_id: req.external_id,
                currency,
                customer: Customer {
                    email,
                    name: req.customer.name,
                    phone: req.customer.phone,
                },
                shipping_address,
                billing_address,
                lines,
                shipping_amount: req.shipping_amount,
                tax_amount: req.tax_amount,
                discount_amount: req.discount_amount,
                declared_total: req.total_amount,
                payment,
                delivery,
            })
        }
        _ => Err(AppError::Validation(issues).into()),
    }
}
