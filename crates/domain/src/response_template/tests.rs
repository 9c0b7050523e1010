//! Given/when/then tests of the response template aggregate: versions and sharing.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::{AgentId, TeamId, TemplateId, WorkspaceId};
use crate::name_claim::Named;
use crate::templating::TemplateBody;
use crate::values::ResourceName;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 11, 0, 0).unwrap()
}

fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

fn agent() -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa001))
}

fn team() -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(0x7e01))
}

fn name(s: &str) -> ResourceName {
    ResourceName::parse(s).unwrap()
}

fn created() -> TemplateEvent {
    TemplateEvent::Created {
        template_id: TemplateId::from_uuid(Uuid::from_u128(0x7001)),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        name: name("Greeting"),
        category: None,
        body: "Hi {{customer_name}}".into(),
        sharing: Sharing::Private { agent_id: agent() },
        owner: Some(agent()),
        at: earlier(),
    }
}

fn given(history: Vec<TemplateEvent>) -> ResponseTemplate {
    let mut s = ResponseTemplate::default();
    for e in history {
        s.apply(e);
    }
    s
}

fn edit(e: EditTemplate) -> TemplateCommand {
    TemplateCommand::Edit(e)
}

#[test]
fn every_edit_is_a_new_version_with_the_whole_content() {
    let events = given(vec![created()])
        .decide(
            edit(EditTemplate {
                body: Some(TemplateBody::parse("Hello {{customer_name}}").unwrap()),
                ..Default::default()
            }),
            now(),
        )
        .unwrap();
    assert_eq!(
        events,
        vec![TemplateEvent::Edited {
            name: name("Greeting"),
            category: None,
            body: "Hello {{customer_name}}".into(),
            sharing: Sharing::Private { agent_id: agent() },
            at: now(),
        }]
    );
}

#[test]
fn sharing_with_a_team_is_an_edit_too() {
    let events = given(vec![created()])
        .decide(
            edit(EditTemplate {
                sharing: Some(Sharing::Team { team_id: team() }),
                ..Default::default()
            }),
            now(),
        )
        .unwrap();
    assert!(matches!(
        events.as_slice(),
        [TemplateEvent::Edited {
            sharing: Sharing::Team { .. },
            ..
        }]
    ));
}

#[test]
fn an_edit_that_changes_nothing_is_not_a_version() {
    let same = edit(EditTemplate {
        name: Some(name("Greeting")),
        sharing: Some(Sharing::Private { agent_id: agent() }),
        ..Default::default()
    });
    assert_eq!(given(vec![created()]).decide(same, now()).unwrap(), vec![]);
    assert_eq!(
        given(vec![created()])
            .decide(edit(EditTemplate::default()), now())
            .unwrap_err(),
        TemplateRefused::NothingToChange
    );
}

#[test]
fn a_deleted_template_cannot_be_edited_and_frees_its_name() {
    let deleted = given(vec![created(), TemplateEvent::Deleted { at: earlier() }]);
    assert_eq!(deleted.claimed_name(), None);
    assert_eq!(
        deleted
            .decide(
                edit(EditTemplate {
                    name: Some(name("X")),
                    ..Default::default()
                }),
                now()
            )
            .unwrap_err(),
        TemplateRefused::NotFound
    );
}

#[test]
fn sharing_is_stored_with_its_scope() {
    let json = serde_json::to_value(Sharing::Team { team_id: team() }).unwrap();
    assert_eq!(json["scope"], "team");
    assert_eq!(
        serde_json::to_value(Sharing::Workspace).unwrap(),
        serde_json::json!({"scope": "workspace"})
    );
}
