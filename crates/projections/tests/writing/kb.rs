use std::collections::BTreeSet;

use tgcrm_domain::kb::{
    Article, ArticleCommand, ArticleStatus, CreateArticle, KbLink, LinkCommand, ReviseArticle,
    link_id, parse_markdown,
};
use tgcrm_domain::ticket::{
    AddMessage, Author, Channel, MessageVisibility, OpenTicket, Ticket, TicketCommand,
};
use tgcrm_domain::values::{
    ArticleBody, ArticleTitle, Customer, CustomerName, Fields, MessageText, Priority, Subject, Tag,
    TelegramUserId,
};
use tgcrm_domain::{ArticleId, MessageId, TicketId, WorkspaceId};
use tgcrm_projections::kb as rm;
use tgcrm_store::commands::execute;
use tgcrm_store::fulltext::{Match, terms};
use tgcrm_store::kb::{ImportOutcome, import_article};

use crate::harness::Env;
use crate::on_both;

pub async fn article(
    env: &Env,
    ws: &str,
    title: &str,
    body: &str,
    tags: &[&str],
    status: ArticleStatus,
) -> ArticleId {
    let id = ArticleId::new();
    execute::<Article>(
        &env.store,
        &env.clock,
        &id.to_string(),
        &env.ctx(ws),
        ArticleCommand::Create(CreateArticle {
            id,
            workspace_id: WorkspaceId::parse(ws).unwrap(),
            title: ArticleTitle::parse(title).unwrap(),
            body: ArticleBody::parse(body).unwrap(),
            tags: tags.iter().map(|t| Tag::parse(t).unwrap()).collect(),
            status,
            source: None,
        }),
    )
    .await
    .unwrap();
    id
}

pub async fn ticket(env: &Env, ws: &str, subject: &str, body: &str) -> TicketId {
    let id = TicketId::new();
    execute::<Ticket>(
        &env.store,
        &env.clock,
        &id.to_string(),
        &env.ctx(ws),
        TicketCommand::Open(OpenTicket {
            ticket_id: id,
            workspace_id: WorkspaceId::parse(ws).unwrap(),
            subject: Subject::parse(subject).unwrap(),
            customer: Customer {
                telegram_user_id: TelegramUserId::parse(42).unwrap(),
                name: CustomerName::parse("Ivan").unwrap(),
                username: None,
            },
            priority: Priority::Normal,
            channel: Channel::Api,
            tags: BTreeSet::new(),
            fields: Fields::default(),
            first_message: AddMessage {
                message_id: MessageId::new(),
                author: Author::Customer,
                visibility: MessageVisibility::Public,
                text: MessageText::parse(body).unwrap(),
                attachments: vec![],
            },
            follows_up: None,
        }),
    )
    .await
    .unwrap();
    id
}

struct Corpus {
    reset: ArticleId,
    two_factor: ArticleId,
    refund: ArticleId,
    shipping: ArticleId,
    draft: ArticleId,
}

/// A small knowledge base in `acme`, and one look-alike in `globex`.
async fn corpus(env: &Env) -> Corpus {
    use ArticleStatus::{Draft, Published};
    let c = Corpus {
        reset: article(
            env,
            "acme",
            "Reset your password",
            "Open Settings, choose Security and pick a new password. The password reset link expires after an hour.",
            &["login"],
            Published,
        )
        .await,
        two_factor: article(
            env,
            "acme",
            "Two-factor authentication",
            "Lost your phone? Use a backup code to sign in, then turn two-factor off and on again. Your password stays the same.",
            &["login", "security"],
            Published,
        )
        .await,
        refund: article(
            env,
            "acme",
            "Refund policy",
            "We refund any order within 14 days. A declined card is never charged, so there is nothing to refund.",
            &["billing"],
            Published,
        )
        .await,
        shipping: article(
            env,
            "acme",
            "Shipping times",
            "Orders ship within two business days; tracking numbers arrive by email.",
            &["orders"],
            Published,
        )
        .await,
        draft: article(
            env,
            "acme",
            "Password rules",
            "Passwords need twelve characters.",
            &[],
            Draft,
        )
        .await,
    };
    article(
        env,
        "globex",
        "Reset your password",
        "Another company's password article.",
        &[],
        Published,
    )
    .await;
    env.project().await;
    c
}

async fn find(env: &Env, q: &str, mode: Match, status: Option<&str>) -> Vec<String> {
    rm::search(env.db(), "acme", &terms(q, false), mode, status, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.article_id)
        .collect()
}

on_both!(
    search_ranks_title_matches_first_and_stays_in_its_workspace,
    |env: Env| async move {
        let c = corpus(&env).await;
        // Title match first, body-only match after; the draft and the other
        // workspace's article are not found.
        assert_eq!(
            find(&env, "password", Match::All, Some("published")).await,
            vec![c.reset.to_string(), c.two_factor.to_string()]
        );
        // Stemming: the plural finds the same articles.
        assert_eq!(
            find(&env, "passwords", Match::All, Some("published")).await,
            vec![c.reset.to_string(), c.two_factor.to_string()]
        );
        // Every word must occur.
        assert_eq!(
            find(&env, "password expires", Match::All, Some("published")).await,
            vec![c.reset.to_string()]
        );
        // A tag counts.
        assert_eq!(
            find(&env, "billing", Match::All, Some("published")).await,
            vec![c.refund.to_string()]
        );
        // Drafts on request.
        assert_eq!(
            find(&env, "twelve", Match::All, Some("draft")).await,
            vec![c.draft.to_string()]
        );
        assert!(
            find(&env, "twelve", Match::All, Some("published"))
                .await
                .is_empty()
        );
        assert!(find(&env, "quantum", Match::All, None).await.is_empty());
        // Snippets mark the matches.
        let hits = rm::search(
            env.db(),
            "acme",
            &terms("refund", false),
            Match::All,
            None,
            10,
        )
        .await
        .unwrap();
        assert!(
            hits[0].snippet.contains("**refund**"),
            "{}",
            hits[0].snippet
        );
        let _ = c.shipping;
    }
);

on_both!(
    suggestions_from_a_conversation_rank_the_relevant_article_first,
    |env: Env| async move {
        let c = corpus(&env).await;
        let words = terms(
            "Hi! My card was declined and I want a refund for my order please",
            true,
        );
        assert!(!words.contains(&"please".to_owned()));
        let hits = rm::search(env.db(), "acme", &words, Match::Any, Some("published"), 5)
            .await
            .unwrap();
        let ids: Vec<String> = hits.iter().map(|h| h.article_id.clone()).collect();
        assert_eq!(ids.first(), Some(&c.refund.to_string()), "{hits:?}");
        assert!(
            ids.contains(&c.shipping.to_string()),
            "orders match too: {ids:?}"
        );
        assert!(!ids.contains(&c.reset.to_string()));
        assert!(hits.windows(2).all(|w| w[0].rank >= w[1].rank));
    }
);

on_both!(
    every_change_is_a_version_and_the_index_follows_revisions,
    |env: Env| async move {
        let c = corpus(&env).await;
        let key = c.shipping.to_string();
        execute::<Article>(
            &env.store,
            &env.clock,
            &key,
            &env.ctx("acme"),
            ArticleCommand::Revise(ReviseArticle {
                title: Some(ArticleTitle::parse("Delivery times").unwrap()),
                body: Some(ArticleBody::parse("Parcels leave the warehouse in two days.").unwrap()),
                tags: None,
            }),
        )
        .await
        .unwrap();
        execute::<Article>(
            &env.store,
            &env.clock,
            &key,
            &env.ctx("acme"),
            ArticleCommand::SetStatus(ArticleStatus::Draft),
        )
        .await
        .unwrap();
        env.project().await;
        let versions = rm::versions(env.db(), "acme", &key).await.unwrap();
        let summary: Vec<(i64, &str, &str)> = versions
            .iter()
            .map(|v| (v.version, v.title.as_str(), v.status.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "Delivery times", "draft"),
                (2, "Delivery times", "published"),
                (1, "Shipping times", "published"),
            ]
        );
        assert_eq!(
            rm::version(env.db(), "acme", &key, 1)
                .await
                .unwrap()
                .unwrap()
                .body,
            "Orders ship within two business days; tracking numbers arrive by email."
        );
        assert!(
            rm::version(env.db(), "globex", &key, 1)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            find(&env, "parcels", Match::All, None).await,
            vec![key.clone()]
        );
        assert!(find(&env, "tracking", Match::All, None).await.is_empty());
        // A deleted article leaves the index.
        execute::<Article>(
            &env.store,
            &env.clock,
            &key,
            &env.ctx("acme"),
            ArticleCommand::Delete,
        )
        .await
        .unwrap();
        env.project().await;
        assert!(find(&env, "parcels", Match::All, None).await.is_empty());
    }
);

on_both!(
    links_show_on_the_ticket_and_on_the_article,
    |env: Env| async move {
        let c = corpus(&env).await;
        let t = ticket(
            &env,
            "acme",
            "Refund for a declined card",
            "Please refund me",
        )
        .await;
        let link = |cmd| {
            let env = &env;
            async move {
                execute::<KbLink>(
                    &env.store,
                    &env.clock,
                    &link_id(&t, &c.refund),
                    &env.ctx("acme"),
                    cmd,
                )
                .await
            }
        };
        let linked = link(LinkCommand::Link {
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            ticket_id: t,
            article_id: c.refund,
        })
        .await
        .unwrap();
        assert_eq!(linked.events.len(), 1);
        let again = link(LinkCommand::Link {
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            ticket_id: t,
            article_id: c.refund,
        })
        .await
        .unwrap();
        assert!(again.events.is_empty(), "linking twice is one link");
        env.project().await;
        let on_ticket = rm::ticket_links(env.db(), "acme", &t.to_string())
            .await
            .unwrap();
        assert_eq!(on_ticket.len(), 1);
        assert_eq!(on_ticket[0].title, "Refund policy");
        let on_article = rm::article_links(env.db(), "acme", &c.refund.to_string())
            .await
            .unwrap();
        assert_eq!(on_article.len(), 1);
        assert_eq!(on_article[0].ticket_id, t.to_string());
        assert_eq!(
            on_article[0].subject.as_deref(),
            Some("Refund for a declined card")
        );
        assert!(
            rm::ticket_links(env.db(), "globex", &t.to_string())
                .await
                .unwrap()
                .is_empty()
        );
        link(LinkCommand::Unlink).await.unwrap();
        env.project().await;
        assert!(
            rm::ticket_links(env.db(), "acme", &t.to_string())
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            link(LinkCommand::Unlink).await.is_err(),
            "nothing left to unlink"
        );
    }
);

on_both!(
    importing_the_same_export_again_updates_instead_of_copying,
    |env: Env| async move {
        let ctx = env.ctx("acme");
        let page = |content: &str| {
            parse_markdown("Help/Refunds 0123456789abcdef0123456789abcdef.md", content).unwrap()
        };
        let first = import_article(
            &env.store,
            &env.clock,
            &ctx,
            page("# Refunds\n\nWithin 14 days."),
            ArticleStatus::Published,
        )
        .await
        .unwrap();
        assert_eq!(first.outcome, ImportOutcome::Created);
        let same = import_article(
            &env.store,
            &env.clock,
            &ctx,
            page("# Refunds\n\nWithin 14 days."),
            ArticleStatus::Published,
        )
        .await
        .unwrap();
        assert_eq!(
            (same.id, same.outcome),
            (first.id, ImportOutcome::Unchanged)
        );
        let changed = import_article(
            &env.store,
            &env.clock,
            &ctx,
            page("# Refunds\n\nWithin 30 days."),
            ArticleStatus::Published,
        )
        .await
        .unwrap();
        assert_eq!(
            (changed.id, changed.outcome),
            (first.id, ImportOutcome::Updated)
        );
        env.project().await;
        let page = rm::list(
            env.db(),
            &rm::ArticleFilter {
                workspace_id: "acme".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].title, "Refunds");
        assert_eq!(page.items[0].body, "Within 30 days.");
        assert_eq!(page.items[0].status, "published");
        assert_eq!(
            page.items[0].source.as_deref(),
            Some("Help/Refunds 0123456789abcdef0123456789abcdef.md")
        );
    }
);
