//! Notes and tags: given an order, when support writes, then the events and the state.

use super::test_story::*;
use super::*;
use crate::values::Id;

fn note(id: &str, text: &str) -> OrderCommand {
    OrderCommand::AddNote {
        id: Id::new(id),
        text: text.into(),
        author: "user:ana".into(),
    }
}

fn tags(add: &[&str], remove: &[&str]) -> OrderCommand {
    OrderCommand::ChangeTags {
        add: add.iter().map(|s| (*s).to_owned()).collect(),
        remove: remove.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn codes(err: OrderError) -> Vec<(String, &'static str)> {
    match err {
        OrderError::Invalid(issues) => issues.into_iter().map(|i| (i.field, i.code)).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[test]
fn a_note_is_kept_with_its_author_and_time_and_reads_on_the_timeline() {
    let story = Story::authorized();
    let events = story
        .when(note("not_1", "  Customer called: needs it by Friday  "))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].summary(None),
        "Note by user:ana: Customer called: needs it by Friday"
    );
    let order = story
        .and(note("not_1", "Customer called: needs it by Friday"))
        .order();
    assert_eq!(order.notes.len(), 1);
    assert_eq!(order.notes[0].id.as_str(), "not_1");
    assert_eq!(order.notes[0].text, "Customer called: needs it by Friday");
    assert_eq!(order.notes[0].author, "user:ana");
    assert!(
        outward_types(&events[0], &order).is_empty(),
        "notes stay inside"
    );
}

#[test]
fn an_empty_or_overlong_note_is_refused() {
    let story = Story::authorized();
    assert_eq!(
        codes(story.when(note("not_1", "   ")).unwrap_err()),
        [("text".to_owned(), "required")]
    );
    let long = "x".repeat(NOTE_MAX_CHARS + 1);
    assert_eq!(
        codes(story.when(note("not_1", &long)).unwrap_err()),
        [("text".to_owned(), "too_long")]
    );
    assert!(
        story
            .when(note("not_1", &"x".repeat(NOTE_MAX_CHARS)))
            .is_ok()
    );
}

#[test]
fn a_cancelled_order_still_takes_notes() {
    let story = Story::authorized().and(OrderCommand::Cancel(CancelOrder {
        reason: CancelReason::CustomerRequest,
        note: None,
        refund_id: Id::new("ref_1"),
    }));
    assert_eq!(story.order().state, OrderState::Cancelled);
    assert_eq!(
        story.when(note("not_1", "refund promised")).unwrap().len(),
        1
    );
}

#[test]
fn tags_are_normalized_and_a_change_that_changes_nothing_records_nothing() {
    let story = Story::authorized().and(tags(&[" VIP ", "gift", "vip"], &[]));
    let order = story.order();
    assert_eq!(
        order.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["gift", "vip"]
    );
    // Adding what is there and removing what is not: no event.
    assert_eq!(story.when(tags(&["vip"], &["late"])).unwrap(), []);
    let events = story.when(tags(&["wholesale"], &["gift"])).unwrap();
    assert_eq!(
        events[0].summary(None),
        "Tags added wholesale; removed gift"
    );
    let order = story.and(tags(&["wholesale"], &["gift"])).order();
    assert_eq!(
        order.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        ["vip", "wholesale"]
    );
}

#[test]
fn malformed_contradictory_or_too_many_tags_are_refused_naming_the_field() {
    let story = Story::authorized();
    assert_eq!(
        codes(story.when(tags(&["ok", "no spaces"], &[""])).unwrap_err()),
        [
            ("add[1]".to_owned(), "invalid_tag"),
            ("remove[0]".to_owned(), "invalid_tag")
        ]
    );
    assert_eq!(
        codes(story.when(tags(&["vip"], &["VIP"])).unwrap_err()),
        [("add[0]".to_owned(), "tag_added_and_removed")]
    );
    let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        codes(story.when(tags(&many, &[])).unwrap_err()),
        [("add".to_owned(), "too_many_tags")]
    );
    assert!(story.when(tags(&many[..MAX_TAGS], &[])).is_ok());
    assert_eq!(
        normalize_tag("Region:EU-West_2"),
        Some("region:eu-west_2".into())
    );
    assert_eq!(normalize_tag(&"a".repeat(41)), None);
}

#[test]
fn notes_and_tags_survive_the_snapshot_and_an_order_without_them_reads_as_before() {
    let order = Story::authorized()
        .and(note("not_1", "first"))
        .and(tags(&["vip"], &[]))
        .order();
    let json = serde_json::to_string(&order).unwrap();
    assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
    // A snapshot written before notes existed has neither field.
    let plain = serde_json::to_value(Story::authorized().order()).unwrap();
    assert!(
        plain.get("notes").is_none() && plain.get("tags").is_none(),
        "{plain}"
    );
    let read: Order = serde_json::from_value(plain).unwrap();
    assert!(read.notes.is_empty() && read.tags.is_empty());
}
