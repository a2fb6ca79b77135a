//! The customer stream: flags, notes and merges, given events, when a command.

use super::*;

fn at(n: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + n).expect("a time")
}

fn given(events: &[CustomerEvent]) -> CustomerFacts {
    events
        .iter()
        .enumerate()
        .fold(CustomerFacts::default(), |f, (i, e)| {
            evolve(f, e, "key:support", at(i as i64))
        })
}

fn when(facts: &CustomerFacts, cmd: CustomerCommand) -> Result<Vec<CustomerEvent>, CustomerError> {
    decide(&Id::new("cus_a"), facts, &cmd).map(|v| v.into_iter().map(|(_, e)| e).collect())
}

fn vip(reason: &str) -> CustomerCommand {
    CustomerCommand::RaiseFlag {
        flag: CustomerFlag::Vip,
        reason: reason.into(),
    }
}

#[test]
fn a_flag_is_raised_with_its_reason_once_and_cleared_once() {
    let events = when(&CustomerFacts::default(), vip("  top 1% spend  ")).expect("raised");
    assert_eq!(
        events,
        [CustomerEvent::FlagRaised {
            flag: CustomerFlag::Vip,
            reason: "top 1% spend".into()
        }]
    );
    let flagged = given(&events);
    let mark = flagged.flag(CustomerFlag::Vip).expect("the flag");
    assert_eq!((mark.by.as_str(), mark.at), ("key:support", at(0)));
    assert_eq!(flagged.version, 1);
    assert_eq!(
        when(&flagged, vip("again")),
        Err(CustomerError::FlagAlreadySet("vip"))
    );
    let clear = CustomerCommand::ClearFlag {
        flag: CustomerFlag::Vip,
        reason: "spend dropped".into(),
    };
    let cleared = given(&[events, when(&flagged, clear.clone()).expect("cleared")].concat());
    assert!(cleared.flag(CustomerFlag::Vip).is_none());
    assert_eq!(when(&cleared, clear), Err(CustomerError::FlagNotSet("vip")));
}

#[test]
fn blank_or_oversized_text_is_refused_with_the_field() {
    let blank = when(&CustomerFacts::default(), vip("   ")).unwrap_err();
    assert_eq!(
        (blank.code(), blank.to_string().starts_with("reason")),
        ("required", true)
    );
    let long = "x".repeat(NOTE_MAX_CHARS + 1);
    let err = when(
        &CustomerFacts::default(),
        CustomerCommand::AddNote { text: long },
    )
    .unwrap_err();
    assert_eq!(err.code(), "too_long");
    let noted = given(&[CustomerEvent::NoteAdded {
        text: "prefers phone".into(),
    }]);
    assert_eq!(noted.notes[0].author, "key:support");
}

#[test]
fn a_merge_writes_both_sides_and_a_merged_record_takes_no_more_decisions() {
    let absorb = CustomerCommand::Absorb {
        from: Id::new("cus_b"),
        from_facts: CustomerFacts::default(),
    };
    let events = decide(&Id::new("cus_a"), &CustomerFacts::default(), &absorb).expect("merged");
    assert_eq!(
        events,
        [
            (
                Id::new("cus_a"),
                CustomerEvent::Absorbed {
                    from: Id::new("cus_b")
                }
            ),
            (
                Id::new("cus_b"),
                CustomerEvent::MergedInto {
                    into: Id::new("cus_a")
                }
            ),
        ]
    );
    let absorbed = given(&[events[1].1.clone()]);
    assert_eq!(
        when(&absorbed, vip("x")),
        Err(CustomerError::Merged(Id::new("cus_a")))
    );
    // Nor may it be merged a second time, into anything.
    let again = CustomerCommand::Absorb {
        from: Id::new("cus_b"),
        from_facts: absorbed,
    };
    assert_eq!(
        decide(&Id::new("cus_c"), &CustomerFacts::default(), &again),
        Err(CustomerError::Merged(Id::new("cus_a")))
    );
    let itself = CustomerCommand::Absorb {
        from: Id::new("cus_a"),
        from_facts: CustomerFacts::default(),
    };
    assert_eq!(
        when(&CustomerFacts::default(), itself).unwrap_err().code(),
        "same_customer"
    );
}

#[test]
fn search_keys_match_a_number_typed_without_its_country_code() {
    let stored = phone_key("+1 (555) 010-0123").expect("digits");
    let typed = phone_key("555 0100123").expect("digits");
    assert!(stored.starts_with(&typed), "{stored} / {typed}");
    assert_eq!(phone_key("n/a"), None);
    assert_eq!(name_key("  Ana   DÍAZ "), "ana díaz");
    assert_eq!(
        id_for_first_order(&Id::new("ord_01ABC")).as_str(),
        "cus_01ABC"
    );
}
