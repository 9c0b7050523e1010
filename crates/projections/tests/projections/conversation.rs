//! The conversation: messages in order, internal notes only for those who
//! may see them, edits applied, pages by sequence.

use chrono::Duration;
use tgcrm_domain::ticket::{Author, EditMessage, MessageVisibility, TicketCommand};
use tgcrm_domain::values::MessageText;
use tgcrm_projections::conversation::list;
use tgcrm_projections::cursor::decode_i64;
use tgcrm_store::Db;
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{add_message, customer_says};

use crate::support::{Desk, project, t0};

both_backends!(
    the_conversation_hides_internal_notes_unless_asked,
    |db: Db| async move {
        let desk = Desk::new(&db);
        let id = desk.open("acme", "Broken login", |_| {}).await;
        let staff = Author::Staff {
            token_id: "token:test".into(),
        };
        desk.clock.advance(Duration::minutes(1));
        let reply = add_message(staff.clone(), MessageVisibility::Public, "Try again?");
        let reply_id = reply.message_id;
        desk.run("acme", id, TicketCommand::AddMessage(reply)).await;
        desk.clock.advance(Duration::minutes(1));
        desk.run(
            "acme",
            id,
            TicketCommand::AddMessage(add_message(
                staff.clone(),
                MessageVisibility::Internal,
                "Customer is on the old app",
            )),
        )
        .await;
        desk.clock.advance(Duration::minutes(1));
        desk.run("acme", id, customer_says("Still broken")).await;
        desk.clock.advance(Duration::minutes(1));
        desk.run(
            "acme",
            id,
            TicketCommand::EditMessage(EditMessage {
                message_id: reply_id,
                editor: staff,
                text: MessageText::parse("Please try again now").unwrap(),
            }),
        )
        .await;
        // Another ticket's messages stay on that ticket.
        desk.open("acme", "Unrelated", |_| {}).await;
        project(&db).await;

        let key = id.to_string();
        let (public, next) = list(&db, "acme", &key, false, 0, 50).await.unwrap();
        assert!(next.is_none());
        let texts: Vec<&str> = public.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["hello", "Please try again now", "Still broken"]);
        assert!(public.iter().all(|m| m.visibility == "public"));

        let (everything, _) = list(&db, "acme", &key, true, 0, 50).await.unwrap();
        let shown: Vec<(&str, &str, &str)> = everything
            .iter()
            .map(|m| {
                (
                    m.author_kind.as_str(),
                    m.visibility.as_str(),
                    m.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("customer", "public", "hello"),
                ("staff", "public", "Please try again now"),
                ("staff", "internal", "Customer is on the old app"),
                ("customer", "public", "Still broken"),
            ]
        );
        let edited = &everything[1];
        assert_eq!(edited.message_id, reply_id.to_string());
        assert_eq!(edited.author_id.as_deref(), Some("token:test"));
        assert_eq!(edited.created_at, t0() + Duration::minutes(1));
        assert_eq!(edited.edited_at, Some(t0() + Duration::minutes(4)));
        assert!(everything.windows(2).all(|w| w[0].sequence < w[1].sequence));

        // Another workspace sees nothing of it.
        assert!(
            list(&db, "globex", &key, true, 0, 50)
                .await
                .unwrap()
                .0
                .is_empty()
        );

        // Pages by sequence, with and without internal notes.
        for (internal, expected) in [(true, 4), (false, 3)] {
            let mut after = 0;
            let mut seen = Vec::new();
            loop {
                let (page, next) = list(&db, "acme", &key, internal, after, 1).await.unwrap();
                seen.extend(page.into_iter().map(|m| m.message_id));
                match next {
                    Some(cursor) => after = decode_i64(&cursor).unwrap(),
                    None => break,
                }
            }
            assert_eq!(seen.len(), expected);
            let all = if internal { &everything } else { &public };
            assert_eq!(
                seen,
                all.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>()
            );
        }
    }
);
