//! Given/when/then tests of the ticket aggregate: every transition, allowed and
//! refused. `given(history).when(command).then(events)` folds the history with
//! [`Ticket::from_events`], decides the command at a fixed `now` and compares.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
use crate::values::{
    Customer, CustomerName, FieldKey, Fields, MessageText, Note, Priority, Status, Subject, Tag,
    TelegramUserId,
};

use super::*;

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/// When the history happened.
fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// When every command of a test is decided.
fn now() -> DateTime<Utc> {
    earlier() + Duration::hours(2)
}

struct Given {
    history: Vec<TicketEvent>,
}

fn given(history: Vec<TicketEvent>) -> Given {
    Given { history }
}

/// A ticket that never was.
fn nothing() -> Vec<TicketEvent> {
    vec![]
}

impl Given {
    fn when(self, command: TicketCommand) -> When {
        let state = Ticket::from_events(&self.history);
        let outcome = decide(&state, command, now());
        When { state, outcome }
    }
}

struct When {
    state: Ticket,
    outcome: Result<Vec<TicketEvent>, TicketError>,
}

impl When {
    /// Asserts the decided events, and returns the state they lead to.
    #[track_caller]
    fn then(self, expected: Vec<TicketEvent>) -> Ticket {
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "unexpected events");
                let mut state = self.state;
                for e in events {
                    state.apply(e);
                }
                state
            }
            Err(e) => panic!("expected events {expected:?}, got the refusal {e:?}"),
        }
    }

    /// Asserts that the command changes nothing.
    #[track_caller]
    fn then_nothing(self) {
        self.then(vec![]);
    }

    #[track_caller]
    fn then_error(self, expected: TicketError) {
        match self.outcome {
            Ok(events) => panic!("expected the refusal {expected:?}, got the events {events:?}"),
            Err(e) => assert_eq!(e, expected, "unexpected refusal"),
        }
    }
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

fn ticket_id() -> TicketId {
    TicketId::from_uuid(Uuid::from_u128(0x7100))
}

fn workspace() -> WorkspaceId {
    WorkspaceId::parse("acme").unwrap()
}

fn msg(n: u128) -> MessageId {
    MessageId::from_uuid(Uuid::from_u128(0x3000 + n))
}

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa000 + n))
}

fn team(n: u128) -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(0x7e00 + n))
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn tags(names: &[&str]) -> BTreeSet<Tag> {
    names.iter().map(|n| tag(n)).collect()
}

fn key(s: &str) -> FieldKey {
    FieldKey::parse(s).unwrap()
}

fn fields(value: serde_json::Value) -> Fields {
    Fields::parse(value.as_object().unwrap()).unwrap()
}

fn keys(names: &[&str]) -> BTreeSet<FieldKey> {
    names.iter().map(|n| key(n)).collect()
}

fn note(s: &str) -> Note {
    Note::parse(s).unwrap()
}

fn customer() -> Customer {
    Customer {
        telegram_user_id: TelegramUserId::parse(4242).unwrap(),
        name: CustomerName::parse("Alice").unwrap(),
        username: None,
    }
}

fn agent_author(n: u128) -> Author {
    Author::Agent { agent_id: agent(n) }
}

fn message(id: MessageId, author: Author, text: &str) -> AddMessage {
    AddMessage {
        message_id: id,
        author,
        visibility: MessageVisibility::Public,
        text: MessageText::parse(text).unwrap(),
        attachments: vec![],
    }
}

fn open_command() -> OpenTicket {
    OpenTicket {
        ticket_id: ticket_id(),
        workspace_id: workspace(),
        subject: Subject::parse("My order is late").unwrap(),
        customer: customer(),
        priority: Priority::Normal,
        channel: Channel::Telegram,
        tags: tags(&["orders"]),
        fields: fields(serde_json::json!({"order_no": "A-1"})),
        first_message: message(msg(1), Author::Customer, "Where is my order?"),
        follows_up: None,
    }
}

// Events, as the history would hold them.

fn opened_at(at: DateTime<Utc>) -> TicketEvent {
    TicketEvent::Opened {
        ticket_id: ticket_id(),
        workspace_id: workspace(),
        subject: Subject::parse("My order is late").unwrap(),
        customer: customer(),
        priority: Priority::Normal,
        channel: Channel::Telegram,
        tags: tags(&["orders"]),
        fields: fields(serde_json::json!({"order_no": "A-1"})),
        follows_up: None,
        at,
    }
}

fn message_added_at(id: MessageId, author: Author, text: &str, at: DateTime<Utc>) -> TicketEvent {
    TicketEvent::MessageAdded {
        message_id: id,
        author,
        visibility: MessageVisibility::Public,
        text: text.to_owned(),
        attachments: vec![],
        at,
        template: None,
    }
}

fn status_changed_at(
    from: Status,
    to: Status,
    cause: StatusChangeCause,
    at: DateTime<Utc>,
) -> TicketEvent {
    TicketEvent::StatusChanged {
        from,
        to,
        cause,
        reason: None,
        at,
    }
}

fn assigned_at(
    agent_id: Option<AgentId>,
    team_id: Option<TeamId>,
    previous: (Option<AgentId>, Option<TeamId>),
    at: DateTime<Utc>,
) -> TicketEvent {
    TicketEvent::Assigned {
        agent_id,
        team_id,
        previous_agent_id: previous.0,
        previous_team_id: previous.1,
        note: None,
        at,
        decision: None,
    }
}

/// An open ticket with the customer's first message.
fn open_ticket() -> Vec<TicketEvent> {
    vec![
        opened_at(earlier()),
        message_added_at(msg(1), Author::Customer, "Where is my order?", earlier()),
    ]
}

/// An existing ticket that has been moved (by hand) to `status`.
fn ticket_in(status: Status) -> Vec<TicketEvent> {
    let mut history = open_ticket();
    let manual = |from, to| status_changed_at(from, to, StatusChangeCause::Manual, earlier());
    match status {
        Status::Open => {}
        Status::InProgress | Status::WaitingOnCustomer | Status::Resolved => {
            history.push(manual(Status::Open, status));
        }
        Status::Closed => {
            history.push(manual(Status::Open, Status::Resolved));
            history.push(manual(Status::Resolved, Status::Closed));
        }
    }
    history
}

fn with(
    mut history: Vec<TicketEvent>,
    more: impl IntoIterator<Item = TicketEvent>,
) -> Vec<TicketEvent> {
    history.extend(more);
    history
}

// Commands.

fn customer_says(id: MessageId, text: &str) -> TicketCommand {
    TicketCommand::AddMessage(message(id, Author::Customer, text))
}

fn agent_says(n: u128, id: MessageId, text: &str) -> TicketCommand {
    TicketCommand::AddMessage(message(id, agent_author(n), text))
}

fn change_status(to: Status) -> TicketCommand {
    TicketCommand::ChangeStatus(ChangeStatus { to, reason: None })
}

fn change_priority(to: Priority) -> TicketCommand {
    TicketCommand::ChangePriority(ChangePriority { to })
}

fn assign(agent: Option<AgentId>, team: Option<TeamId>) -> TicketCommand {
    TicketCommand::Assign(Assign {
        agent,
        team,
        note: None,
    })
}

fn unassign() -> TicketCommand {
    TicketCommand::Unassign { note: None }
}

fn change_tags(add: &[&str], remove: &[&str]) -> TicketCommand {
    TicketCommand::ChangeTags(ChangeTags {
        add: tags(add),
        remove: tags(remove),
    })
}

fn set_fields(set: serde_json::Value, remove: &[&str]) -> TicketCommand {
    TicketCommand::SetFields(SetFields {
        set: fields(set),
        remove: keys(remove),
    })
}

fn edit(id: MessageId, editor: Author, text: &str) -> TicketCommand {
    TicketCommand::EditMessage(EditMessage {
        message_id: id,
        editor,
        text: MessageText::parse(text).unwrap(),
    })
}

/// One command of every kind but `Open`.
fn every_command_but_open() -> Vec<TicketCommand> {
    vec![
        customer_says(msg(50), "hello?"),
        agent_says(1, msg(51), "hi"),
        edit(msg(1), Author::Customer, "Where is my order, please?"),
        change_status(Status::Open),
        change_status(Status::Resolved),
        change_priority(Priority::High),
        assign(Some(agent(1)), None),
        unassign(),
        change_tags(&["vip"], &[]),
        set_fields(serde_json::json!({"plan": "pro"}), &[]),
        TicketCommand::Archive,
    ]
}

const NOT_CLOSED: [Status; 4] = [
    Status::Open,
    Status::InProgress,
    Status::WaitingOnCustomer,
    Status::Resolved,
];

// ---------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------

#[test]
fn opening_a_ticket_records_it_and_its_first_message() {
    let state = given(nothing())
        .when(TicketCommand::Open(open_command()))
        .then(vec![
            opened_at(now()),
            message_added_at(msg(1), Author::Customer, "Where is my order?", now()),
        ]);
    assert!(state.exists());
    assert_eq!(state.status, Status::Open);
    assert_eq!(state.message_count, 1);
    assert_eq!(state.tags, tags(&["orders"]));
    assert_eq!(state.opened_at, Some(now()));
}

#[test]
fn opening_a_follow_up_records_the_ticket_it_continues() {
    let previous = TicketId::from_uuid(Uuid::from_u128(0x6f00));
    let mut open = open_command();
    open.follows_up = Some(previous);
    let state = given(nothing()).when(TicketCommand::Open(open)).then(vec![
        TicketEvent::Opened {
            ticket_id: ticket_id(),
            workspace_id: workspace(),
            subject: Subject::parse("My order is late").unwrap(),
            customer: customer(),
            priority: Priority::Normal,
            channel: Channel::Telegram,
            tags: tags(&["orders"]),
            fields: fields(serde_json::json!({"order_no": "A-1"})),
            follows_up: Some(previous),
            at: now(),
        },
        message_added_at(msg(1), Author::Customer, "Where is my order?", now()),
    ]);
    assert_eq!(state.follows_up, Some(previous));
}

#[test]
fn opening_the_same_ticket_again_changes_nothing() {
    given(open_ticket())
        .when(TicketCommand::Open(open_command()))
        .then_nothing();
}

#[test]
fn opening_a_ticket_that_has_moved_on_changes_nothing() {
    for status in Status::ALL {
        given(ticket_in(status))
            .when(TicketCommand::Open(open_command()))
            .then_nothing();
    }
}

#[test]
fn any_other_command_on_a_ticket_that_does_not_exist_is_refused_as_not_found() {
    for command in every_command_but_open() {
        given(nothing())
            .when(command)
            .then_error(TicketError::NotFound);
    }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

#[test]
fn a_customer_message_on_a_resolved_ticket_reopens_it() {
    let state = given(ticket_in(Status::Resolved))
        .when(customer_says(msg(2), "It still has not arrived"))
        .then(vec![
            message_added_at(msg(2), Author::Customer, "It still has not arrived", now()),
            status_changed_at(
                Status::Resolved,
                Status::Open,
                StatusChangeCause::CustomerReplied,
                now(),
            ),
        ]);
    assert_eq!(state.status, Status::Open);
    assert_eq!(state.resolved_at, None);
    assert_eq!(state.message_count, 2);
}

#[test]
fn a_customer_message_on_a_ticket_waiting_on_the_customer_puts_it_back_to_open() {
    given(ticket_in(Status::WaitingOnCustomer))
        .when(customer_says(msg(2), "Here is my order number"))
        .then(vec![
            message_added_at(msg(2), Author::Customer, "Here is my order number", now()),
            status_changed_at(
                Status::WaitingOnCustomer,
                Status::Open,
                StatusChangeCause::CustomerReplied,
                now(),
            ),
        ]);
}

#[test]
fn a_customer_message_on_an_open_or_in_progress_ticket_does_not_change_its_status() {
    for status in [Status::Open, Status::InProgress] {
        let state = given(ticket_in(status))
            .when(customer_says(msg(2), "Any news?"))
            .then(vec![message_added_at(
                msg(2),
                Author::Customer,
                "Any news?",
                now(),
            )]);
        assert_eq!(state.status, status);
    }
}

#[test]
fn an_agent_message_on_a_resolved_ticket_does_not_reopen_it() {
    let state = given(ticket_in(Status::Resolved))
        .when(agent_says(1, msg(2), "Glad we could help"))
        .then(vec![message_added_at(
            msg(2),
            agent_author(1),
            "Glad we could help",
            now(),
        )]);
    assert_eq!(state.status, Status::Resolved);
}

#[test]
fn an_agent_message_on_a_ticket_waiting_on_the_customer_does_not_change_its_status() {
    given(ticket_in(Status::WaitingOnCustomer))
        .when(agent_says(1, msg(2), "Just a reminder"))
        .then(vec![message_added_at(
            msg(2),
            agent_author(1),
            "Just a reminder",
            now(),
        )]);
}

#[test]
fn a_system_message_on_a_resolved_ticket_does_not_reopen_it() {
    let system = Author::System {
        name: "autoreply".to_owned(),
    };
    given(ticket_in(Status::Resolved))
        .when(TicketCommand::AddMessage(message(
            msg(2),
            system.clone(),
            "Thanks!",
        )))
        .then(vec![message_added_at(msg(2), system, "Thanks!", now())]);
}

#[test]
fn an_internal_note_keeps_its_visibility() {
    let mut note = message(msg(2), agent_author(1), "VIP customer");
    note.visibility = MessageVisibility::Internal;
    given(open_ticket())
        .when(TicketCommand::AddMessage(note))
        .then(vec![TicketEvent::MessageAdded {
            message_id: msg(2),
            author: agent_author(1),
            visibility: MessageVisibility::Internal,
            text: "VIP customer".to_owned(),
            attachments: vec![],
            at: now(),
            template: None,
        }]);
}

#[test]
fn a_repeated_message_id_is_ignored() {
    given(open_ticket())
        .when(customer_says(msg(1), "Where is my order?"))
        .then_nothing();
    given(with(
        ticket_in(Status::Resolved),
        [message_added_at(
            msg(2),
            Author::Customer,
            "Again",
            earlier(),
        )],
    ))
    .when(customer_says(msg(2), "Again"))
    .then_nothing();
}

#[test]
fn a_message_on_a_closed_ticket_is_refused() {
    given(ticket_in(Status::Closed))
        .when(customer_says(msg(2), "Hello again"))
        .then_error(TicketError::Closed);
    given(ticket_in(Status::Closed))
        .when(agent_says(1, msg(2), "Following up"))
        .then_error(TicketError::Closed);
}

#[test]
fn the_author_of_a_message_can_edit_it() {
    given(open_ticket())
        .when(edit(msg(1), Author::Customer, "Where is order A-1?"))
        .then(vec![TicketEvent::MessageEdited {
            message_id: msg(1),
            editor: Author::Customer,
            text: "Where is order A-1?".to_owned(),
            at: now(),
        }]);
}

#[test]
fn an_agent_can_edit_their_own_message() {
    given(with(
        open_ticket(),
        [message_added_at(
            msg(2),
            agent_author(1),
            "On it",
            earlier(),
        )],
    ))
    .when(edit(msg(2), agent_author(1), "On it!"))
    .then(vec![TicketEvent::MessageEdited {
        message_id: msg(2),
        editor: agent_author(1),
        text: "On it!".to_owned(),
        at: now(),
    }]);
}

#[test]
fn editing_someone_elses_message_is_refused() {
    given(open_ticket())
        .when(edit(msg(1), agent_author(1), "Edited by an agent"))
        .then_error(TicketError::NotMessageAuthor);
    given(with(
        open_ticket(),
        [message_added_at(
            msg(2),
            agent_author(1),
            "On it",
            earlier(),
        )],
    ))
    .when(edit(msg(2), agent_author(2), "Mine now"))
    .then_error(TicketError::NotMessageAuthor);
}

#[test]
fn editing_an_unknown_message_is_refused() {
    given(open_ticket())
        .when(edit(msg(99), Author::Customer, "Hm"))
        .then_error(TicketError::MessageNotFound);
}

#[test]
fn editing_a_message_on_a_closed_ticket_is_refused() {
    given(ticket_in(Status::Closed))
        .when(edit(msg(1), Author::Customer, "Too late"))
        .then_error(TicketError::Closed);
}

#[test]
fn the_recent_messages_window_stays_bounded() {
    let extra = 100;
    let total = Ticket::RECENT_MESSAGES + extra;
    let history: Vec<TicketEvent> = std::iter::once(opened_at(earlier()))
        .chain(
            (0..total)
                .map(|n| message_added_at(msg(n as u128 + 1), Author::Customer, "spam", earlier())),
        )
        .collect();
    let state = Ticket::from_events(&history);
    assert_eq!(state.message_count, total as u64);
    assert_eq!(state.recent_messages.len(), Ticket::RECENT_MESSAGES);
    // Newest last; the oldest ones have fallen out of the window.
    assert_eq!(
        state.recent_messages.back().map(|m| m.id),
        Some(msg(total as u128))
    );
    assert_eq!(
        state.recent_messages.front().map(|m| m.id),
        Some(msg(extra as u128 + 1))
    );
    assert!(state.message(&msg(1)).is_none());
    assert!(state.message(&msg(total as u128)).is_some());

    // Within the window a repeat is recognised; an edit of a message that fell
    // out of it is refused as unknown.
    given(history.clone())
        .when(customer_says(msg(total as u128), "spam"))
        .then_nothing();
    given(history)
        .when(edit(msg(1), Author::Customer, "edited"))
        .then_error(TicketError::MessageNotFound);
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

#[test]
fn every_move_between_statuses_other_than_closed_is_allowed() {
    for from in NOT_CLOSED {
        for to in [
            Status::Open,
            Status::InProgress,
            Status::WaitingOnCustomer,
            Status::Resolved,
        ] {
            if from == to {
                continue;
            }
            let state =
                given(ticket_in(from))
                    .when(change_status(to))
                    .then(vec![status_changed_at(
                        from,
                        to,
                        StatusChangeCause::Manual,
                        now(),
                    )]);
            assert_eq!(state.status, to, "{from} -> {to}");
            assert_eq!(
                state.resolved_at.is_some(),
                to == Status::Resolved,
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn closing_a_resolved_ticket_is_allowed() {
    let state = given(ticket_in(Status::Resolved))
        .when(change_status(Status::Closed))
        .then(vec![status_changed_at(
            Status::Resolved,
            Status::Closed,
            StatusChangeCause::Manual,
            now(),
        )]);
    assert_eq!(state.status, Status::Closed);
    assert_eq!(state.closed_at, Some(now()));
    assert_eq!(state.resolved_at, Some(earlier()));
}

#[test]
fn closing_an_open_ticket_is_refused() {
    given(open_ticket())
        .when(change_status(Status::Closed))
        .then_error(TicketError::CloseRequiresResolved {
            current: Status::Open,
        });
}

#[test]
fn closing_a_ticket_that_is_not_resolved_is_refused() {
    for current in [Status::Open, Status::InProgress, Status::WaitingOnCustomer] {
        given(ticket_in(current))
            .when(change_status(Status::Closed))
            .then_error(TicketError::CloseRequiresResolved { current });
    }
}

#[test]
fn any_status_change_on_a_closed_ticket_is_refused() {
    for to in Status::ALL {
        given(ticket_in(Status::Closed))
            .when(change_status(to))
            .then_error(TicketError::Closed);
    }
}

#[test]
fn moving_to_the_status_a_ticket_already_has_changes_nothing() {
    for status in NOT_CLOSED {
        given(ticket_in(status))
            .when(change_status(status))
            .then_nothing();
    }
}

#[test]
fn a_status_change_keeps_its_reason() {
    given(open_ticket())
        .when(TicketCommand::ChangeStatus(ChangeStatus {
            to: Status::Resolved,
            reason: Some(note("Shipped today")),
        }))
        .then(vec![TicketEvent::StatusChanged {
            from: Status::Open,
            to: Status::Resolved,
            cause: StatusChangeCause::Manual,
            reason: Some("Shipped today".to_owned()),
            at: now(),
        }]);
}

#[test]
fn the_workflow_allows_exactly_the_documented_transitions() {
    for from in Status::ALL {
        for to in Status::ALL {
            let expected = match (from, to) {
                (Status::Closed, _) => Err(TicketError::Closed),
                (Status::Resolved, Status::Closed) => Ok(()),
                (current, Status::Closed) => Err(TicketError::CloseRequiresResolved { current }),
                _ => Ok(()),
            };
            assert_eq!(check_transition(from, to), expected, "{from} -> {to}");
        }
    }
}

// ---------------------------------------------------------------------------
// Closed and archived tickets
// ---------------------------------------------------------------------------

#[test]
fn every_command_on_a_closed_ticket_but_archive_is_refused() {
    for command in every_command_but_open() {
        if command == TicketCommand::Archive {
            continue;
        }
        given(ticket_in(Status::Closed))
            .when(command)
            .then_error(TicketError::Closed);
    }
}

#[test]
fn every_command_on_an_archived_ticket_but_archive_is_refused() {
    let archived = with(
        ticket_in(Status::Closed),
        [TicketEvent::Archived { at: earlier() }],
    );
    for command in every_command_but_open() {
        if command == TicketCommand::Archive {
            continue;
        }
        given(archived.clone())
            .when(command)
            .then_error(TicketError::Closed);
    }
}

#[test]
fn archiving_a_closed_ticket_is_allowed() {
    let state = given(ticket_in(Status::Closed))
        .when(TicketCommand::Archive)
        .then(vec![TicketEvent::Archived { at: now() }]);
    assert!(state.archived);
}

#[test]
fn archiving_a_ticket_that_is_not_closed_is_refused() {
    for current in NOT_CLOSED {
        given(ticket_in(current))
            .when(TicketCommand::Archive)
            .then_error(TicketError::ArchiveRequiresClosed { current });
    }
}

#[test]
fn archiving_an_archived_ticket_again_changes_nothing() {
    given(with(
        ticket_in(Status::Closed),
        [TicketEvent::Archived { at: earlier() }],
    ))
    .when(TicketCommand::Archive)
    .then_nothing();
}

// ---------------------------------------------------------------------------
// Priority
// ---------------------------------------------------------------------------

#[test]
fn changing_the_priority_records_from_and_to() {
    let state = given(open_ticket())
        .when(change_priority(Priority::Urgent))
        .then(vec![TicketEvent::PriorityChanged {
            from: Priority::Normal,
            to: Priority::Urgent,
            at: now(),
        }]);
    assert_eq!(state.priority, Priority::Urgent);
}

#[test]
fn changing_the_priority_to_every_other_value_is_allowed() {
    for to in Priority::ALL {
        if to == Priority::Normal {
            continue;
        }
        given(open_ticket())
            .when(change_priority(to))
            .then(vec![TicketEvent::PriorityChanged {
                from: Priority::Normal,
                to,
                at: now(),
            }]);
    }
}

#[test]
fn setting_the_priority_a_ticket_already_has_changes_nothing() {
    given(open_ticket())
        .when(change_priority(Priority::Normal))
        .then_nothing();
}

// ---------------------------------------------------------------------------
// Assignment
// ---------------------------------------------------------------------------

#[test]
fn assigning_an_agent_records_it() {
    let state = given(open_ticket())
        .when(assign(Some(agent(1)), None))
        .then(vec![assigned_at(Some(agent(1)), None, (None, None), now())]);
    assert_eq!(state.assignee, Some(agent(1)));
    assert_eq!(state.team, None);
}

#[test]
fn assigning_a_team_records_it() {
    let state = given(open_ticket())
        .when(assign(None, Some(team(1))))
        .then(vec![assigned_at(None, Some(team(1)), (None, None), now())]);
    assert_eq!(state.team, Some(team(1)));
    assert_eq!(state.assignee, None);
}

#[test]
fn assigning_an_agent_and_a_team_records_both() {
    given(open_ticket())
        .when(assign(Some(agent(1)), Some(team(1))))
        .then(vec![assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            now(),
        )]);
}

#[test]
fn assigning_an_agent_keeps_the_team() {
    given(with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    ))
    .when(assign(Some(agent(2)), None))
    .then(vec![assigned_at(
        Some(agent(2)),
        Some(team(1)),
        (Some(agent(1)), Some(team(1))),
        now(),
    )]);
}

#[test]
fn moving_to_another_team_without_naming_an_agent_releases_the_agent() {
    let state = given(with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    ))
    .when(assign(None, Some(team(2))))
    .then(vec![assigned_at(
        None,
        Some(team(2)),
        (Some(agent(1)), Some(team(1))),
        now(),
    )]);
    assert_eq!(state.assignee, None);
    assert_eq!(state.team, Some(team(2)));
}

#[test]
fn moving_to_another_team_with_an_agent_assigns_both() {
    given(with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    ))
    .when(assign(Some(agent(2)), Some(team(2))))
    .then(vec![assigned_at(
        Some(agent(2)),
        Some(team(2)),
        (Some(agent(1)), Some(team(1))),
        now(),
    )]);
}

#[test]
fn naming_the_current_team_again_keeps_the_agent_and_changes_nothing() {
    given(with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    ))
    .when(assign(None, Some(team(1))))
    .then_nothing();
}

#[test]
fn repeating_the_same_assignment_changes_nothing() {
    let assigned = with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    );
    given(assigned.clone())
        .when(assign(Some(agent(1)), Some(team(1))))
        .then_nothing();
    given(assigned)
        .when(assign(Some(agent(1)), None))
        .then_nothing();
}

#[test]
fn an_assignment_keeps_its_transfer_note() {
    given(open_ticket())
        .when(TicketCommand::Assign(Assign {
            agent: None,
            team: Some(team(1)),
            note: Some(note("Billing question")),
        }))
        .then(vec![TicketEvent::Assigned {
            agent_id: None,
            team_id: Some(team(1)),
            previous_agent_id: None,
            previous_team_id: None,
            note: Some("Billing question".to_owned()),
            at: now(),
            decision: None,
        }]);
}

#[test]
fn assigning_to_neither_an_agent_nor_a_team_is_refused() {
    given(open_ticket())
        .when(assign(None, None))
        .then_error(TicketError::NothingToChange(
            "name an agent, a team, or both",
        ));
}

#[test]
fn unassigning_releases_the_agent_and_keeps_the_team() {
    let state = given(with(
        open_ticket(),
        [assigned_at(
            Some(agent(1)),
            Some(team(1)),
            (None, None),
            earlier(),
        )],
    ))
    .when(TicketCommand::Unassign {
        note: Some(note("Out sick")),
    })
    .then(vec![TicketEvent::Unassigned {
        previous_agent_id: Some(agent(1)),
        previous_team_id: Some(team(1)),
        note: Some("Out sick".to_owned()),
        at: now(),
    }]);
    assert_eq!(state.assignee, None);
    assert_eq!(state.team, Some(team(1)));
}

#[test]
fn unassigning_a_ticket_that_is_not_assigned_is_refused() {
    given(open_ticket())
        .when(unassign())
        .then_error(TicketError::NotAssigned);
}

#[test]
fn unassigning_a_ticket_only_queued_for_a_team_is_refused() {
    given(with(
        open_ticket(),
        [assigned_at(None, Some(team(1)), (None, None), earlier())],
    ))
    .when(unassign())
    .then_error(TicketError::NotAssigned);
}

#[test]
fn assigning_a_closed_ticket_is_refused() {
    given(ticket_in(Status::Closed))
        .when(assign(Some(agent(1)), Some(team(1))))
        .then_error(TicketError::Closed);
    given(with(
        ticket_in(Status::Closed),
        [assigned_at(Some(agent(1)), None, (None, None), earlier())],
    ))
    .when(unassign())
    .then_error(TicketError::Closed);
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

#[test]
fn adding_and_removing_tags_records_only_the_effective_changes() {
    // The ticket has "orders". Adding "orders" again and removing "absent" are
    // not changes.
    let state = given(open_ticket())
        .when(change_tags(&["vip", "orders"], &["absent"]))
        .then(vec![TicketEvent::TagsChanged {
            added: tags(&["vip"]),
            removed: tags(&[]),
            at: now(),
        }]);
    assert_eq!(state.tags, tags(&["orders", "vip"]));

    let state = given(open_ticket())
        .when(change_tags(&["billing"], &["orders"]))
        .then(vec![TicketEvent::TagsChanged {
            added: tags(&["billing"]),
            removed: tags(&["orders"]),
            at: now(),
        }]);
    assert_eq!(state.tags, tags(&["billing"]));
}

#[test]
fn a_tag_both_added_and_removed_is_removed() {
    given(open_ticket())
        .when(change_tags(&["orders", "new"], &["orders", "new"]))
        .then(vec![TicketEvent::TagsChanged {
            added: tags(&[]),
            removed: tags(&["orders"]),
            at: now(),
        }]);
}

#[test]
fn a_tag_change_that_changes_nothing_emits_nothing() {
    given(open_ticket())
        .when(change_tags(&["orders"], &["absent"]))
        .then_nothing();
}

#[test]
fn a_tag_change_with_no_tags_is_refused() {
    given(open_ticket())
        .when(change_tags(&[], &[]))
        .then_error(TicketError::NothingToChange("give tags to add or remove"));
}

#[test]
fn more_than_the_maximum_number_of_tags_is_refused() {
    let names: Vec<String> = (0..Ticket::MAX_TAGS).map(|n| format!("t{n}")).collect();
    let full: Vec<&str> = names.iter().map(String::as_str).collect();
    // "orders" plus MAX_TAGS - 1 more is exactly the maximum.
    let at_max = given(open_ticket())
        .when(change_tags(&full[1..], &[]))
        .then(vec![TicketEvent::TagsChanged {
            added: tags(&full[1..]),
            removed: tags(&[]),
            at: now(),
        }]);
    assert_eq!(at_max.tags.len(), Ticket::MAX_TAGS);

    given(open_ticket())
        .when(change_tags(&full, &[]))
        .then_error(TicketError::TooManyTags {
            max: Ticket::MAX_TAGS,
        });

    // Swapping one tag for another at the maximum is fine.
    given(open_ticket())
        .when(change_tags(&full, &["orders"]))
        .then(vec![TicketEvent::TagsChanged {
            added: tags(&full),
            removed: tags(&["orders"]),
            at: now(),
        }]);
}

#[test]
fn changing_the_tags_of_a_closed_ticket_is_refused() {
    given(ticket_in(Status::Closed))
        .when(change_tags(&["vip"], &[]))
        .then_error(TicketError::Closed);
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

#[test]
fn setting_and_removing_fields_records_only_the_effective_changes() {
    // The ticket has order_no = "A-1".
    let state = given(open_ticket())
        .when(set_fields(
            serde_json::json!({"order_no": "A-1", "plan": "pro"}),
            &["absent"],
        ))
        .then(vec![TicketEvent::FieldsChanged {
            set: fields(serde_json::json!({"plan": "pro"})),
            removed: keys(&[]),
            at: now(),
        }]);
    assert_eq!(
        state.fields,
        fields(serde_json::json!({"order_no": "A-1", "plan": "pro"}))
    );

    let state = given(open_ticket())
        .when(set_fields(serde_json::json!({"vip": true}), &["order_no"]))
        .then(vec![TicketEvent::FieldsChanged {
            set: fields(serde_json::json!({"vip": true})),
            removed: keys(&["order_no"]),
            at: now(),
        }]);
    assert_eq!(state.fields, fields(serde_json::json!({"vip": true})));
}

#[test]
fn changing_a_field_value_records_the_new_value() {
    let state = given(open_ticket())
        .when(set_fields(serde_json::json!({"order_no": "B-2"}), &[]))
        .then(vec![TicketEvent::FieldsChanged {
            set: fields(serde_json::json!({"order_no": "B-2"})),
            removed: keys(&[]),
            at: now(),
        }]);
    assert_eq!(state.fields, fields(serde_json::json!({"order_no": "B-2"})));
}

#[test]
fn a_field_change_that_changes_nothing_emits_nothing() {
    given(open_ticket())
        .when(set_fields(
            serde_json::json!({"order_no": "A-1"}),
            &["absent"],
        ))
        .then_nothing();
}

#[test]
fn a_field_change_with_no_fields_is_refused() {
    given(open_ticket())
        .when(set_fields(serde_json::json!({}), &[]))
        .then_error(TicketError::NothingToChange("give fields to set or remove"));
}

#[test]
fn more_than_the_maximum_number_of_fields_is_refused() {
    let mut full = Fields::default();
    for n in 0..Fields::MAX_FIELDS {
        full.insert(key(&format!("f{n}")), serde_json::json!(n));
    }
    // The ticket already has order_no: MAX_FIELDS more is one too many.
    given(open_ticket())
        .when(TicketCommand::SetFields(SetFields {
            set: full.clone(),
            remove: BTreeSet::new(),
        }))
        .then_error(TicketError::TooManyFields {
            max: Fields::MAX_FIELDS,
        });

    // Removing order_no at the same time makes room.
    let state = given(open_ticket())
        .when(TicketCommand::SetFields(SetFields {
            set: full.clone(),
            remove: keys(&["order_no"]),
        }))
        .then(vec![TicketEvent::FieldsChanged {
            set: full,
            removed: keys(&["order_no"]),
            at: now(),
        }]);
    assert_eq!(state.fields.len(), Fields::MAX_FIELDS);
}

#[test]
fn setting_fields_on_a_closed_ticket_is_refused() {
    given(ticket_in(Status::Closed))
        .when(set_fields(serde_json::json!({"plan": "pro"}), &[]))
        .then_error(TicketError::Closed);
}

// ---------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------

#[test]
fn the_state_round_trips_through_json_as_a_snapshot() {
    let history = with(
        ticket_in(Status::Resolved),
        [
            assigned_at(Some(agent(1)), Some(team(1)), (None, None), earlier()),
            message_added_at(msg(2), agent_author(1), "Shipped", earlier()),
            TicketEvent::TagsChanged {
                added: tags(&["vip"]),
                removed: tags(&[]),
                at: earlier(),
            },
            TicketEvent::FieldsChanged {
                set: fields(serde_json::json!({"count": 3, "vip": true})),
                removed: keys(&[]),
                at: earlier(),
            },
            TicketEvent::PriorityChanged {
                from: Priority::Normal,
                to: Priority::High,
                at: earlier(),
            },
        ],
    );
    let state = Ticket::from_events(&history);
    let json = serde_json::to_string(&state).unwrap();
    let back: Ticket = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);

    // A snapshot decides like the history it was taken from.
    assert_eq!(
        decide(&back, customer_says(msg(2), "Shipped"), now()),
        decide(&state, customer_says(msg(2), "Shipped"), now()),
    );

    let empty: Ticket =
        serde_json::from_str(&serde_json::to_string(&Ticket::default()).unwrap()).unwrap();
    assert_eq!(empty, Ticket::default());
}

#[test]
fn an_event_round_trips_through_json_with_its_frozen_name() {
    let events = vec![
        opened_at(earlier()),
        message_added_at(msg(1), Author::Customer, "Hi", earlier()),
        TicketEvent::MessageEdited {
            message_id: msg(1),
            editor: Author::Staff {
                token_id: "tok_1".to_owned(),
            },
            text: "Hello".to_owned(),
            at: earlier(),
        },
        status_changed_at(
            Status::Resolved,
            Status::Open,
            StatusChangeCause::CustomerReplied,
            earlier(),
        ),
        TicketEvent::PriorityChanged {
            from: Priority::Low,
            to: Priority::Urgent,
            at: earlier(),
        },
        assigned_at(Some(agent(1)), Some(team(1)), (None, None), earlier()),
        TicketEvent::Unassigned {
            previous_agent_id: Some(agent(1)),
            previous_team_id: None,
            note: None,
            at: earlier(),
        },
        TicketEvent::TagsChanged {
            added: tags(&["vip"]),
            removed: tags(&["orders"]),
            at: earlier(),
        },
        TicketEvent::FieldsChanged {
            set: fields(serde_json::json!({"plan": "pro"})),
            removed: keys(&["order_no"]),
            at: earlier(),
        },
        TicketEvent::Archived { at: earlier() },
    ];
    let expected_names = [
        "TicketOpened",
        "MessageAdded",
        "MessageEdited",
        "StatusChanged",
        "PriorityChanged",
        "TicketAssigned",
        "TicketUnassigned",
        "TagsChanged",
        "FieldsChanged",
        "TicketArchived",
    ];
    assert_eq!(events.len(), expected_names.len());
    for (event, name) in events.into_iter().zip(expected_names) {
        assert_eq!(event.type_name(), name);
        assert_eq!(cqrs_es::DomainEvent::event_type(&event), name);
        assert_eq!(cqrs_es::DomainEvent::event_version(&event), EVENT_VERSION);

        let value = serde_json::to_value(&event).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 1, "{value}");
        assert!(object.contains_key(name), "{value} should be keyed {name}");

        let back: TicketEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_stored_opened_event_reads_back_with_its_frozen_shape() {
    let stored = serde_json::json!({
        "TicketOpened": {
            "ticket_id": "00000000-0000-0000-0000-000000007100",
            "workspace_id": "acme",
            "subject": "My order is late",
            "customer": {"telegram_user_id": 4242, "name": "Alice"},
            "priority": "normal",
            "channel": "telegram",
            "at": "2025-03-01T09:00:00Z"
        }
    });
    let event: TicketEvent = serde_json::from_value(stored).unwrap();
    assert_eq!(
        event,
        TicketEvent::Opened {
            ticket_id: ticket_id(),
            workspace_id: workspace(),
            subject: Subject::parse("My order is late").unwrap(),
            customer: customer(),
            priority: Priority::Normal,
            channel: Channel::Telegram,
            tags: BTreeSet::new(),
            fields: Fields::default(),
            follows_up: None,
            at: earlier(),
        }
    );
}

#[test]
fn the_aggregate_type_name_is_frozen() {
    assert_eq!(AGGREGATE_TYPE, "ticket");
    assert_eq!(<Ticket as cqrs_es::Aggregate>::TYPE, "ticket");
}
