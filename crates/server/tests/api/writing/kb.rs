use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::on_both;
use crate::writing::{Resp, TestApp};

async fn article(app: &TestApp, title: &str, body: &str, tags: &[&str], status: &str) -> Resp {
    let r = app
        .post(
            &app.admin,
            "/v1/kb/articles",
            json!({"title": title, "body": body, "tags": tags, "status": status}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["article_id"].as_str().unwrap().to_owned())
        .collect()
}

fn id(r: &Resp) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}

/// A small knowledge base; returns (reset, two-factor, refund, shipping, draft) and the last position.
async fn corpus(app: &TestApp) -> (Vec<String>, Option<String>) {
    let reset = article(
        app,
        "Reset your password",
        "Open **Settings**, choose Security and pick a new password. The password reset link expires after an hour.",
        &["login"],
        "published",
    )
    .await;
    let two_factor = article(
        app,
        "Two-factor authentication",
        "Lost your phone? Use a backup code to sign in. Your password stays the same.",
        &["login", "security"],
        "published",
    )
    .await;
    let refund = article(
        app,
        "Refund policy",
        "We refund any order within 14 days. A declined card is never charged.",
        &["billing"],
        "published",
    )
    .await;
    let shipping = article(
        app,
        "Shipping times",
        "Orders ship within two business days; tracking numbers arrive by email.",
        &["orders"],
        "published",
    )
    .await;
    let draft = article(
        app,
        "Password rules",
        "Passwords need twelve characters.",
        &[],
        "draft",
    )
    .await;
    (
        vec![
            id(&reset),
            id(&two_factor),
            id(&refund),
            id(&shipping),
            id(&draft),
        ],
        draft.position,
    )
}

on_both!(
    search_ranks_by_relevance_and_hides_drafts_and_other_workspaces,
    |app: TestApp| async move {
        let (a, position) = corpus(&app).await;
        let other = app.token("globex", Role::Admin, None).await;
        app.post(
            &other,
            "/v1/kb/articles",
            json!({"title": "Reset your password", "body": "Theirs", "status": "published"}),
        )
        .await;
        let search = |q: &str| {
            let (app, position, q) = (&app, position.clone(), q.to_owned());
            async move {
                app.get_after(&app.admin, &format!("/v1/kb/search?q={q}"), &position)
                    .await
            }
        };
        let found = search("password").await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(ids(&found), vec![a[0].clone(), a[1].clone()]);
        assert!(
            found.body["items"][0]["score"].as_f64().unwrap()
                > found.body["items"][1]["score"].as_f64().unwrap()
        );
        assert!(
            found.body["items"][0]["snippet"]
                .as_str()
                .unwrap()
                .contains("**password**")
        );
        assert_eq!(ids(&search("password%20expires").await), vec![a[0].clone()]);
        assert_eq!(ids(&search("billing").await), vec![a[2].clone()]);
        assert_eq!(
            ids(&app
                .get(&app.admin, "/v1/kb/search?q=twelve&status=draft")
                .await),
            vec![a[4].clone()]
        );
        assert_eq!(ids(&search("twelve").await), Vec::<String>::new());
        let analyst = app.token("acme", Role::Analyst, None).await;
        assert_eq!(
            ids(&app.get(&analyst, "/v1/kb/search?q=refund").await),
            vec![a[2].clone()]
        );
        let empty = app.get(&app.admin, "/v1/kb/search?q=%20!!").await;
        assert_eq!(empty.status, 422);
        assert_eq!(
            app.get(&app.admin, "/v1/kb/search?q=x&status=secret")
                .await
                .status,
            422
        );
    }
);

on_both!(
    suggestions_for_a_ticket_come_from_its_conversation_best_first,
    |app: TestApp| async move {
        let (a, _) = corpus(&app).await;
        let t = app
            .ticket(
                "Charged for a declined card",
                "My card was declined but I see a charge. I want a refund.",
                json!({}),
            )
            .await;
        let note = app
            .post(
                &app.admin,
                &format!("/v1/tickets/{t}/messages"),
                json!({"text": "Check the order history", "visibility": "internal"}),
            )
            .await;
        let s = app
            .get_after(
                &app.admin,
                &format!("/v1/tickets/{t}/suggestions"),
                &note.position,
            )
            .await;
        assert_eq!(s.status, 200, "{}", s.body);
        let got = ids(&s);
        assert_eq!(got.first(), Some(&a[2]), "{}", s.body);
        assert!(
            got.contains(&a[3]),
            "the order history note points to shipping: {}",
            s.body
        );
        assert!(!got.contains(&a[0]));
        assert!(
            s.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["linked"] == false)
        );
        let scores: Vec<f64> = s.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        let other = app.token("globex", Role::Admin, None).await;
        assert_eq!(
            app.get(&other, &format!("/v1/tickets/{t}/suggestions"))
                .await
                .status,
            404
        );
    }
);

on_both!(
    a_link_shows_on_the_ticket_and_on_the_article,
    |app: TestApp| async move {
        let (a, _) = corpus(&app).await;
        let t = app.ticket("Refund please", "Refund me", json!({})).await;
        let link = app
            .post(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": a[2]}),
            )
            .await;
        assert_eq!(link.status, 201, "{}", link.body);
        let again = app
            .post(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": a[2]}),
            )
            .await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["created"], false);
        let on_ticket = app
            .get_after(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                &link.position,
            )
            .await;
        assert_eq!(on_ticket.body["articles"][0]["article_id"], a[2].as_str());
        assert_eq!(on_ticket.body["articles"][0]["title"], "Refund policy");
        let on_article = app
            .get_after(
                &app.admin,
                &format!("/v1/kb/articles/{}", a[2]),
                &link.position,
            )
            .await;
        assert_eq!(
            on_article.body["linked_tickets"][0]["ticket_id"],
            t.as_str()
        );
        assert_eq!(
            on_article.body["linked_tickets"][0]["subject"],
            "Refund please"
        );
        let links = app
            .get_after(
                &app.admin,
                &format!("/v1/kb/articles/{}/links", a[2]),
                &link.position,
            )
            .await;
        assert_eq!(links.body["tickets"].as_array().unwrap().len(), 1);
        let suggested = app
            .get_after(
                &app.admin,
                &format!("/v1/tickets/{t}/suggestions"),
                &link.position,
            )
            .await;
        assert_eq!(suggested.body["items"][0]["linked"], true);

        // Refusals.
        let analyst = app.token("acme", Role::Analyst, None).await;
        assert_eq!(
            app.post(
                &analyst,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": a[0]})
            )
            .await
            .status,
            403
        );
        let other = app.token("globex", Role::Admin, None).await;
        assert_eq!(
            app.post(
                &other,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": a[0]})
            )
            .await
            .status,
            404
        );
        assert_eq!(
            app.get(&other, &format!("/v1/tickets/{t}/links"))
                .await
                .status,
            404
        );
        assert_eq!(
            app.post(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": "nope"})
            )
            .await
            .status,
            422
        );
        assert_eq!(
            app.post(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                json!({"article_id": uuid::Uuid::now_v7().to_string()})
            )
            .await
            .status,
            404
        );

        let gone = app
            .delete(&app.admin, &format!("/v1/tickets/{t}/links/{}", a[2]))
            .await;
        assert_eq!(gone.status, 204);
        assert_eq!(
            app.delete(&app.admin, &format!("/v1/tickets/{t}/links/{}", a[2]))
                .await
                .status,
            404
        );
        let after = app
            .get_after(
                &app.admin,
                &format!("/v1/tickets/{t}/links"),
                &gone.position,
            )
            .await;
        assert_eq!(after.body["articles"], json!([]));
    }
);

on_both!(
    every_change_to_an_article_is_a_version,
    |app: TestApp| async move {
        let created = article(&app, "Shipping", "Two days.", &["orders"], "draft").await;
        let a = id(&created);
        let revised = app
            .patch(
                &app.admin,
                &format!("/v1/kb/articles/{a}"),
                json!({"body": "Three days."}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(revised.status, 200, "{}", revised.body);
        assert_eq!(revised.body["version"], 2);
        let published = app
            .patch(
                &app.admin,
                &format!("/v1/kb/articles/{a}"),
                json!({"status": "published"}),
                Some("\"2\""),
            )
            .await;
        assert_eq!(published.body["version"], 3);
        assert_eq!(published.body["status"], "published");
        assert_eq!(
            app.patch(
                &app.admin,
                &format!("/v1/kb/articles/{a}"),
                json!({"title": "x"}),
                Some("\"1\"")
            )
            .await
            .status,
            412
        );
        let versions = app
            .get_after(
                &app.admin,
                &format!("/v1/kb/articles/{a}/versions"),
                &published.position,
            )
            .await;
        let summary: Vec<(i64, String, String)> = versions.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_i64().unwrap(),
                    v["body"].as_str().unwrap().to_owned(),
                    v["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "Three days.".into(), "published".into()),
                (2, "Three days.".into(), "draft".into()),
                (1, "Two days.".into(), "draft".into()),
            ]
        );
        assert_eq!(
            app.get(&app.admin, &format!("/v1/kb/articles/{a}/versions/1"))
                .await
                .body["body"],
            "Two days."
        );
        let list = app
            .get_after(
                &app.admin,
                "/v1/kb/articles?status=published&tag=orders",
                &published.position,
            )
            .await;
        assert_eq!(list.body["items"][0]["id"], a.as_str());
        let bad = app
            .post(
                &app.admin,
                "/v1/kb/articles",
                json!({"title": "", "body": "x", "status": "live"}),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);
        assert_eq!(
            app.delete(&app.admin, &format!("/v1/kb/articles/{a}"))
                .await
                .status,
            204
        );
        assert_eq!(
            app.get(&app.admin, &format!("/v1/kb/articles/{a}"))
                .await
                .status,
            404
        );
    }
);

on_both!(
    importing_markdown_pages_twice_updates_instead_of_copying,
    |app: TestApp| async move {
        let files = |refund_days: u32| -> Value {
            json!({"files": [
                {"path": "Billing/Refunds.md", "content": format!("---\ntitle: Refund policy\ntags: [billing]\n---\nWithin {refund_days} days.")},
                {"path": "Login/Reset password 0123456789abcdef0123456789abcdef.md", "content": "# Reset your password\nTags: login\n\nOpen Settings."},
                {"path": "Broken.md", "content": "---\nstatus: live\n---\nx"}
            ]})
        };
        let first = app.post(&app.admin, "/v1/kb/import", files(14)).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(
            (
                first.body["created"].as_u64(),
                first.body["failed"].as_u64()
            ),
            (Some(2), Some(1))
        );
        let second = app.post(&app.admin, "/v1/kb/import", files(30)).await;
        assert_eq!(
            (
                second.body["created"].as_u64(),
                second.body["updated"].as_u64(),
                second.body["unchanged"].as_u64()
            ),
            (Some(0), Some(1), Some(1))
        );
        assert_eq!(
            first.body["files"][0]["article_id"],
            second.body["files"][0]["article_id"]
        );
        let found = app
            .get_after(&app.admin, "/v1/kb/search?q=refund", &second.position)
            .await;
        assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
        let list = app
            .get_after(&app.admin, "/v1/kb/articles", &second.position)
            .await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
        let reset = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == "Reset your password")
            .unwrap();
        assert_eq!(reset["tags"], json!(["login"]));
        assert_eq!(reset["status"], "published");
        let agent = app.token("acme", Role::Agent, None).await;
        assert_eq!(
            app.post(&agent, "/v1/kb/import", files(1)).await.status,
            403
        );
    }
);
