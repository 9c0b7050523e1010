//! The knowledge base read model: articles with their full-text index, every
//! version of each, and the links between tickets and articles.
//!
//! The full-text index is maintained here, in the same transaction as the
//! rows it covers: on Postgres a table of `tsvector`s (title weighted A, tags
//! B, body C) with a GIN index; on SQLite an FTS5 table (the bundled SQLite
//! has FTS5 enabled). Both are named `rm_kb_fts`, so rebuilds treat them alike.

mod query;

pub use query::{
    ArticleFilter, ArticlePage, ArticleRow, ArticleVersionRow, LinkedArticle, LinkedTicket,
    SearchHit, article_links, list, search, ticket_links, ticket_text, version, versions,
};

use std::collections::BTreeSet;

use async_trait::async_trait;
use tgcrm_domain::kb::{Article, ArticleEvent, KbLink, LinkEvent};
use tgcrm_domain::values::Tag;
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "knowledge_base";

pub struct KnowledgeBaseProjector;

const ARTICLES: &str = "CREATE TABLE IF NOT EXISTS rm_kb_articles (
        article_id   TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        title        TEXT NOT NULL,
        body         TEXT NOT NULL,
        tags         {json} NOT NULL,
        tags_text    TEXT NOT NULL,
        status       TEXT NOT NULL,
        source       TEXT,
        created_at   {ts} NOT NULL,
        updated_at   {ts} NOT NULL,
        version      {int} NOT NULL
    )";

const COMMON: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS rm_kb_articles_by_updated ON rm_kb_articles (workspace_id, updated_at DESC, article_id DESC)",
    "CREATE TABLE IF NOT EXISTS rm_kb_article_versions (
        article_id   TEXT NOT NULL,
        version      {int} NOT NULL,
        workspace_id TEXT NOT NULL,
        title        TEXT NOT NULL,
        body         TEXT NOT NULL,
        tags         {json} NOT NULL,
        status       TEXT NOT NULL,
        author       TEXT NOT NULL,
        created_at   {ts} NOT NULL,
        PRIMARY KEY (article_id, version)
    )",
    "CREATE TABLE IF NOT EXISTS rm_kb_links (
        ticket_id    TEXT NOT NULL,
        article_id   TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        linked_by    TEXT NOT NULL,
        linked_at    {ts} NOT NULL,
        PRIMARY KEY (ticket_id, article_id)
    )",
    "CREATE INDEX IF NOT EXISTS rm_kb_links_by_article ON rm_kb_links (article_id, linked_at)",
];

/// The index is a table of its own on both databases (`rm_kb_fts`), written
/// by [`reindex`] whenever an article's text changes.
const INDEX_PG: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_kb_fts (
        article_id   TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        search       TSVECTOR NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_kb_fts_search ON rm_kb_fts USING GIN (search)",
];

const INDEX_SQLITE: &[&str] = &["CREATE VIRTUAL TABLE IF NOT EXISTS rm_kb_fts USING fts5(
        article_id UNINDEXED,
        workspace_id UNINDEXED,
        title,
        tags,
        body,
        tokenize = 'porter unicode61'
    )"];

/// Tags as searchable text, padded so `LIKE '% tag %'` finds whole tags.
fn tags_text(tags: &BTreeSet<Tag>) -> String {
    let joined: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    format!(" {} ", joined.join(" "))
}

/// Bring the article's index entry up to date with its row.
async fn reindex(tx: &mut Tx, article_id: &str) -> anyhow::Result<()> {
    tx.execute(
        "DELETE FROM rm_kb_fts WHERE article_id = $1",
        args![article_id],
    )
    .await?;
    let insert = match tx.backend() {
        // Title weighs most (A), then tags (B), then the body (C).
        Backend::Postgres => {
            "INSERT INTO rm_kb_fts (article_id, workspace_id, search) \
             SELECT article_id, workspace_id, \
             setweight(to_tsvector('english', title), 'A') || \
             setweight(to_tsvector('english', tags_text), 'B') || \
             setweight(to_tsvector('english', body), 'C') \
             FROM rm_kb_articles WHERE article_id = $1"
        }
        Backend::Sqlite => {
            "INSERT INTO rm_kb_fts (article_id, workspace_id, title, tags, body) \
             SELECT article_id, workspace_id, title, tags_text, body FROM rm_kb_articles WHERE article_id = $1"
        }
    };
    tx.execute(insert, args![article_id]).await?;
    Ok(())
}

/// Record the article as it now is as version `seq`.
async fn snapshot(tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO rm_kb_article_versions (article_id, version, workspace_id, title, body, tags, status, author, created_at) \
         SELECT article_id, $2, workspace_id, title, body, tags, status, $3, $4 FROM rm_kb_articles \
         WHERE article_id = $1 ON CONFLICT (article_id, version) DO NOTHING",
        args![
            stored.aggregate_id.as_str(),
            stored.sequence,
            stored.actor.as_str(),
            stored.occurred_at,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl Projector for KnowledgeBaseProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::kb::ARTICLE_AGGREGATE_TYPE,
            tgcrm_domain::kb::LINK_AGGREGATE_TYPE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "rm_kb_articles",
            "rm_kb_article_versions",
            "rm_kb_links",
            "rm_kb_fts",
        ]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        let index = match backend {
            Backend::Postgres => INDEX_PG,
            Backend::Sqlite => INDEX_SQLITE,
        };
        std::iter::once(ARTICLES)
            .chain(COMMON.iter().copied())
            .chain(index.iter().copied())
            .map(|s| ddl(backend, s))
            .collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        if let Some(event) = stored.decode::<KbLink>() {
            match event? {
                LinkEvent::Linked {
                    workspace_id,
                    ticket_id,
                    article_id,
                    at,
                } => {
                    tx.execute(
                        "INSERT INTO rm_kb_links (ticket_id, article_id, workspace_id, linked_by, linked_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id, article_id) DO NOTHING",
                        args![
                            ticket_id.to_string(),
                            article_id.to_string(),
                            workspace_id.as_str(),
                            stored.actor.as_str(),
                            at,
                        ],
                    )
                    .await?;
                }
                LinkEvent::Unlinked {
                    ticket_id,
                    article_id,
                    ..
                } => {
                    tx.execute(
                        "DELETE FROM rm_kb_links WHERE ticket_id = $1 AND article_id = $2",
                        args![ticket_id.to_string(), article_id.to_string()],
                    )
                    .await?;
                }
            }
            return Ok(());
        }
        let Some(event) = stored.decode::<Article>() else {
            return Ok(());
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        match event? {
            ArticleEvent::Created {
                workspace_id,
                title,
                body,
                tags,
                status,
                source,
                at,
                ..
            } => {
                let inserted = tx
                    .execute(
                        "INSERT INTO rm_kb_articles (article_id, workspace_id, title, body, tags, tags_text, status, source, \
                         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) \
                         ON CONFLICT (article_id) DO NOTHING",
                        args![
                            id,
                            workspace_id.as_str(),
                            title.as_str(),
                            body.as_str(),
                            serde_json::to_value(&tags)?,
                            tags_text(&tags),
                            status.as_str(),
                            source,
                            at,
                            seq,
                        ],
                    )
                    .await?;
                if inserted > 0 {
                    reindex(tx, id).await?;
                    snapshot(tx, stored).await?;
                }
            }
            ArticleEvent::Revised {
                title,
                body,
                tags,
                at,
            } => {
                let updated = tx
                    .execute(
                        "UPDATE rm_kb_articles SET title = $3, body = $4, tags = $5, tags_text = $6, updated_at = $7, \
                         version = $2 WHERE article_id = $1 AND version < $2",
                        args![
                            id,
                            seq,
                            title.as_str(),
                            body.as_str(),
                            serde_json::to_value(&tags)?,
                            tags_text(&tags),
                            at,
                        ],
                    )
                    .await?;
                if updated > 0 {
                    reindex(tx, id).await?;
                    snapshot(tx, stored).await?;
                }
            }
            ArticleEvent::StatusChanged { to, at, .. } => {
                let updated = tx
                    .execute(
                        "UPDATE rm_kb_articles SET status = $3, updated_at = $4, version = $2 \
                         WHERE article_id = $1 AND version < $2",
                        args![id, seq, to.as_str(), at],
                    )
                    .await?;
                if updated > 0 {
                    snapshot(tx, stored).await?;
                }
            }
            ArticleEvent::Deleted { .. } => {
                tx.execute(
                    "DELETE FROM rm_kb_articles WHERE article_id = $1",
                    args![id],
                )
                .await?;
                tx.execute("DELETE FROM rm_kb_links WHERE article_id = $1", args![id])
                    .await?;
                tx.execute("DELETE FROM rm_kb_fts WHERE article_id = $1", args![id])
                    .await?;
            }
        }
        Ok(())
    }
}
