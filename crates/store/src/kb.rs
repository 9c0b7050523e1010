//! Importing exported Markdown pages as knowledge base articles. A page's id
//! is derived from its path in the export, so importing the same folder again
//! updates the articles it created instead of adding copies.

use tgcrm_domain::kb::{
    Article, ArticleCommand, ArticleError, ArticleStatus, CreateArticle, ImportedArticle,
    ReviseArticle,
};
use tgcrm_domain::{ArticleId, Clock};

use crate::commands::{CommandContext, CommandError, execute};
use crate::notify::EventStore;

/// What an import did with one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
}

impl ImportOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
        }
    }
}

/// What an import did with one page, and where in the log.
#[derive(Debug, Clone)]
pub struct Imported {
    pub id: ArticleId,
    pub outcome: ImportOutcome,
    /// The position of the last event written for the page, if any.
    pub position: Option<crate::position::Position>,
}

/// The article id of an imported page.
pub fn imported_article_id(ctx: &CommandContext, source: &str) -> ArticleId {
    ArticleId::from_idempotency_key(&ctx.workspace_id, &format!("kb-import/{source}"))
}

/// Create or update the article for `page`. New articles get the page's
/// status, else `default_status`; an existing article keeps its status unless
/// the page names one.
pub async fn import_article(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    page: ImportedArticle,
    default_status: ArticleStatus,
) -> Result<Imported, CommandError<ArticleError>> {
    let id = imported_article_id(ctx, &page.source);
    let key = id.to_string();
    let created = execute::<Article>(
        store,
        clock,
        &key,
        ctx,
        ArticleCommand::Create(CreateArticle {
            id,
            workspace_id: ctx.workspace_id.clone(),
            title: page.title.clone(),
            body: page.body.clone(),
            tags: page.tags.clone(),
            status: page.status.unwrap_or(default_status),
            source: Some(page.source.clone()),
        }),
    )
    .await?;
    if !created.events.is_empty() {
        return Ok(Imported {
            id,
            outcome: ImportOutcome::Created,
            position: created.position,
        });
    }
    let revised = execute::<Article>(
        store,
        clock,
        &key,
        ctx,
        ArticleCommand::Revise(ReviseArticle {
            title: Some(page.title),
            body: Some(page.body),
            tags: Some(page.tags),
        }),
    )
    .await?;
    let mut changed = !revised.events.is_empty();
    let mut position = revised.position;
    if let Some(status) = page.status {
        let set =
            execute::<Article>(store, clock, &key, ctx, ArticleCommand::SetStatus(status)).await?;
        changed |= !set.events.is_empty();
        position = set.position.or(position);
    }
    Ok(Imported {
        id,
        outcome: if changed {
            ImportOutcome::Updated
        } else {
            ImportOutcome::Unchanged
        },
        position,
    })
}
