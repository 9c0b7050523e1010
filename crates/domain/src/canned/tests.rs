//! Given/when/then tests of the canned response aggregate.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::{CannedResponseId, WorkspaceId};
use crate::name_claim::Named;
use crate::templating::TemplateBody;
use crate::values::{Category, ResourceName};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 11, 0, 0).unwrap()
}

fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

fn id() -> CannedResponseId {
    CannedResponseId::from_uuid(Uuid::from_u128(0xca01))
}

fn name(s: &str) -> ResourceName {
    ResourceName::parse(s).unwrap()
}

fn body(s: &str) -> TemplateBody {
    TemplateBody::parse(s).unwrap()
}

fn created() -> CannedEvent {
    CannedEvent::Created {
        canned_response_id: id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        name: name("Refund"),
        category: Some(Category::parse("billing").unwrap()),
        body: "Hi {{customer_name}}".into(),
        at: earlier(),
    }
}

fn given(history: Vec<CannedEvent>) -> CannedResponse {
    let mut s = CannedResponse::default();
    for e in history {
        s.apply(e);
    }
    s
}

fn create() -> CannedCommand {
    CannedCommand::Create(CreateCanned {
        id: id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        name: name("Refund"),
        category: Some(Category::parse("billing").unwrap()),
        body: body("Hi {{customer_name}}"),
    })
}

#[test]
fn creating_records_the_whole_response() {
    let events = given(vec![]).decide(create(), now()).unwrap();
    assert_eq!(
        events,
        vec![CannedEvent::Created {
            canned_response_id: id(),
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            name: name("Refund"),
            category: Some(Category::parse("billing").unwrap()),
            body: "Hi {{customer_name}}".into(),
            at: now(),
        }]
    );
}

#[test]
fn creating_again_with_the_same_id_changes_nothing() {
    assert_eq!(
        given(vec![created()]).decide(create(), now()).unwrap(),
        vec![]
    );
}

#[test]
fn an_update_carries_the_whole_new_content() {
    let events = given(vec![created()])
        .decide(
            CannedCommand::Update(UpdateCanned {
                body: Some(body("Hello {{customer_name}}")),
                category: Some(None),
                ..Default::default()
            }),
            now(),
        )
        .unwrap();
    assert_eq!(
        events,
        vec![CannedEvent::Updated {
            name: name("Refund"),
            category: None,
            body: "Hello {{customer_name}}".into(),
            at: now(),
        }]
    );
}

#[test]
fn an_update_to_the_same_content_changes_nothing() {
    let same = CannedCommand::Update(UpdateCanned {
        name: Some(name("Refund")),
        ..Default::default()
    });
    assert_eq!(given(vec![created()]).decide(same, now()).unwrap(), vec![]);
    assert_eq!(
        given(vec![created()])
            .decide(CannedCommand::Update(UpdateCanned::default()), now())
            .unwrap_err(),
        CannedError::NothingToChange
    );
}

#[test]
fn a_deleted_response_is_gone() {
    let deleted = given(vec![created(), CannedEvent::Deleted { at: earlier() }]);
    assert_eq!(deleted.claimed_name(), None);
    assert_eq!(
        deleted.decide(CannedCommand::Delete, now()).unwrap_err(),
        CannedError::NotFound
    );
    assert_eq!(
        deleted
            .decide(
                CannedCommand::Update(UpdateCanned {
                    name: Some(name("X")),
                    ..Default::default()
                }),
                now()
            )
            .unwrap_err(),
        CannedError::NotFound
    );
    assert_eq!(
        deleted.decide(create(), now()).unwrap_err(),
        CannedError::Deleted
    );
}

#[test]
fn nothing_can_be_done_to_a_response_that_never_was() {
    assert_eq!(
        given(vec![])
            .decide(CannedCommand::Delete, now())
            .unwrap_err(),
        CannedError::NotFound
    );
}

#[test]
fn a_live_response_holds_its_name() {
    assert_eq!(given(vec![created()]).claimed_name(), Some("Refund"));
}
