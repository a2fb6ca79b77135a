//! The request bodies of the return routes, with the bounds the document declares and
//! the parsing that enforces them, shared by the staff and the self-service request so
//! both are held to the same limits.

use crate::http::extract::{excerpt, required_line, too_long};
use crate::http::problem::ApiError;
use crate::http::schema::{one_of, required_line as line_schema};
use crate::returns::commands::ReturnInput;
use orderly_domain::order::{FieldIssue, ItemDecision, ItemInspection};
use orderly_domain::returns::{Acceptance, AskedItem, Disposition, Wanted};
use orderly_domain::values::Sku;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

/// At most this many photo URLs per request, each at most `MAX_URL` characters.
const MAX_PHOTOS: usize = 10;
const MAX_URL: usize = 2000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItemIn {
    /// The order line, from 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub line_no: u32,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: u32,
}

fn wanted_kind_schema() -> ObjectBuilder {
    one_of(vec!["refund", "store_credit", "exchange"])
}

fn optional_sku_schema() -> ObjectBuilder {
    crate::orders::capture::sku_schema().schema_type(utoipa::openapi::schema::SchemaType::Array(
        vec![
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ],
    ))
}

fn photo_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(8))
        .max_length(Some(MAX_URL))
        .pattern(Some("^https?://[!-~]+$"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WantedIn {
    /// `refund`, `store_credit` or `exchange` (for the `sku` named).
    #[schema(schema_with = wanted_kind_schema)]
    pub kind: String,
    /// The variant an exchange asks for (only with `exchange`, which needs it).
    #[schema(schema_with = optional_sku_schema)]
    pub sku: Option<String>,
}

/// What every return request asks, by staff or by the customer, borrowed from its body.
pub struct AskRef<'a> {
    pub items: &'a [ReturnItemIn],
    pub reason: &'a str,
    pub wanted: &'a WantedIn,
    pub note: Option<&'a str>,
    pub photos: &'a [String],
    pub shipping_cost: Option<i64>,
}

/// Declares a return request body: its own fields, then what every request asks (so both
/// bodies are one flat object the document states exactly, with no field unknown).
macro_rules! return_body {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            #[schema(min_items = 1, max_items = 1000)]
            pub items: Vec<ReturnItemIn>,
            /// A leaf code of the return policy's reason taxonomy.
            #[schema(schema_with = line_schema::<64>)]
            pub reason: String,
            pub wanted: WantedIn,
            #[schema(max_length = 1000)]
            pub note: Option<String>,
            /// Links to photos of the goods (http or https).
            #[serde(default)]
            #[schema(max_items = 10, inline, value_type = Vec<String>, schema_with = photos_schema)]
            pub photos: Vec<String>,
            /// What the customer pays (or paid) to ship it back with a carrier of their
            /// own, in minor units: paid back with the refund up to the cap of a reason
            /// whose policy reimburses it; refused (`not_reimbursed`) for any other reason.
            #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
            pub shipping_cost: Option<i64>,
        }

        impl $name {
            pub fn ask(&self) -> AskRef<'_> {
                AskRef {
                    items: &self.items,
                    reason: &self.reason,
                    wanted: &self.wanted,
                    note: self.note.as_deref(),
                    photos: &self.photos,
                    shipping_cost: self.shipping_cost,
                }
            }
        }
    };
}

fn photos_schema() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(photo_schema())
        .max_items(Some(MAX_PHOTOS))
}

fn field(name: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldIssue {
    FieldIssue::new(name, code, message)
}

/// The request as the application takes it; every problem named at once.
pub fn parse_ask(ask: AskRef<'_>, staff_flags: (bool, bool)) -> Result<ReturnInput, ApiError> {
    let mut issues = Vec::new();
    if ask.items.len() > 1000 {
        issues.push(field("items", "too_many_items", "at most 1000 items"));
    }
    for (i, item) in ask.items.iter().enumerate().take(1000) {
        if !(1..=1000).contains(&item.line_no) {
            issues.push(field(
                format!("items[{i}].line_no"),
                "out_of_range",
                "line_no is 1-1000",
            ));
        }
        if !(1..=1_000_000).contains(&item.quantity) {
            issues.push(field(
                format!("items[{i}].quantity"),
                "out_of_range",
                "quantity is 1-1,000,000",
            ));
        }
    }
    if ask
        .shipping_cost
        .is_some_and(|c| !(0..=1_000_000_000).contains(&c))
    {
        issues.push(field(
            "shipping_cost",
            "out_of_range",
            "a shipping cost is 0-1,000,000,000 minor units",
        ));
    }
    issues.extend(required_line("reason", ask.reason, 64));
    issues.extend(too_long("note", ask.note, 1000));
    if ask.photos.len() > MAX_PHOTOS {
        issues.push(field(
            "photos",
            "too_many_photos",
            format!("at most {MAX_PHOTOS} photos"),
        ));
    }
    for (i, url) in ask.photos.iter().enumerate().take(MAX_PHOTOS) {
        let scheme = url.starts_with("https://") || url.starts_with("http://");
        let plain = url.bytes().all(|b| b.is_ascii_graphic());
        if !scheme || !plain || url.len() < 8 || url.len() > MAX_URL {
            issues.push(field(
                format!("photos[{i}]"),
                "invalid_url",
                format!("an http or https URL of at most {MAX_URL} characters"),
            ));
        }
    }
    let wanted = match (ask.wanted.kind.as_str(), &ask.wanted.sku) {
        ("refund", None) => Some(Wanted::Refund),
        ("store_credit", None) => Some(Wanted::StoreCredit),
        ("exchange", Some(sku)) => match Sku::parse(sku) {
            Ok(sku) => Some(Wanted::Exchange { sku }),
            Err(_) => {
                issues.push(field(
                    "wanted.sku",
                    "invalid_sku",
                    format!("{} is not a SKU", excerpt(sku)),
                ));
                None
            }
        },
        ("exchange", None) => {
            issues.push(field(
                "wanted.sku",
                "required",
                "an exchange names the variant wanted",
            ));
            None
        }
        ("refund" | "store_credit", Some(_)) => {
            issues.push(field(
                "wanted.sku",
                "not_allowed",
                "only an exchange names a variant",
            ));
            None
        }
        _ => {
            issues.push(field(
                "wanted.kind",
                "unknown_outcome",
                "refund, store_credit or exchange",
            ));
            None
        }
    };
    match wanted {
        Some(wanted) if issues.is_empty() => Ok(ReturnInput {
            items: ask
                .items
                .iter()
                .map(|i| AskedItem {
                    line_no: i.line_no,
                    quantity: i.quantity,
                })
                .collect(),
            reason: ask.reason.to_owned(),
            wanted,
            note: ask.note.map(str::to_owned),
            photos: ask.photos.to_vec(),
            final_sale_exception: staff_flags.0,
            window_extension: staff_flags.1,
            shipping_cost_minor: ask.shipping_cost,
        }),
        _ => Err(crate::app::error::AppError::Validation(issues).into()),
    }
}

return_body!(
    /// A return staff ask for.
    CreateReturnIn {
        /// The order's id or number.
        #[schema(schema_with = line_schema::<254>)]
        order: String,
        /// Take a final-sale item back anyway: the return goes to review.
        #[serde(default)]
        final_sale_exception: bool,
        /// Look past the return window: the return goes to review.
        #[serde(default)]
        window_extension: bool,
    }
);

return_body!(
    /// A return the customer asks for, proving the order with its number and email.
    SelfServiceReturnIn {
        /// The order's number, as on the confirmation (`WEB-1001`).
        #[schema(schema_with = line_schema::<64>)]
        order_number: String,
        /// The email the order was placed with.
        #[schema(format = Email, min_length = 3, max_length = 254)]
        email: String,
    }
);

fn decision_schema() -> ObjectBuilder {
    one_of(vec!["approve", "deny"])
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    #[schema(schema_with = decision_schema)]
    pub decision: String,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveIn {
    /// The configured location the parcel arrived at.
    #[schema(schema_with = line_schema::<64>)]
    pub location_id: String,
    /// One scan per unit: a GTIN or a SKU.
    #[serde(default)]
    #[schema(max_items = 1000, value_type = Vec<String>, schema_with = scans_schema)]
    pub scans: Vec<String>,
    /// Nothing more is coming: awaited units not scanned are recorded short.
    #[serde(default)]
    pub close: bool,
}

fn scans_schema() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(line_schema::<64>())
        .max_items(Some(1000))
}

fn acceptance_schema() -> ObjectBuilder {
    one_of(
        Acceptance::ALL
            .iter()
            .filter(|a| **a != Acceptance::Pending)
            .map(|a| a.as_str())
            .collect(),
    )
}

fn disposition_schema() -> ObjectBuilder {
    one_of(Disposition::ALL.iter().map(|d| d.as_str()).collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionIn {
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub item_no: u32,
    /// One of the policy's condition grades.
    #[schema(schema_with = line_schema::<64>)]
    pub condition: String,
    #[schema(schema_with = acceptance_schema)]
    pub acceptance: String,
    #[schema(schema_with = disposition_schema)]
    pub disposition: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectIn {
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<InspectionIn>,
}

/// An item number out of its range, as a field issue of item `i`.
fn item_no_issue(i: usize, item_no: u32) -> Option<FieldIssue> {
    (!(1..=1_000_000).contains(&item_no)).then(|| {
        field(
            format!("items[{i}].item_no"),
            "out_of_range",
            "item_no is 1-1,000,000",
        )
    })
}

/// The disposition item `i` names, or an issue for one that is unknown.
fn disposition_of(i: usize, name: &str, issues: &mut Vec<FieldIssue>) -> Option<Disposition> {
    let disposition = Disposition::parse(name);
    if disposition.is_none() {
        issues.push(field(
            format!("items[{i}].disposition"),
            "unknown_disposition",
            "restock, quarantine, scrap, refurbish or return_to_customer",
        ));
    }
    disposition
}

pub fn parse_inspection(body: &InspectIn) -> Result<Vec<ItemInspection>, ApiError> {
    let mut issues = Vec::new();
    if body.items.is_empty() || body.items.len() > 1000 {
        issues.push(field("items", "out_of_range", "1 to 1000 items"));
    }
    let mut out = Vec::new();
    for (i, item) in body.items.iter().enumerate().take(1000) {
        issues.extend(item_no_issue(i, item.item_no));
        issues.extend(required_line(
            &format!("items[{i}].condition"),
            &item.condition,
            64,
        ));
        let acceptance = Acceptance::parse(&item.acceptance).filter(|a| *a != Acceptance::Pending);
        if acceptance.is_none() {
            issues.push(field(
                format!("items[{i}].acceptance"),
                "unknown_acceptance",
                "accepted, rejected or needs_manual_decision",
            ));
        }
        let disposition = disposition_of(i, &item.disposition, &mut issues);
        if let (Some(acceptance), Some(disposition)) = (acceptance, disposition) {
            out.push(ItemInspection {
                item_no: item.item_no,
                condition: item.condition.clone(),
                acceptance,
                disposition,
            });
        }
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(crate::app::error::AppError::Validation(issues).into())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub item_no: u32,
    /// `accepted` or `rejected`.
    #[schema(schema_with = decided_schema)]
    pub acceptance: String,
    /// Where the unit goes from quarantine (`quarantine` leaves it there).
    #[schema(schema_with = disposition_schema)]
    pub disposition: String,
}

fn decided_schema() -> ObjectBuilder {
    one_of(vec!["accepted", "rejected"])
}

/// A person's decision on units an inspection left `needs_manual_decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideIn {
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<DecisionIn>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

pub fn parse_decisions(body: &DecideIn) -> Result<(Vec<ItemDecision>, Option<String>), ApiError> {
    let mut issues = Vec::new();
    if body.items.is_empty() || body.items.len() > 1000 {
        issues.push(field("items", "out_of_range", "1 to 1000 items"));
    }
    if body
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 1000)
    {
        issues.push(field("note", "too_long", "at most 1000 characters"));
    }
    let mut out = Vec::new();
    for (i, item) in body.items.iter().enumerate().take(1000) {
        issues.extend(item_no_issue(i, item.item_no));
        let acceptance = Acceptance::parse(&item.acceptance)
            .filter(|a| matches!(a, Acceptance::Accepted | Acceptance::Rejected));
        if acceptance.is_none() {
            issues.push(field(
                format!("items[{i}].acceptance"),
                "unknown_acceptance",
                "accepted or rejected",
            ));
        }
        let disposition = disposition_of(i, &item.disposition, &mut issues);
        if let (Some(acceptance), Some(disposition)) = (acceptance, disposition) {
            out.push(ItemDecision {
                item_no: item.item_no,
                acceptance,
                disposition,
            });
        }
    }
    if issues.is_empty() {
        Ok((out, body.note.clone()))
    } else {
        Err(crate::app::error::AppError::Validation(issues).into())
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// Refund without the restocking fee and the return shipping fee (a policy
    /// exception: needs the approval authority for the return's value).
    #[serde(default)]
    pub waive_fee: bool,
    /// Refund before (or without) the goods coming back (a policy exception).
    #[serde(default)]
    pub without_return: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelReturnIn {
    #[schema(schema_with = line_schema::<500>)]
    pub reason: String,
}
