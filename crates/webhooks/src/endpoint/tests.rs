//! Given/when/then tests of the endpoint aggregate.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use tgcrm_domain::WorkspaceId;

use super::*;

fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    earlier() + Duration::hours(1)
}

fn id() -> EndpointId {
    EndpointId::from_uuid(uuid::Uuid::from_u128(7))
}

fn url(s: &str) -> WebhookUrl {
    WebhookUrl::parse(s).unwrap()
}

fn types(t: &[&str]) -> EventTypes {
    EventTypes::parse(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn created() -> WebhookEndpointEvent {
    WebhookEndpointEvent::Created {
        endpoint_id: id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        url: url("https://example.com/hook"),
        event_types: types(&["ticket.created"]),
        description: None,
        active: true,
        key_id: "k1".into(),
        key_fingerprint: "f1".into(),
        at: earlier(),
    }
}

fn given(history: Vec<WebhookEndpointEvent>) -> WebhookEndpoint {
    let mut s = WebhookEndpoint::default();
    for e in history {
        s.apply(e);
    }
    s
}

fn when(
    history: Vec<WebhookEndpointEvent>,
    c: WebhookCommand,
) -> Result<Vec<WebhookEndpointEvent>, WebhookError> {
    decide(&given(history), c, now())
}

#[test]
fn creating_an_endpoint_records_it_without_its_secret() {
    let events = when(
        vec![],
        WebhookCommand::Create(CreateEndpoint {
            endpoint_id: id(),
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            url: url("https://example.com/hook"),
            event_types: types(&["*"]),
            description: Some(Description::parse("CRM sync").unwrap()),
            active: true,
            key_id: "k1".into(),
            key_fingerprint: "f1".into(),
        }),
    )
    .unwrap();
    assert_eq!(events.len(), 1);
    let json = serde_json::to_string(&events[0]).unwrap();
    assert!(json.contains("WebhookEndpointCreated"));
    assert!(!json.contains("whsec_"));
}

#[test]
fn creating_the_same_endpoint_again_changes_nothing() {
    let c = WebhookCommand::Create(CreateEndpoint {
        endpoint_id: id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        url: url("https://example.com/other"),
        event_types: types(&["*"]),
        description: None,
        active: true,
        key_id: "k2".into(),
        key_fingerprint: "f2".into(),
    });
    assert_eq!(when(vec![created()], c).unwrap(), vec![]);
}

#[test]
fn an_update_records_only_what_changed() {
    let events = when(
        vec![created()],
        WebhookCommand::Update(UpdateEndpoint {
            url: Some(url("https://example.com/hook")),
            event_types: Some(types(&["ticket.created", "message.created"])),
            description: None,
            active: Some(true),
        }),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![WebhookEndpointEvent::Updated {
            url: None,
            event_types: Some(types(&["ticket.created", "message.created"])),
            description: None,
            at: now(),
        }]
    );
}

#[test]
fn an_empty_update_is_refused() {
    assert_eq!(
        when(
            vec![created()],
            WebhookCommand::Update(UpdateEndpoint::default())
        ),
        Err(WebhookError::NothingToChange(
            "give url, event_types, description or active"
        ))
    );
}

#[test]
fn switching_off_and_on_records_the_reason_and_clears_it() {
    let off = when(
        vec![created()],
        WebhookCommand::Update(UpdateEndpoint {
            active: Some(false),
            ..Default::default()
        }),
    )
    .unwrap();
    assert_eq!(
        off,
        vec![WebhookEndpointEvent::Disabled {
            reason: DisableReason::Manual,
            detail: None,
            at: now()
        }]
    );
    let mut history = vec![created()];
    history.extend(off);
    let state = given(history.clone());
    assert!(!state.active);
    assert_eq!(state.disabled_reason, Some(DisableReason::Manual));
    let on = when(
        history.clone(),
        WebhookCommand::Update(UpdateEndpoint {
            active: Some(true),
            ..Default::default()
        }),
    )
    .unwrap();
    history.extend(on);
    let state = given(history);
    assert!(state.active);
    assert_eq!(state.disabled_reason, None);
    assert_eq!(state.disabled_at, None);
}

#[test]
fn disabling_a_disabled_endpoint_changes_nothing() {
    let history = vec![
        created(),
        WebhookEndpointEvent::Disabled {
            reason: DisableReason::Gone,
            detail: None,
            at: earlier(),
        },
    ];
    assert_eq!(
        when(
            history,
            WebhookCommand::Disable {
                reason: DisableReason::Failing,
                detail: None
            }
        )
        .unwrap(),
        vec![]
    );
}

#[test]
fn a_rotation_keeps_the_previous_key_for_the_grace_period() {
    let events = when(
        vec![created()],
        WebhookCommand::RotateSecret {
            key_id: "k2".into(),
            key_fingerprint: "f2".into(),
            previous_valid_until: now() + Duration::hours(24),
        },
    )
    .unwrap();
    assert_eq!(
        events,
        vec![WebhookEndpointEvent::SecretRotated {
            key_id: "k2".into(),
            key_fingerprint: "f2".into(),
            previous_key_id: "k1".into(),
            previous_key_expires_at: now() + Duration::hours(24),
            at: now(),
        }]
    );
}

#[test]
fn a_deleted_endpoint_refuses_everything_but_a_second_delete() {
    let history = vec![created(), WebhookEndpointEvent::Deleted { at: earlier() }];
    assert_eq!(
        when(history.clone(), WebhookCommand::Delete).unwrap(),
        vec![]
    );
    assert_eq!(
        when(
            history,
            WebhookCommand::RequestRedelivery {
                delivery_id: "d".into()
            }
        ),
        Err(WebhookError::NotFound)
    );
}

#[test]
fn commands_on_an_unknown_endpoint_are_refused() {
    assert_eq!(
        when(vec![], WebhookCommand::Delete),
        Err(WebhookError::NotFound)
    );
}

#[test]
fn an_exhausted_delivery_is_on_record() {
    let events = when(
        vec![created()],
        WebhookCommand::RecordExhausted(Exhausted {
            delivery_id: "d1".into(),
            event_id: "e1".into(),
            webhook_type: "ticket.created".into(),
            attempts: 8,
            last_status_code: Some(500),
            last_error: None,
        }),
    )
    .unwrap();
    assert_eq!(events[0].type_name(), "WebhookExhausted");
    let mut history = vec![created()];
    history.extend(events);
    assert_eq!(given(history).exhausted_deliveries, 1);
}

#[test]
fn replay_and_redelivery_requests_are_events() {
    let r = when(
        vec![created()],
        WebhookCommand::RequestReplay {
            replay_id: "r1".into(),
            from: ReplayFrom::Time { at: earlier() },
            event_types: None,
        },
    )
    .unwrap();
    assert_eq!(r[0].type_name(), "WebhookReplayRequested");
    let d = when(
        vec![created()],
        WebhookCommand::RequestRedelivery {
            delivery_id: "d1".into(),
        },
    )
    .unwrap();
    assert_eq!(d[0].type_name(), "WebhookRedeliveryRequested");
}

#[test]
fn stored_events_read_back_the_same() {
    let e = created();
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        serde_json::from_value::<WebhookEndpointEvent>(json).unwrap(),
        e
    );
}
