//! Internal notes and tags on an order: what support and operations write down for the
//! next person who opens it ("customer called, wants it before Friday"), and the labels
//! a team sorts by (`vip`, `gift`, `wholesale`). Both are events on the order's stream,
//! so they sit on the timeline beside everything else with who wrote them and when;
//! neither leaves Orderly (no webhook, no customer message). They are allowed in every
//! order state: a cancelled or completed order is still talked about.

use super::error::{FieldIssue, OrderError};
use super::event::OrderEvent;
use super::state::Order;
use crate::Timestamp;
use crate::values::Id;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 4000;
/// The most notes one order keeps (the timeline is the place for a conversation; a case
/// is the place for a long one).
pub const MAX_NOTES: usize = 500;
/// The most tags one order carries.
pub const MAX_TAGS: usize = 30;
/// The longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 40;

/// A note as the order keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: Id,
    pub text: String,
    /// Who wrote it (the actor's label: a user or an API key).
    pub author: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub id: Id,
    pub text: String,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsChanged {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A tag as kept: trimmed and lower-cased; ASCII letters, digits, `-`, `_` and `:` only, so
/// tags read the same wherever they are typed and can be filtered on exactly.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let tag = raw.trim().to_lowercase();
    let ok = !tag.is_empty()
        && tag.chars().count() <= TAG_MAX_CHARS
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    ok.then_some(tag)
}

/// Adds note `id` to `order`.
pub fn add_note(
    order: &Order,
    id: Id,
    text: &str,
    author: &str,
) -> Result<Vec<OrderEvent>, OrderError> {
    let text = text.trim();
    let mut issues = Vec::new();
    if text.is_empty() {
        issues.push(FieldIssue::new(
            "text",
            "required",
            "a note needs some text",
        ));
    } else if text.chars().count() > NOTE_MAX_CHARS {
        issues.push(FieldIssue::new(
            "text",
            "too_long",
            format!("at most {NOTE_MAX_CHARS} characters"),
        ));
    }
    if order.notes.len() >= MAX_NOTES {
        issues.push(FieldIssue::new(
            "text",
            "too_many_notes",
            format!(
                "an order keeps at most {MAX_NOTES} notes; open a case for a longer conversation"
            ),
        ));
    }
    if !issues.is_empty() {
        return Err(OrderError::Invalid(issues));
    }
    Ok(vec![OrderEvent::NoteAdded(NoteAdded {
        id,
        text: text.to_owned(),
        author: author.to_owned(),
    })])
}

/// Adds and removes tags; a tag already there (or already absent) changes nothing, so
/// asking twice is harmless and a request that changes nothing records nothing.
pub fn change_tags(
    order: &Order,
    add: &[String],
    remove: &[String],
) -> Result<Vec<OrderEvent>, OrderError> {
    let mut issues = Vec::new();
    let mut parse = |field: &str, raw: &[String]| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, r) in raw.iter().enumerate() {
            match normalize_tag(r) {
                Some(t) => {
                    out.insert(t);
                }
                None => issues.push(FieldIssue::new(
                    format!("{field}[{i}]"),
                    "invalid_tag",
                    format!("1 to {TAG_MAX_CHARS} letters, digits, '-', '_' or ':'"),
                )),
            }
        }
        out
    };
    let add = parse("add", add);
    let remove = parse("remove", remove);
    for (i, t) in add.iter().enumerate() {
        if remove.contains(t) {
            issues.push(FieldIssue::new(
                format!("add[{i}]"),
                "tag_added_and_removed",
                format!("{t} is both added and removed"),
            ));
        }
    }
    let added: Vec<String> = add
        .into_iter()
        .filter(|t| !order.tags.contains(t))
        .collect();
    let removed: Vec<String> = remove
        .into_iter()
        .filter(|t| order.tags.contains(t))
        .collect();
    if order.tags.len() + added.len() - removed.len() > MAX_TAGS {
        issues.push(FieldIssue::new(
            "add",
            "too_many_tags",
            format!("an order carries at most {MAX_TAGS} tags"),
        ));
    }
    if !issues.is_empty() {
        return Err(OrderError::Invalid(issues));
    }
    if added.is_empty() && removed.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![OrderEvent::TagsChanged(TagsChanged {
        added,
        removed,
    })])
}

pub(super) fn apply_note(order: &mut Order, n: &NoteAdded, at: Timestamp) {
    order.notes.push(Note {
        id: n.id.clone(),
        text: n.text.clone(),
        author: n.author.clone(),
        at,
    });
}

pub(super) fn apply_tags(order: &mut Order, t: &TagsChanged) {
    for tag in &t.added {
        order.tags.insert(tag.clone());
    }
    for tag in &t.removed {
        order.tags.remove(tag);
    }
}

/// The timeline's sentence for a note (its first 200 characters).
pub(super) fn note_summary(n: &NoteAdded) -> String {
    let mut text: String = n.text.chars().take(200).collect();
    if text.len() < n.text.len() {
        text.push('…');
    }
    format!("Note by {}: {text}", n.author)
}

/// The timeline's sentence for a tag change.
pub(super) fn tags_summary(t: &TagsChanged) -> String {
    let mut parts = Vec::new();
    if !t.added.is_empty() {
        parts.push(format!("added {}", t.added.join(", ")));
    }
    if !t.removed.is_empty() {
        parts.push(format!("removed {}", t.removed.join(", ")));
    }
    format!("Tags {}", parts.join("; "))
}
