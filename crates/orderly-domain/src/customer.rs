//! Customers: one record per person across channels, matched by the normalised email
//! every order carries. What the orders say (name, phone, addresses, money, returns) is
//! derived from them (`profile`); what a person decides about a customer (a VIP or fraud
//! flag and its reason, a note, that two records are one person) is an event on the
//! customer's own stream, so each such decision has an actor, a time and an audit trail
//! like every other change.
//!
//! A merge folds one record into another: the absorbed record points at the survivor
//! and the survivor lists the absorbed ids, so the orders of both emails count as one
//! customer's, and an order later placed under either email lands on the survivor. A
//! merged record takes no more decisions (they belong on the survivor), and a merge is
//! never undone by an event here: two people wrongly merged are split by support data
//! work, not by a button.

use crate::Timestamp;
use crate::values::Id;
use serde::{Deserialize, Serialize};

#[path = "customer_profile.rs"]
mod profile;
pub use profile::{Profile, SpendByCurrency, profile};

/// The longest note and flag reason, in characters; the most notes one customer keeps.
pub const NOTE_MAX_CHARS: usize = 4000;
pub const REASON_MAX_CHARS: usize = 500;
pub const MAX_NOTES: usize = 1000;

snake_enum!(
    /// A mark on a customer that support and the policies act on.
    CustomerFlag {
        /// Treated with priority (set by a person).
        Vip => "vip",
        /// Orders need a look before they ship.
        FraudReview => "fraud_review",
        /// Returns more than the policy's rule allows (also derived from returns).
        SerialReturner => "serial_returner",
    }
);

/// A flag as it stands, with why and by whom it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagMark {
    pub flag: CustomerFlag,
    pub reason: String,
    pub by: String,
    #[serde(with = "crate::time::wire")]
    pub at: Timestamp,
}

/// An internal note on the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerNote {
    pub text: String,
    pub author: String,
    #[serde(with = "crate::time::wire")]
    pub at: Timestamp,
}

/// What people decided about a customer: the state of the customer's stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerFacts {
    pub flags: Vec<FlagMark>,
    pub notes: Vec<CustomerNote>,
    /// Records folded into this one, oldest merge first.
    pub absorbed: Vec<Id>,
    /// The record this one was folded into.
    pub merged_into: Option<Id>,
    /// Events on the stream (0: nobody decided anything yet).
    pub version: u64,
}

impl CustomerFacts {
    pub fn flag(&self, flag: CustomerFlag) -> Option<&FlagMark> {
        self.flags.iter().find(|f| f.flag == flag)
    }
}

/// A decision about a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerCommand {
    RaiseFlag {
        flag: CustomerFlag,
        reason: String,
    },
    ClearFlag {
        flag: CustomerFlag,
        reason: String,
    },
    AddNote {
        text: String,
    },
    /// Fold `from` (its facts given) into this customer.
    Absorb {
        from: Id,
        from_facts: CustomerFacts,
    },
}

/// What happened to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerEvent {
    FlagRaised {
        flag: CustomerFlag,
        reason: String,
    },
    FlagCleared {
        flag: CustomerFlag,
        reason: String,
    },
    NoteAdded {
        text: String,
    },
    /// The survivor's side of a merge.
    Absorbed {
        from: Id,
    },
    /// The absorbed record's side of a merge.
    MergedInto {
        into: Id,
    },
}

impl CustomerEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            CustomerEvent::FlagRaised { .. } => "customer_flag_raised",
            CustomerEvent::FlagCleared { .. } => "customer_flag_cleared",
            CustomerEvent::NoteAdded { .. } => "customer_note_added",
            CustomerEvent::Absorbed { .. } => "customer_absorbed",
            CustomerEvent::MergedInto { .. } => "customer_merged_into",
        }
    }
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
    },
    /// The record was merged into another: decisions belong on the survivor.
    #[error("the customer was merged into {0}")]
    Merged(Id),
    #[error("the flag {0} is already set")]
    FlagAlreadySet(&'static str),
    #[error("the flag {0} is not set")]
    FlagNotSet(&'static str),
}

impl CustomerError {
    pub fn code(&self) -> &'static str {
        match self {
            CustomerError::Invalid { code, .. } => code,
            CustomerError::Merged(_) => "customer_merged",
            CustomerError::FlagAlreadySet(_) => "flag_already_set",
            CustomerError::FlagNotSet(_) => "flag_not_set",
        }
    }
}

fn text(field: &'static str, value: &str, max_chars: usize) -> Result<String, CustomerError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(CustomerError::Invalid {
            field,
            code: "required",
            message: format!("{field} must not be empty"),
        });
    }
    if trimmed.chars().count() > max_chars {
        return Err(CustomerError::Invalid {
            field,
            code: "too_long",
            message: format!("{field} is at most {max_chars} characters"),
        });
    }
    Ok(trimmed.to_owned())
}

/// Decides `cmd` on customer `id` (whose facts are `state`) into events: for a merge,
/// the survivor's event and the absorbed record's, in that order.
pub fn decide(
    id: &Id,
    state: &CustomerFacts,
    cmd: &CustomerCommand,
) -> Result<Vec<(Id, CustomerEvent)>, CustomerError> {
    if let Some(into) = &state.merged_into {
        return Err(CustomerError::Merged(into.clone()));
    }
    let on_self = |e: CustomerEvent| Ok(vec![(id.clone(), e)]);
    match cmd {
        CustomerCommand::RaiseFlag { flag, reason } => {
            let reason = text("reason", reason, REASON_MAX_CHARS)?;
            if state.flag(*flag).is_some() {
                return Err(CustomerError::FlagAlreadySet(flag.as_str()));
            }
            on_self(CustomerEvent::FlagRaised {
                flag: *flag,
                reason,
            })
        }
        CustomerCommand::ClearFlag { flag, reason } => {
            let reason = text("reason", reason, REASON_MAX_CHARS)?;
            if state.flag(*flag).is_none() {
                return Err(CustomerError::FlagNotSet(flag.as_str()));
            }
            on_self(CustomerEvent::FlagCleared {
                flag: *flag,
                reason,
            })
        }
        CustomerCommand::AddNote { text: note } => {
            let note = text("text", note, NOTE_MAX_CHARS)?;
            if state.notes.len() >= MAX_NOTES {
                return Err(CustomerError::Invalid {
                    field: "text",
                    code: "too_many_notes",
                    message: format!("a customer keeps at most {MAX_NOTES} notes"),
                });
            }
            on_self(CustomerEvent::NoteAdded { text: note })
        }
        CustomerCommand::Absorb { from, from_facts } => {
            if from == id {
                return Err(CustomerError::Invalid {
                    field: "from",
                    code: "same_customer",
                    message: "a customer cannot be merged into itself".into(),
                });
            }
            if let Some(into) = &from_facts.merged_into {
                return Err(CustomerError::Merged(into.clone()));
            }
            Ok(vec![
                (id.clone(), CustomerEvent::Absorbed { from: from.clone() }),
                (from.clone(), CustomerEvent::MergedInto { into: id.clone() }),
            ])
        }
    }
}

/// Folds one event into the facts; `by` is the actor's label, `at` the event's time.
pub fn evolve(
    mut facts: CustomerFacts,
    event: &CustomerEvent,
    by: &str,
    at: Timestamp,
) -> CustomerFacts {
    match event {
        CustomerEvent::FlagRaised { flag, reason } => facts.flags.push(FlagMark {
            flag: *flag,
            reason: reason.clone(),
            by: by.to_owned(),
            at,
        }),
        CustomerEvent::FlagCleared { flag, .. } => facts.flags.retain(|f| f.flag != *flag),
        CustomerEvent::NoteAdded { text } => facts.notes.push(CustomerNote {
            text: text.clone(),
            author: by.to_owned(),
            at,
        }),
        CustomerEvent::Absorbed { from } => facts.absorbed.push(from.clone()),
        CustomerEvent::MergedInto { into } => facts.merged_into = Some(into.clone()),
    }
    facts.version += 1;
    facts
}

/// The customer id for a person first seen on order `order_id`: the order's own id
/// under the customer prefix, so it is unique, sorts by first purchase, and needs no
/// lookup or id of its own at capture (a later order of the same email keeps it).
pub fn id_for_first_order(order_id: &Id) -> Id {
    let s = order_id.as_str();
    Id::new(format!("cus_{}", s.strip_prefix("ord_").unwrap_or(s)))
}

/// A phone number as searched: its digits, last first, so "ends with these digits" (a
/// number typed without its country code) is a prefix and an index serves it.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().rev().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// A name as searched: lowercased (Unicode-aware) and with its spaces collapsed.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
#[path = "customer_tests.rs"]
mod tests;
