//! The case machine: given events, when a command, then events or a refusal.

use super::*;

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_796_000_000 + minute * 60).unwrap()
}

fn contact(direction: Direction, order_status: bool) -> NewContact {
    NewContact {
        channel: ContactChannel::Email,
        direction,
        summary: "Where is my order?".into(),
        order_status,
    }
}

fn opened() -> CaseEvent {
    CaseEvent::Opened(Box::new(OpenCase {
        id: Id::new("cas_1"),
        number: "CASE-1001".into(),
        subject: "  Parcel late ".into(),
        channel: ContactChannel::Email,
        priority: Priority::Normal,
        group: Some("tier1".into()),
        owner: None,
        order_id: Some(Id::new("ord_1")),
        order_channel: Some("web".into()),
        customer_email: Some("ana@example.com".into()),
        links: vec![Link {
            kind: LinkKind::Shipment,
            id: "shp_1".into(),
        }],
        first_contact: Some(contact(Direction::Inbound, true)),
        suggested_root_cause: Some("carrier_delay".into()),
    }))
}

/// The case after `events`, each a minute after the one before.
fn given(events: &[CaseEvent]) -> Case {
    let mut state = None;
    for (i, e) in events.iter().enumerate() {
        state = Some(evolve(state, e, at(i as i64), i as u64 + 1).unwrap());
    }
    state.unwrap()
}

fn when(events: &[CaseEvent], command: CaseCommand) -> Result<Vec<CaseEvent>, CaseError> {
    decide(Some(&given(events)), command)
}

fn taxonomy() -> Vec<String> {
    ["carrier_delay", "wrong_item"].map(String::from).to_vec()
}

fn resolve(cause: &str) -> CaseCommand {
    CaseCommand::Resolve {
        root_cause: cause.into(),
        taxonomy: taxonomy(),
        note: None,
    }
}

fn resolved() -> Vec<CaseEvent> {
    vec![
        opened(),
        CaseEvent::Resolved {
            root_cause: "carrier_delay".into(),
            note: None,
        },
    ]
}

#[test]
fn an_opened_case_is_open_links_its_order_and_counts_its_first_contact() {
    let case = given(&[opened()]);
    assert_eq!(case.status, CaseStatus::Open);
    assert_eq!(case.subject, "Parcel late");
    assert_eq!(
        case.links,
        [
            Link {
                kind: LinkKind::Order,
                id: "ord_1".into()
            },
            Link {
                kind: LinkKind::Shipment,
                id: "shp_1".into()
            }
        ]
    );
    assert_eq!(case.contacts.len(), 1);
    assert!(case.contacts[0].order_status);
    assert_eq!(
        case.first_response_at, None,
        "the customer wrote; nobody answered yet"
    );
    assert_eq!(case.suggested_root_cause.as_deref(), Some("carrier_delay"));
    assert_eq!(decide(None, CaseCommand::Close), Err(CaseError::NotFound));
    assert_eq!(
        decide(
            Some(&case),
            CaseCommand::Open(Box::new(match opened() {
                CaseEvent::Opened(o) => *o,
                _ => unreachable!(),
            }))
        ),
        Err(CaseError::AlreadyExists)
    );
}

#[test]
fn a_blank_subject_is_refused() {
    let CaseEvent::Opened(mut open) = opened() else {
        unreachable!()
    };
    open.subject = "   ".into();
    assert_eq!(
        decide(None, CaseCommand::Open(open)).unwrap_err().code(),
        "required"
    );
}

#[test]
fn the_first_answer_sets_the_first_response_time() {
    let answer = CaseEvent::ContactLogged(contact(Direction::Outbound, false));
    let later = CaseEvent::ContactLogged(contact(Direction::Outbound, false));
    let case = given(&[opened(), answer, later]);
    assert_eq!(case.first_response_at, Some(at(1)));
    assert_eq!(case.contacts.len(), 3);
}

#[test]
fn a_customer_writing_to_a_case_pending_on_them_opens_it_again() {
    let pending = CaseEvent::StatusChanged {
        from: CaseStatus::Open,
        to: CaseStatus::PendingCustomer,
    };
    let events = when(
        &[opened(), pending.clone()],
        CaseCommand::LogContact(contact(Direction::Inbound, false)),
    )
    .unwrap();
    assert_eq!(
        events,
        [
            CaseEvent::ContactLogged(contact(Direction::Inbound, false)),
            CaseEvent::StatusChanged {
                from: CaseStatus::PendingCustomer,
                to: CaseStatus::Open
            }
        ]
    );
    // Support writing meanwhile leaves it waiting on the customer.
    let events = when(
        &[opened(), pending],
        CaseCommand::LogContact(contact(Direction::Outbound, false)),
    )
    .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn a_case_is_resolved_only_with_a_configured_root_cause() {
    assert_eq!(
        when(&[opened()], resolve("gremlins")),
        Err(CaseError::UnknownRootCause("gremlins".into()))
    );
    let events = when(&[opened()], resolve("carrier_delay")).unwrap();
    let mut all = vec![opened()];
    all.extend(events);
    let case = given(&all);
    assert_eq!(case.status, CaseStatus::Resolved);
    assert_eq!(case.root_cause.as_deref(), Some("carrier_delay"));
    assert_eq!(case.resolved_at, Some(at(1)));
}

#[test]
fn a_resolved_case_reopens_when_the_customer_writes_and_a_closed_one_takes_nothing() {
    let events = when(
        &resolved(),
        CaseCommand::LogContact(contact(Direction::Inbound, true)),
    )
    .unwrap();
    assert!(
        matches!(events[1], CaseEvent::Reopened { .. }),
        "{events:?}"
    );
    let mut all = resolved();
    all.extend(events);
    let case = given(&all);
    assert_eq!(case.status, CaseStatus::Open);
    assert_eq!(case.resolved_at, None);
    assert_eq!(
        case.root_cause.as_deref(),
        Some("carrier_delay"),
        "kept until resolved again"
    );

    let mut closed = resolved();
    closed.push(CaseEvent::Closed);
    for command in [
        CaseCommand::LogContact(contact(Direction::Inbound, false)),
        CaseCommand::Reopen {
            reason: "again".into(),
        },
        CaseCommand::ChangeStatus(CaseStatus::Open),
        CaseCommand::Assign {
            owner: Some("bo".into()),
            group: None,
        },
        resolve("carrier_delay"),
        CaseCommand::Close,
    ] {
        assert_eq!(
            when(&closed, command.clone()).unwrap_err().code(),
            "illegal_case_transition",
            "{command:?}"
        );
    }
}

#[test]
fn status_moves_between_the_active_states_and_closing_needs_a_resolution() {
    let events = when(
        &[opened()],
        CaseCommand::ChangeStatus(CaseStatus::PendingInternal),
    )
    .unwrap();
    assert_eq!(
        events,
        [CaseEvent::StatusChanged {
            from: CaseStatus::Open,
            to: CaseStatus::PendingInternal
        }]
    );
    assert_eq!(
        when(&[opened()], CaseCommand::ChangeStatus(CaseStatus::Open)),
        Ok(vec![])
    );
    for to in [CaseStatus::Resolved, CaseStatus::Closed] {
        assert_eq!(
            when(&[opened()], CaseCommand::ChangeStatus(to))
                .unwrap_err()
                .code(),
            "illegal_case_transition"
        );
    }
    assert_eq!(
        when(&[opened()], CaseCommand::Close).unwrap_err().code(),
        "illegal_case_transition"
    );
    assert_eq!(
        when(&resolved(), CaseCommand::Close),
        Ok(vec![CaseEvent::Closed])
    );
}

#[test]
fn assignment_records_only_what_changes() {
    let assign = |owner: Option<&str>, group: Option<&str>| CaseCommand::Assign {
        owner: owner.map(Into::into),
        group: group.map(Into::into),
    };
    assert_eq!(when(&[opened()], assign(None, Some("tier1"))), Ok(vec![]));
    assert_eq!(
        when(&[opened()], assign(Some("bo"), Some("tier1"))),
        Ok(vec![CaseEvent::Assigned {
            owner: Some("bo".into()),
            group: None
        }])
    );
    let case = given(&[
        opened(),
        CaseEvent::Assigned {
            owner: Some("bo".into()),
            group: None,
        },
    ]);
    assert_eq!(
        (case.owner.as_deref(), case.group.as_deref()),
        (Some("bo"), Some("tier1"))
    );
    assert_eq!(
        decide(Some(&case), CaseCommand::Unassign),
        Ok(vec![CaseEvent::Unassigned])
    );
}

#[test]
fn escalation_raises_priority_once_per_level_and_never_lowers_it() {
    let escalate = |level, priority| CaseCommand::Escalate {
        level,
        rule: "no first response in 4 business hours".into(),
        priority,
        group: Some("tier2".into()),
    };
    let events = when(&[opened()], escalate(1, Some(Priority::High))).unwrap();
    let mut all = vec![opened()];
    all.extend(events);
    let case = given(&all);
    assert_eq!((case.priority, case.escalation_level), (Priority::High, 1));
    assert_eq!(case.group.as_deref(), Some("tier2"));
    // The same level again (a timer fired twice) changes nothing.
    assert_eq!(
        decide(Some(&case), escalate(1, Some(Priority::Urgent))),
        Ok(vec![])
    );
    // A rule asking for a lower priority than the case has keeps the case's.
    let events = decide(Some(&case), escalate(2, Some(Priority::Low))).unwrap();
    assert_eq!(
        events,
        [CaseEvent::Escalated {
            level: 2,
            rule: "no first response in 4 business hours".into(),
            priority: None,
            group: None
        }]
    );
    // A resolved case is not escalated.
    assert_eq!(
        when(&resolved(), escalate(1, Some(Priority::High))),
        Ok(vec![])
    );
}

#[test]
fn every_event_survives_its_stored_form() {
    let events = vec![
        opened(),
        CaseEvent::ContactLogged(contact(Direction::Outbound, false)),
        CaseEvent::Assigned {
            owner: Some("bo".into()),
            group: Some("tier2".into()),
        },
        CaseEvent::PriorityChanged {
            from: Priority::Normal,
            to: Priority::High,
        },
        CaseEvent::Linked(Link {
            kind: LinkKind::Return,
            id: "rma_1".into(),
        }),
        CaseEvent::Resolved {
            root_cause: "wrong_item".into(),
            note: Some("sent the right one".into()),
        },
        CaseEvent::Closed,
    ];
    for e in &events {
        let json = serde_json::to_string(e).unwrap();
        assert_eq!(
            &serde_json::from_str::<CaseEvent>(&json).unwrap(),
            e,
            "{json}"
        );
        assert!(
            json.contains(&format!(
                "\"type\":\"{}\"",
                e.kind().trim_start_matches("case_")
            )),
            "{json}"
        );
    }
    let case = given(&events);
    let json = serde_json::to_string(&case).unwrap();
    assert_eq!(serde_json::from_str::<Case>(&json).unwrap(), case);
    assert_eq!(case.version, events.len() as u64);
    assert_eq!(
        events[5].summary(&case),
        "Case CASE-1001 resolved: root cause wrong_item"
    );
}
