//! Schemas for the OpenAPI document that the derive cannot spell from a Rust type alone:
//! strings allowed only from a list, and the bounded text the parsers in `extract.rs`
//! check (`required_line`, `required_text`), written once here so that the document and
//! the parser agree on every character class.

use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// A string schema allowing exactly `values`.
pub fn one_of(values: Vec<&'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// Text without control characters (`char::is_control`: U+0000-001F, U+007F-009F) and
/// with at least one character that is not white space, as `extract::required_line`
/// checks it.
pub const REQUIRED_LINE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A required one-line text of 1 to `MAX` characters (see [`REQUIRED_LINE_PATTERN`]).
pub fn required_line<const MAX: usize>() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX))
        .pattern(Some(REQUIRED_LINE_PATTERN))
}

/// A required text of up to `MAX` characters that may span lines but must hold at least
/// one visible character (neither white space nor a control), as
/// `extract::required_text` checks it.
pub fn required_text<const MAX: usize>() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX))
        .pattern(Some("[^\\s\\u0000-\\u001f\\u007f-\\u009f]"))
}

/// A string or `null`: what an `Option<String>` field takes, `null` meaning absent.
fn string_or_null() -> SchemaType {
    SchemaType::Array(vec![Type::String, Type::Null])
}

/// [`one_of`] for an optional field: one of `values`, or `null`.
pub fn optional_one_of(values: Vec<&'static str>) -> ObjectBuilder {
    let mut allowed: Vec<Value> = values.into_iter().map(Value::from).collect();
    allowed.push(Value::Null);
    ObjectBuilder::new()
        .schema_type(string_or_null())
        .enum_values(Some(allowed))
}

/// [`required_line`] for an optional field: such a line, or `null`.
pub fn optional_line<const MAX: usize>() -> ObjectBuilder {
    required_line::<MAX>().schema_type(string_or_null())
}
