use chrono::{TimeZone, Utc};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn profile(name: &str) -> Profile {
    Profile {
        name: AgentName::parse(name).unwrap(),
        telegram_user_id: Some(TelegramUserId::parse(222).unwrap()),
        telegram_username: Some(TelegramUsername::parse("maria_support").unwrap()),
        teams: Default::default(),
        skills: Default::default(),
        max_concurrent: Some(5),
    }
}

fn registered() -> Agent {
    let mut a = Agent::default();
    for e in a
        .decide(
            AgentCommand::Register {
                agent_id: AgentId::from_uuid(uuid::Uuid::nil()),
                workspace_id: WorkspaceId::parse("acme").unwrap(),
                profile: profile("Maria"),
            },
            now(),
        )
        .unwrap()
    {
        a.apply(e);
    }
    a
}

#[test]
fn registering_twice_with_the_same_id_changes_nothing() {
    let a = registered();
    let again = a.decide(
        AgentCommand::Register {
            agent_id: AgentId::from_uuid(uuid::Uuid::nil()),
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            profile: profile("Maria"),
        },
        now(),
    );
    assert_eq!(again, Ok(vec![]));
    assert!(a.active);
    assert_eq!(a.availability, Availability::Offline);
}

#[test]
fn commands_on_an_unknown_agent_are_refused() {
    assert_eq!(
        Agent::default().decide(AgentCommand::Deactivate, now()),
        Err(AgentError::NotFound)
    );
}

#[test]
fn availability_changes_are_recorded_with_where_they_came_from() {
    let a = registered();
    let events = a
        .decide(AgentCommand::SetAvailability(Availability::Online), now())
        .unwrap();
    assert_eq!(
        events,
        vec![AgentEvent::AvailabilityChanged {
            from: Availability::Offline,
            to: Availability::Online,
            at: now()
        }]
    );
    assert_eq!(
        a.decide(AgentCommand::SetAvailability(Availability::Offline), now()),
        Ok(vec![])
    );
}

#[test]
fn a_deactivated_agent_goes_offline_and_refuses_changes_until_reactivated() {
    let mut a = registered();
    for e in a
        .decide(AgentCommand::SetAvailability(Availability::Online), now())
        .unwrap()
    {
        a.apply(e);
    }
    let events = a.decide(AgentCommand::Deactivate, now()).unwrap();
    assert_eq!(events.len(), 2);
    for e in events {
        a.apply(e);
    }
    assert!(!a.active);
    assert_eq!(a.availability, Availability::Offline);
    assert_eq!(
        a.decide(AgentCommand::ChangeProfile(profile("M")), now()),
        Err(AgentError::Deactivated)
    );
    assert_eq!(
        a.decide(AgentCommand::SetAvailability(Availability::Online), now()),
        Err(AgentError::Deactivated)
    );
    assert_eq!(a.decide(AgentCommand::Reactivate, now()).unwrap().len(), 1);
}

#[test]
fn an_unchanged_profile_is_not_an_event() {
    let a = registered();
    assert_eq!(
        a.decide(AgentCommand::ChangeProfile(profile("Maria")), now()),
        Ok(vec![])
    );
    assert_eq!(
        a.decide(AgentCommand::ChangeProfile(profile("Maria K")), now())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn events_keep_their_frozen_names() {
    let e = AgentEvent::Deactivated { at: now() };
    let v = serde_json::to_value(&e).unwrap();
    assert!(v.get("AgentDeactivated").is_some());
}
