//! The edit requests as they arrive and their parsing into `ChangeInput`s, reporting
//! every problem of a request at once with the field it is in (`changes[1].sku`).

use crate::app::AppState;
use crate::app::error::AppError;
use crate::edits::commands::ChangeInput;
use crate::http::extract::excerpt;
use crate::http::schema::required_line;
use crate::orders::capture::{PaymentIn, parse_address, parse_payment, sku_schema};
use crate::orders::placing::PaymentChoice;
use crate::orders::view::AddressDto;
use orderly_domain::order::FieldIssue;
use orderly_domain::values::Sku;
use serde::Deserialize;
use utoipa::ToSchema;

/// One change. Names and prices come from the order (a SKU it has keeps its price, a
/// swapped size keeps the line's) or the catalog; setting `unit_price` or
/// `shipping_amount` needs a role that may set prices (supervisor, admin).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeIn {
    /// Ship to another address; a nearer warehouse may take the order over.
    ShippingAddress { address: AddressDto },
    AddLine {
        #[schema(schema_with = sku_schema)]
        sku: String,
        #[schema(minimum = 1, maximum = 1000)]
        quantity: i64,
        #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
        unit_price: Option<i64>,
    },
    RemoveLine {
        #[schema(minimum = 1, maximum = 1000)]
        line_no: i64,
    },
    /// A new quantity for a line (0 removes it).
    SetQuantity {
        #[schema(minimum = 1, maximum = 1000)]
        line_no: i64,
        #[schema(minimum = 0, maximum = 1000)]
        quantity: i64,
    },
    /// Moves units of a line to another variant, e.g. another size (all of them when
    /// `quantity` is absent).
    SwapVariant {
        #[schema(minimum = 1, maximum = 1000)]
        line_no: i64,
        #[schema(schema_with = sku_schema)]
        sku: String,
        #[schema(minimum = 1, maximum = 1000)]
        quantity: Option<i64>,
        #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
        unit_price: Option<i64>,
    },
    /// Another `carrier/service`, optionally at another shipping charge.
    ShippingService {
        #[schema(max_length = 128)]
        service: String,
        #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
        shipping_amount: Option<i64>,
    },
}

/// Begin an edit, optionally staging changes at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeginEditRequest {
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub changes: Vec<ChangeIn>,
}

/// Changes to add to an open edit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageEditRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub changes: Vec<ChangeIn>,
}

/// Commit an open edit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitEditRequest {
    /// Told to the customer with the change.
    #[schema(max_length = 1000)]
    pub note_to_customer: Option<String>,
    /// Pays an increase: the difference is authorized through the provider. Without
    /// it an increase stays owed (`balance_due`).
    pub payment: Option<PaymentIn>,
}

/// A one-shot edit: the changes are committed at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OneShotEditRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub changes: Vec<ChangeIn>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    #[schema(max_length = 1000)]
    pub note_to_customer: Option<String>,
    pub payment: Option<PaymentIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbandonEditRequest {
    #[serde(default)]
    #[schema(required = true, schema_with = required_line::<500>)]
    pub reason: String,
}

/// Parses changes, every problem at once.
pub(crate) fn parse_changes(
    changes: &[ChangeIn],
    app: &AppState,
) -> Result<Vec<ChangeInput>, AppError> {
    let mut issues = Vec::new();
    let max = i64::from(app.config.limits.max_quantity_per_line);
    let mut out = Vec::with_capacity(changes.len());
    for (i, c) in changes.iter().enumerate() {
        let at = |f: &str| format!("changes[{i}].{f}");
        let mut count = |f: &str, v: i64, min: i64| -> Option<u32> {
            if v < min || v > max {
                issues.push(FieldIssue::new(
                    at(f),
                    if v < min {
                        "must_be_positive"
                    } else {
                        "quantity_above_maximum"
                    },
                    format!("{f} is {min} to {max}"),
                ));
                return None;
            }
            u32::try_from(v).ok()
        };
        let parsed = match c {
            ChangeIn::ShippingAddress { address } => {
                parse_address(address, &at("address"), &mut issues)
                    .map(ChangeInput::ShippingAddress)
            }
            ChangeIn::RemoveLine { line_no } => {
                count("line_no", *line_no, 1).map(|line_no| ChangeInput::RemoveLine { line_no })
            }
            ChangeIn::SetQuantity { line_no, quantity } => {
                match (
                    count("line_no", *line_no, 1),
                    count("quantity", *quantity, 0),
                ) {
                    (Some(line_no), Some(quantity)) => {
                        Some(ChangeInput::SetQuantity { line_no, quantity })
                    }
                    _ => None,
                }
            }
            ChangeIn::AddLine {
                sku,
                quantity,
                unit_price,
            } => {
                let quantity = count("quantity", *quantity, 1);
                let sku = parse_sku(sku, &at("sku"), &mut issues);
                let price = price(*unit_price, &at("unit_price"), &mut issues);
                match (sku, quantity, price) {
                    (Some(sku), Some(quantity), Some(unit_price)) => Some(ChangeInput::AddLine {
                        sku,
                        quantity,
                        unit_price,
                    }),
                    _ => None,
                }
            }
            ChangeIn::SwapVariant {
                line_no,
                sku,
                quantity,
                unit_price,
            } => {
                let line_no = count("line_no", *line_no, 1);
                let quantity = match quantity {
                    Some(q) => count("quantity", *q, 1).map(Some),
                    None => Some(None),
                };
                let sku = parse_sku(sku, &at("sku"), &mut issues);
                let price = price(*unit_price, &at("unit_price"), &mut issues);
                match (line_no, sku, quantity, price) {
                    (Some(line_no), Some(sku), Some(quantity), Some(unit_price)) => {
                        Some(ChangeInput::SwapVariant {
                            line_no,
                            sku,
                            quantity,
                            unit_price,
                        })
                    }
                    _ => None,
                }
            }
            ChangeIn::ShippingService {
                service,
                shipping_amount,
            } => {
                let known = app.config.has_service(service);
                if !known {
                    issues.push(FieldIssue::new(
                        at("service"),
                        "unknown_service",
                        format!("'{}' is not a configured carrier/service", excerpt(service)),
                    ));
                }
                let amount = price(*shipping_amount, &at("shipping_amount"), &mut issues);
                match amount {
                    Some(shipping_amount) if known => Some(ChangeInput::ShippingService {
                        service: service.clone(),
                        shipping_amount,
                    }),
                    _ => None,
                }
            }
        };
        out.extend(parsed);
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(issues))
    }
}

fn parse_sku(s: &str, field: &str, issues: &mut Vec<FieldIssue>) -> Option<Sku> {
    Sku::parse(s)
        .map_err(|e| issues.push(FieldIssue::new(field, e.code, e.message)))
        .ok()
}

/// An optional amount in range; `Some(None)` when absent.
fn price(v: Option<i64>, field: &str, issues: &mut Vec<FieldIssue>) -> Option<Option<i64>> {
    match v {
        Some(a) if !(0..=orderly_domain::order::MAX_AMOUNT_MINOR).contains(&a) => {
            issues.push(FieldIssue::new(
                field,
                "amount_out_of_range",
                "an amount is between 0 and 10^13 minor units",
            ));
            None
        }
        v => Some(v),
    }
}

/// The payment a commit offers, if any.
pub(crate) fn payment(
    p: Option<&PaymentIn>,
    app: &AppState,
) -> Result<Option<PaymentChoice>, AppError> {
    let Some(p) = p else { return Ok(None) };
    let mut issues = Vec::new();
    match parse_payment(p, app, &mut issues) {
        Some(choice) if issues.is_empty() => Ok(Some(choice)),
        _ => Err(AppError::Validation(issues)),
    }
}
