//! The routing choice: each strategy, capacity, availability, skills, and
//! what the decision records.

use uuid::Uuid;

use super::*;

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa000 + n))
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn online(n: u128, load: u32, capacity: u32) -> Candidate {
    Candidate {
        agent_id: agent(n),
        availability: Availability::Online,
        load,
        capacity,
        skills: BTreeSet::new(),
        last_assigned: None,
    }
}

fn request(strategy: Strategy) -> Request {
    Request {
        strategy,
        team_id: None,
        needs: BTreeSet::new(),
        released_by: None,
    }
}

fn rejected_as(d: &AssignmentDecision, n: u128) -> Option<Rejection> {
    d.candidates
        .iter()
        .find(|c| c.agent_id == agent(n))
        .and_then(|c| c.rejected.clone())
}

#[test]
fn least_loaded_picks_the_agent_with_the_fewest_active_tickets() {
    let d = choose(
        &request(Strategy::LeastLoaded),
        &[online(1, 3, 5), online(2, 1, 5), online(3, 2, 5)],
    );
    assert_eq!(d.chosen(), Some(agent(2)));
    assert_eq!(d.candidates[0].agent_id, agent(2));
    assert_eq!(d.candidates[1].agent_id, agent(3), "then by rank");
    assert_eq!(rejected_as(&d, 1), Some(Rejection::Outranked));
    assert_eq!(d.considered, 3);
}

#[test]
fn least_loaded_breaks_ties_by_whoever_waited_longest_for_a_ticket() {
    let mut a = online(1, 1, 5);
    a.last_assigned = Some(20);
    let mut b = online(2, 1, 5);
    b.last_assigned = Some(10);
    assert_eq!(
        choose(&request(Strategy::LeastLoaded), &[a, b]).chosen(),
        Some(agent(2))
    );
}

#[test]
fn round_robin_takes_turns_starting_with_agents_never_given_a_ticket() {
    let mut a = online(1, 0, 5);
    a.last_assigned = Some(5);
    let mut b = online(2, 4, 5);
    b.last_assigned = Some(3);
    let c = online(3, 2, 5);
    let r = request(Strategy::RoundRobin);
    assert_eq!(
        choose(&r, &[a.clone(), b.clone(), c]).chosen(),
        Some(agent(3))
    );
    assert_eq!(
        choose(&r, &[a, b]).chosen(),
        Some(agent(2)),
        "round robin ignores load below capacity"
    );
}

#[test]
fn nobody_at_capacity_is_given_another_ticket() {
    let d = choose(
        &request(Strategy::RoundRobin),
        &[online(1, 2, 2), online(2, 7, 3)],
    );
    assert_eq!(d.chosen(), None);
    assert_eq!(rejected_as(&d, 1), Some(Rejection::AtCapacity));
    assert_eq!(rejected_as(&d, 2), Some(Rejection::AtCapacity));
}

#[test]
fn agents_who_are_away_or_offline_are_never_chosen() {
    let mut away = online(1, 0, 5);
    away.availability = Availability::Away;
    let mut off = online(2, 0, 5);
    off.availability = Availability::Offline;
    let d = choose(
        &request(Strategy::LeastLoaded),
        &[away, off, online(3, 4, 5)],
    );
    assert_eq!(d.chosen(), Some(agent(3)));
    assert_eq!(
        rejected_as(&d, 1),
        Some(Rejection::NotOnline {
            availability: Availability::Away
        })
    );
    assert_eq!(
        rejected_as(&d, 2),
        Some(Rejection::NotOnline {
            availability: Availability::Offline
        })
    );
}

#[test]
fn skills_needs_every_needed_skill_then_least_loaded() {
    let mut billing = online(1, 3, 5);
    billing.skills = [tag("billing"), tag("de")].into();
    let mut generalist = online(2, 0, 5);
    generalist.skills = [tag("de")].into();
    let mut prefixed = online(3, 2, 5);
    prefixed.skills = [tag("skill:billing"), tag("skill:de")].into();
    let mut r = request(Strategy::Skills);
    r.needs = [tag("billing"), tag("de")].into();
    let d = choose(&r, &[billing, generalist, prefixed]);
    assert_eq!(
        d.chosen(),
        Some(agent(3)),
        "a skill: prefix on a skill is ignored"
    );
    assert_eq!(
        rejected_as(&d, 2),
        Some(Rejection::MissingSkills {
            missing: [tag("billing")].into()
        })
    );
    assert_eq!(rejected_as(&d, 1), Some(Rejection::Outranked));
}

#[test]
fn a_ticket_without_needs_fits_anyone_under_the_skills_strategy() {
    let d = choose(
        &request(Strategy::Skills),
        &[online(1, 1, 5), online(2, 0, 5)],
    );
    assert_eq!(d.chosen(), Some(agent(2)));
}

#[test]
fn other_strategies_ignore_skills() {
    let mut r = request(Strategy::LeastLoaded);
    r.needs = [tag("billing")].into();
    assert_eq!(choose(&r, &[online(1, 0, 5)]).chosen(), Some(agent(1)));
}

#[test]
fn the_agent_who_released_a_ticket_does_not_get_it_back() {
    let mut r = request(Strategy::LeastLoaded);
    r.released_by = Some(agent(1));
    let d = choose(&r, &[online(1, 0, 5), online(2, 3, 5)]);
    assert_eq!(d.chosen(), Some(agent(2)));
    assert_eq!(rejected_as(&d, 1), Some(Rejection::ReleasedIt));
    assert_eq!(choose(&r, &[online(1, 0, 5)]).chosen(), None);
}

#[test]
fn no_candidates_means_nobody() {
    let d = choose(&request(Strategy::LeastLoaded), &[]);
    assert_eq!(d.chosen(), None);
    assert!(d.candidates.is_empty());
}

#[test]
fn a_decision_records_at_most_fifty_candidates_but_counts_them_all() {
    let many: Vec<Candidate> = (0..80).map(|n| online(n, 1, 5)).collect();
    let d = choose(&request(Strategy::LeastLoaded), &many);
    assert_eq!(d.considered, 80);
    assert_eq!(d.candidates.len(), MAX_RECORDED_CANDIDATES);
    assert!(d.candidates[0].chosen);
}

#[test]
fn needs_are_read_from_skill_tags() {
    let tags = [tag("vip"), tag("skill:billing"), tag("skill:de")];
    assert_eq!(needs_from_tags(&tags), [tag("billing"), tag("de")].into());
}

#[test]
fn capacity_falls_back_from_agent_to_queue_to_workspace_to_the_default() {
    assert_eq!(effective_capacity(Some(2), Some(7), Some(9)), 2);
    assert_eq!(effective_capacity(None, Some(7), Some(9)), 7);
    assert_eq!(effective_capacity(None, None, Some(9)), 9);
    assert_eq!(effective_capacity(None, None, None), DEFAULT_CAPACITY);
}

#[test]
fn a_decision_serializes_with_reasons_a_person_can_read() {
    let d = choose(
        &request(Strategy::LeastLoaded),
        &[online(1, 0, 2), online(2, 2, 2)],
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["strategy"], "least_loaded");
    assert_eq!(v["candidates"][0]["chosen"], true);
    assert_eq!(v["candidates"][0]["load"], 0);
    assert_eq!(v["candidates"][1]["rejected"]["reason"], "at_capacity");
    let back: AssignmentDecision = serde_json::from_value(v).unwrap();
    assert_eq!(back, d);
}
