//! Escalation rules: when they fire, what they do, and that each fires once.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::*;
use crate::ids::{EscalationPolicyId, EscalationRuleId, TeamId, WorkspaceId};
use crate::sla::clocks_tests::{agent, applied, at, message, opened, status, ticket};
use crate::ticket::{
    Author, Escalate, MessageVisibility, RecordSla, SlaMoment, TicketCommand, TicketEvent, decide,
};
use crate::values::{Priority, Status};

fn policy() -> EscalationPolicyId {
    EscalationPolicyId::from_uuid(Uuid::from_u128(0xe100))
}

fn rule_id(n: u128) -> EscalationRuleId {
    EscalationRuleId::from_uuid(Uuid::from_u128(0xe200 + n))
}

fn team() -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(0x7e01))
}

fn lead() -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa0ff))
}

fn rule(conditions: Vec<Condition>, actions: Vec<Action>) -> EscalationRule {
    EscalationRule::new(
        rule_id(1),
        ResourceName::parse("Tier 2").unwrap(),
        conditions,
        actions,
    )
    .unwrap()
}

fn escalate(rule: EscalationRule) -> TicketCommand {
    TicketCommand::Escalate(Escalate {
        policy_id: policy(),
        policy_version: 1,
        tier: 2,
        rule,
        team_leads: BTreeMap::from([(team(), lead())]),
    })
}

#[test]
fn a_rule_fires_when_the_customer_waited_long_enough_and_its_actions_follow() {
    let r = rule(
        vec![Condition::NoAgentReply { seconds: 600 }],
        vec![
            Action::RaisePriority { to: None },
            Action::AssignTeamLead {
                team_id: team(),
                agent_id: None,
            },
            Action::AddTag {
                tag: Tag::parse("escalated").unwrap(),
            },
            Action::InternalNote {
                text: MessageText::parse("Customer waited 10 minutes").unwrap(),
            },
            Action::EmitWebhook { label: None },
        ],
    );
    let history = vec![opened()];
    let t = ticket(&history);
    assert!(decide(&t, escalate(r.clone()), at(9)).unwrap().is_empty());
    let events = decide(&t, escalate(r.clone()), at(10)).unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.type_name()).collect();
    assert_eq!(
        types,
        vec![
            "TicketEscalated",
            "PriorityChanged",
            "TicketAssigned",
            "TagsChanged",
            "MessageAdded"
        ]
    );
    match &events[0] {
        TicketEvent::TicketEscalated {
            tier,
            rule_id: id,
            actions,
            ..
        } => {
            assert_eq!((*tier, *id), (2, rule_id(1)));
            assert!(actions.contains(&Action::AssignTeamLead {
                team_id: team(),
                agent_id: Some(lead())
            }));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &events[1],
        TicketEvent::PriorityChanged {
            from: Priority::Normal,
            to: Priority::High,
            ..
        }
    ));
    assert!(matches!(
        &events[4],
        TicketEvent::MessageAdded {
            author: Author::System { .. },
            visibility: MessageVisibility::Internal,
            ..
        }
    ));
    // Fired once: never again on this ticket.
    let mut after = history;
    after.extend(events);
    assert!(
        decide(&ticket(&after), escalate(r), at(30))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_agent_reply_and_waiting_on_the_customer_keep_the_no_reply_rule_quiet() {
    let r = rule(
        vec![Condition::NoAgentReply { seconds: 600 }],
        vec![Action::AddTag {
            tag: Tag::parse("late").unwrap(),
        }],
    );
    let answered = vec![opened(), message(agent(), MessageVisibility::Public, 5)];
    assert!(
        decide(&ticket(&answered), escalate(r.clone()), at(60))
            .unwrap()
            .is_empty()
    );
    let waiting = vec![opened(), status(Status::Open, Status::WaitingOnCustomer, 5)];
    assert!(
        decide(&ticket(&waiting), escalate(r), at(60))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_sla_breach_rule_waits_for_the_recorded_breach() {
    let r = rule(
        vec![
            Condition::SlaBreach {
                metric: Some(crate::sla::Metric::FirstResponse),
            },
            Condition::Priority {
                priorities: BTreeSet::from([Priority::Normal, Priority::High]),
            },
        ],
        vec![Action::MoveToTeam { team_id: team() }],
    );
    let mut history = vec![opened(), applied()];
    assert!(
        decide(&ticket(&history), escalate(r.clone()), at(61))
            .unwrap()
            .is_empty()
    );
    let breach = decide(
        &ticket(&history),
        TicketCommand::RecordSla(RecordSla {
            metric: crate::sla::Metric::FirstResponse,
            moment: SlaMoment::Breach,
        }),
        at(60),
    )
    .unwrap();
    history.extend(breach);
    let events = decide(&ticket(&history), escalate(r), at(61)).unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        &events[1],
        TicketEvent::Assigned { team_id: Some(t), agent_id: None, .. } if *t == team()
    ));
}

#[test]
fn age_priority_and_segment_conditions_all_must_hold() {
    let r = rule(
        vec![
            Condition::TicketAge { seconds: 3600 },
            Condition::Segment {
                segments: BTreeSet::from([crate::sla::policy::Segment::parse("vip").unwrap()]),
            },
        ],
        vec![Action::RaisePriority {
            to: Some(Priority::Urgent),
        }],
    );
    let history = vec![opened()];
    // Old enough, but not a VIP.
    assert!(
        decide(&ticket(&history), escalate(r.clone()), at(61))
            .unwrap()
            .is_empty()
    );
    let mut vip = history.clone();
    vip.push(TicketEvent::FieldsChanged {
        set: crate::values::Fields::parse(
            serde_json::json!({"segment": "vip"}).as_object().unwrap(),
        )
        .unwrap(),
        removed: BTreeSet::new(),
        at: at(1),
    });
    assert!(
        decide(&ticket(&vip), escalate(r.clone()), at(59))
            .unwrap()
            .is_empty()
    );
    let events = decide(&ticket(&vip), escalate(r), at(60)).unwrap();
    assert!(matches!(
        &events[1],
        TicketEvent::PriorityChanged {
            to: Priority::Urgent,
            ..
        }
    ));
}

#[test]
fn rules_and_policies_are_checked_when_built() {
    let name = || ResourceName::parse("r").unwrap();
    assert!(
        EscalationRule::new(
            rule_id(1),
            name(),
            vec![],
            vec![Action::EmitWebhook { label: None }]
        )
        .is_err()
    );
    assert!(
        EscalationRule::new(
            rule_id(1),
            name(),
            vec![Condition::TicketAge { seconds: 0 }],
            vec![Action::EmitWebhook { label: None }]
        )
        .is_err()
    );
    assert!(
        EscalationRule::new(
            rule_id(1),
            name(),
            vec![Condition::TicketAge { seconds: 5 }],
            vec![]
        )
        .is_err()
    );
    let r = rule(
        vec![Condition::TicketAge { seconds: 5 }],
        vec![Action::EmitWebhook { label: None }],
    );
    assert!(EscalationPolicyDefinition::new(name(), None, true, vec![r.clone(), r]).is_err());
}

#[test]
fn the_policy_aggregate_versions_every_change() {
    let def = EscalationPolicyDefinition::new(
        ResourceName::parse("Default").unwrap(),
        None,
        true,
        vec![rule(
            vec![Condition::TicketAge { seconds: 5 }],
            vec![Action::EmitWebhook { label: None }],
        )],
    )
    .unwrap();
    let mut p = EscalationPolicy::default();
    let created = p
        .decide(
            EscalationPolicyCommand::Create {
                id: policy(),
                workspace_id: WorkspaceId::parse("acme").unwrap(),
                definition: def.clone(),
            },
            at(0),
        )
        .unwrap();
    for e in created {
        p.apply(e);
    }
    assert!(
        p.decide(EscalationPolicyCommand::Update(def.clone()), at(1))
            .unwrap()
            .is_empty()
    );
    let mut disabled = def;
    disabled.enabled = false;
    assert_eq!(
        p.decide(EscalationPolicyCommand::Update(disabled), at(1))
            .unwrap()
            .len(),
        1
    );
    let deleted = p.decide(EscalationPolicyCommand::Delete, at(2)).unwrap();
    for e in deleted {
        p.apply(e);
    }
    assert_eq!(
        p.decide(EscalationPolicyCommand::Delete, at(3)),
        Err(EscalationPolicyRefused::NotFound)
    );
}
