//! The knowledge base: articles with versions, full-text search, suggestions
//! for a ticket, links between tickets and articles (shown on both sides),
//! and importing exported Markdown pages.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::ArticleId;
use tgcrm_domain::kb::{
    Article, ArticleCommand, ArticleStatus, CreateArticle, KbLink, LinkCommand, ReviseArticle,
    link_id, parse_markdown,
};
use tgcrm_domain::values::{ArticleBody, ArticleTitle, Tag};
use tgcrm_projections::cursor::decode_time_id;
use tgcrm_projections::kb::{self as rm, ArticleFilter};
use tgcrm_projections::{conversation, ticket_list};
use tgcrm_store::commands::{CommandContext, execute};
use tgcrm_store::fulltext::{self, Match};
use tgcrm_store::load::load;
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::writing::{READERS, WRITERS, answer, path_id, ticket_in_workspace};
use super::{idempotency_key, if_match, page_limit, ticket_id, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::{Problems, parse_tags};
use crate::dto_writing::{
    ArticleLinksView, ArticlePageView, ArticleSummaryView, ArticleVersionView, ArticleVersionsView,
    ArticleView, CreateArticleBody, ImportBody, ImportView, ImportedFileView, LinkBody, LinkView,
    LinkedArticleView, LinkedTicketView, SearchHitView, SearchView, TicketLinksView,
    UpdateArticleBody,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "article not found";

fn context(auth: &Auth, expected_version: Option<i64>) -> CommandContext {
    CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version,
    }
}

fn tag_list(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn linked_ticket_view(t: rm::LinkedTicket) -> LinkedTicketView {
    LinkedTicketView {
        ticket_id: t.ticket_id,
        subject: t.subject,
        status: t.status,
        linked_by: t.linked_by,
        linked_at: t.linked_at,
    }
}

fn view(a: &Article, version: i64, linked: Vec<LinkedTicketView>) -> ArticleView {
    ArticleView {
        id: a.id.map(|i| i.to_string()).unwrap_or_default(),
        title: a
            .title
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        body: a
            .body
            .as_ref()
            .map(|b| b.as_str().to_owned())
            .unwrap_or_default(),
        tags: a.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        status: a.status.as_str().to_owned(),
        source: a.source.clone(),
        created_at: a.created_at,
        updated_at: a.updated_at,
        version,
        linked_tickets: linked,
    }
}

async fn load_live(state: &AppState, auth: &Auth, id: &ArticleId) -> Result<(Article, i64)> {
    let loaded = load::<Article>(state.store.db(), &id.to_string()).await?;
    if loaded.state.is_live() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace) {
        Ok((loaded.state, loaded.version))
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
}

fn parse_status(raw: Option<&str>, p: &mut Problems) -> Option<ArticleStatus> {
    raw.and_then(|s| p.take(s.parse()))
}

/// Write an article: title, Markdown body, tags, `draft` (default) or `published`.
#[utoipa::path(post, path = "/v1/kb/articles", tag = "knowledge base", request_body = CreateArticleBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = ArticleView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = ArticleView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_article(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateArticleBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let title = p.take(ArticleTitle::parse(&body.title));
    let text = p.take(ArticleBody::parse(&body.body));
    let tags = parse_tags(body.tags.as_deref().unwrap_or(&[]), "tags", &mut p);
    if tags.len() > Article::MAX_TAGS {
        p.push("tags", format!("at most {} tags", Article::MAX_TAGS));
    }
    let status = match body.status.as_deref() {
        None => Some(ArticleStatus::Draft),
        s => parse_status(s, &mut p),
    };
    p.finish()?;
    let (Some(title), Some(text), Some(status)) = (title, text, status) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let id = match &key {
        Some(k) => ArticleId::from_idempotency_key(&auth.workspace, k),
        None => ArticleId::new(),
    };
    let outcome = execute::<Article>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        ArticleCommand::Create(CreateArticle {
            id,
            workspace_id: auth.workspace.clone(),
            title,
            body: text,
            tags,
            status,
            source: None,
        }),
    )
    .await?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = answer(
        status,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version, vec![]),
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!("/v1/kb/articles/{id}"))
    {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListArticlesQuery {
    /// draft or published; both when absent.
    pub status: Option<String>,
    pub tag: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// Articles, most recently changed first.
#[utoipa::path(get, path = "/v1/kb/articles", tag = "knowledge base", params(ListArticlesQuery),
    responses((status = 200, body = ArticlePageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_articles(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListArticlesQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let status = parse_status(q.status.as_deref(), &mut p);
    let tag = q.tag.as_deref().and_then(|t| p.take(Tag::parse(t)));
    let limit = match page_limit(q.limit) {
        Ok(l) => l,
        Err(_) => {
            p.push("limit", "must be between 1 and 100");
            50
        }
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => match decode_time_id(c) {
            Ok(v) => Some(v),
            Err(e) => {
                p.push("cursor", e.to_string());
                None
            }
        },
    };
    p.finish()?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let page = rm::list(
        state.store.db(),
        &ArticleFilter {
            workspace_id: auth.workspace.to_string(),
            status: status.map(|s| s.as_str().to_owned()),
            tag: tag.map(|t| t.as_str().to_owned()),
            limit,
            after,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(ArticlePageView {
        items: page
            .items
            .into_iter()
            .map(|r| ArticleSummaryView {
                tags: tag_list(&r.tags),
                id: r.article_id,
                title: r.title,
                status: r.status,
                source: r.source,
                created_at: r.created_at,
                updated_at: r.updated_at,
                version: r.version,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistentQuery {
    /// Wait until the read model includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// One article (current version, from its event stream) with the tickets
/// linked to it.
#[utoipa::path(get, path = "/v1/kb/articles/{id}", tag = "knowledge base",
    params(("id" = String, Path), ConsistentQuery),
    responses((status = 200, body = ArticleView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_article(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ConsistentQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: ArticleId = path_id(&path, "article")?;
    let (a, version) = load_live(&state, &auth, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let linked = rm::article_links(state.store.db(), auth.workspace.as_str(), &id.to_string())
        .await?
        .into_iter()
        .map(linked_ticket_view)
        .collect();
    Ok(answer(
        StatusCode::OK,
        version,
        None,
        &view(&a, version, linked),
    ))
}

/// Revise an article (title, body, tags) and/or change its status. Each
/// change is a new version.
#[utoipa::path(patch, path = "/v1/kb/articles/{id}", tag = "knowledge base", request_body = UpdateArticleBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = ArticleView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_article(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateArticleBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: ArticleId = path_id(&path, "article")?;
    let expected = if_match(&req)?;
    let mut p = Problems::default();
    let title = body
        .title
        .as_deref()
        .and_then(|t| p.take(ArticleTitle::parse(t)));
    let text = body
        .body
        .as_deref()
        .and_then(|b| p.take(ArticleBody::parse(b)));
    let tags = body.tags.as_deref().map(|t| parse_tags(t, "tags", &mut p));
    let status = parse_status(body.status.as_deref(), &mut p);
    if title.is_none() && text.is_none() && tags.is_none() && status.is_none() {
        p.push("", "give a title, a body, tags or a status");
    }
    p.finish()?;
    let key = id.to_string();
    let mut expected = expected;
    let mut last = None;
    if title.is_some() || text.is_some() || tags.is_some() {
        let o = execute::<Article>(
            &state.store,
            state.clock.as_ref(),
            &key,
            &context(&auth, expected.take()),
            ArticleCommand::Revise(ReviseArticle {
                title,
                body: text,
                tags,
            }),
        )
        .await?;
        last = Some(o);
    }
    if let Some(status) = status {
        let o = execute::<Article>(
            &state.store,
            state.clock.as_ref(),
            &key,
            &context(&auth, expected.take()),
            ArticleCommand::SetStatus(status),
        )
        .await?;
        last = Some(o);
    }
    let Some(outcome) = last else {
        return Err(ApiError::Internal(anyhow::anyhow!("no command ran")));
    };
    Ok(answer(
        StatusCode::OK,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version, vec![]),
    ))
}

/// Delete an article (and its links).
#[utoipa::path(delete, path = "/v1/kb/articles/{id}", tag = "knowledge base",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_article(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: ArticleId = path_id(&path, "article")?;
    let expected = if_match(&req)?;
    let outcome = execute::<Article>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        ArticleCommand::Delete,
    )
    .await?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

fn version_view(r: rm::ArticleVersionRow) -> ArticleVersionView {
    ArticleVersionView {
        tags: tag_list(&r.tags),
        article_id: r.article_id,
        version: r.version,
        title: r.title,
        body: r.body,
        status: r.status,
        author: r.author,
        created_at: r.created_at,
    }
}

/// Every version of an article, newest first.
#[utoipa::path(get, path = "/v1/kb/articles/{id}/versions", tag = "knowledge base",
    params(("id" = String, Path), ConsistentQuery),
    responses((status = 200, body = ArticleVersionsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_article_versions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ConsistentQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: ArticleId = path_id(&path, "article")?;
    load_live(&state, &auth, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let rows = rm::versions(state.store.db(), auth.workspace.as_str(), &id.to_string()).await?;
    Ok(HttpResponse::Ok().json(ArticleVersionsView {
        items: rows.into_iter().map(version_view).collect(),
    }))
}

/// One version of an article.
#[utoipa::path(get, path = "/v1/kb/articles/{id}/versions/{version}", tag = "knowledge base",
    params(("id" = String, Path), ("version" = i64, Path), ConsistentQuery),
    responses((status = 200, body = ArticleVersionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_article_version(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    q: web::Query<ConsistentQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let (raw_id, raw_version) = path.into_inner();
    let id: ArticleId = path_id(&raw_id, "article")?;
    let version: i64 = path_id(&raw_version, "version")?;
    load_live(&state, &auth, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let row = rm::version(
        state.store.db(),
        auth.workspace.as_str(),
        &id.to_string(),
        version,
    )
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("the article has no version {version}")))?;
    Ok(HttpResponse::Ok().json(version_view(row)))
}

/// The tickets linked to an article.
#[utoipa::path(get, path = "/v1/kb/articles/{id}/links", tag = "knowledge base",
    params(("id" = String, Path), ConsistentQuery),
    responses((status = 200, body = ArticleLinksView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn article_links(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ConsistentQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: ArticleId = path_id(&path, "article")?;
    load_live(&state, &auth, &id).await?;
    wait_consistent(
        &state,
        &[rm::NAME, ticket_list::NAME],
        q.consistent_with.as_deref(),
    )
    .await?;
    let tickets = rm::article_links(state.store.db(), auth.workspace.as_str(), &id.to_string())
        .await?
        .into_iter()
        .map(linked_ticket_view)
        .collect();
    Ok(HttpResponse::Ok().json(ArticleLinksView {
        article_id: id.to_string(),
        tickets,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The words to find (all of them must occur).
    pub q: Option<String>,
    /// published (default), draft or any.
    pub status: Option<String>,
    /// 1–50, default 10.
    pub limit: Option<i64>,
    /// Wait until the index includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

fn hit_view(h: rm::SearchHit, linked: Option<bool>) -> SearchHitView {
    SearchHitView {
        tags: tag_list(&h.tags),
        article_id: h.article_id,
        title: h.title,
        status: h.status,
        snippet: h.snippet,
        score: h.rank,
        updated_at: h.updated_at,
        linked,
    }
}

fn search_limit(raw: Option<i64>) -> Result<i64> {
    match raw {
        None => Ok(10),
        Some(n) if (1..=50).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "must be between 1 and 50")),
    }
}

/// Full-text search, best match first (title counts most, then tags, then body).
#[utoipa::path(get, path = "/v1/kb/search", tag = "knowledge base", params(SearchQuery),
    responses((status = 200, body = SearchView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn search(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let terms = fulltext::terms(q.q.as_deref().unwrap_or(""), false);
    if terms.is_empty() {
        return Err(ApiError::field(
            "q",
            "give at least one word to search for (letters or digits)",
        ));
    }
    let status = match q.status.as_deref() {
        None | Some("published") => Some("published"),
        Some("draft") => Some("draft"),
        Some("any") => None,
        Some(other) => {
            return Err(ApiError::field(
                "status",
                format!("unknown status '{other}'; expected published, draft or any"),
            ));
        }
    };
    let limit = search_limit(q.limit)?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let hits = rm::search(
        state.store.db(),
        auth.workspace.as_str(),
        &terms,
        Match::All,
        status,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SearchView {
        terms,
        items: hits.into_iter().map(|h| hit_view(h, None)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    /// 1–50, default 5.
    pub limit: Option<i64>,
    /// Wait until the conversation and index include the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// Published articles related to a ticket, best first, from the words of its
/// subject and conversation (most recent messages first).
#[utoipa::path(get, path = "/v1/tickets/{id}/suggestions", tag = "knowledge base",
    params(("id" = String, Path), SuggestionsQuery),
    responses((status = 200, body = SearchView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn ticket_suggestions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<SuggestionsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id = ticket_id(&path)?;
    let limit = match q.limit {
        None => 5,
        other => search_limit(other)?,
    };
    let ticket = ticket_in_workspace(&state, &auth, &id).await?;
    wait_consistent(
        &state,
        &[rm::NAME, conversation::NAME],
        q.consistent_with.as_deref(),
    )
    .await?;
    let db = state.store.db();
    let mut text = ticket
        .subject
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    for m in rm::ticket_text(db, auth.workspace.as_str(), &id.to_string(), 20).await? {
        text.push('\n');
        text.push_str(&m);
    }
    let terms = fulltext::terms(&text, true);
    let linked: BTreeSet<String> = rm::ticket_links(db, auth.workspace.as_str(), &id.to_string())
        .await?
        .into_iter()
        .map(|l| l.article_id)
        .collect();
    let hits = rm::search(
        db,
        auth.workspace.as_str(),
        &terms,
        Match::Any,
        Some("published"),
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SearchView {
        terms,
        items: hits
            .into_iter()
            .map(|h| {
                let is_linked = linked.contains(&h.article_id);
                hit_view(h, Some(is_linked))
            })
            .collect(),
    }))
}

fn body_article_id(raw: &str) -> Result<ArticleId> {
    raw.parse()
        .map_err(|_| ApiError::field("article_id", "must be an article id (a UUID)"))
}

/// Link an article to the ticket (it then shows on both). Linking again is a no-op.
#[utoipa::path(post, path = "/v1/tickets/{id}/links", tag = "knowledge base", request_body = LinkBody,
    params(("id" = String, Path)),
    responses((status = 201, body = LinkView, headers(("X-Event-Position" = String))),
        (status = 200, body = LinkView, description = "the link already existed"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn link_article(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let ticket = ticket_id(&path)?;
    let article = body_article_id(&body.article_id)?;
    ticket_in_workspace(&state, &auth, &ticket).await?;
    load_live(&state, &auth, &article).await?;
    let outcome = execute::<KbLink>(
        &state.store,
        state.clock.as_ref(),
        &link_id(&ticket, &article),
        &context(&auth, None),
        LinkCommand::Link {
            workspace_id: auth.workspace.clone(),
            ticket_id: ticket,
            article_id: article,
        },
    )
    .await?;
    let created = !outcome.events.is_empty();
    let mut res = HttpResponse::build(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    });
    with_position(&mut res, outcome.position);
    Ok(res.json(LinkView {
        ticket_id: ticket.to_string(),
        article_id: article.to_string(),
        created,
    }))
}

/// Remove a link between the ticket and an article.
#[utoipa::path(delete, path = "/v1/tickets/{id}/links/{article_id}", tag = "knowledge base",
    params(("id" = String, Path), ("article_id" = String, Path)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn unlink_article(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let (raw_ticket, raw_article) = path.into_inner();
    let ticket = ticket_id(&raw_ticket)?;
    let article: ArticleId = path_id(&raw_article, "link")?;
    ticket_in_workspace(&state, &auth, &ticket).await?;
    let outcome = execute::<KbLink>(
        &state.store,
        state.clock.as_ref(),
        &link_id(&ticket, &article),
        &context(&auth, None),
        LinkCommand::Unlink,
    )
    .await
    .map_err(|e| match e {
        tgcrm_store::commands::CommandError::NotFound => {
            ApiError::NotFound("the ticket is not linked to that article".into())
        }
        other => other.into(),
    })?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

/// The articles linked to the ticket.
#[utoipa::path(get, path = "/v1/tickets/{id}/links", tag = "knowledge base",
    params(("id" = String, Path), ConsistentQuery),
    responses((status = 200, body = TicketLinksView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn ticket_links(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ConsistentQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id = ticket_id(&path)?;
    ticket_in_workspace(&state, &auth, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let articles = rm::ticket_links(state.store.db(), auth.workspace.as_str(), &id.to_string())
        .await?
        .into_iter()
        .map(|l| LinkedArticleView {
            article_id: l.article_id,
            title: l.title,
            status: l.status,
            linked_by: l.linked_by,
            linked_at: l.linked_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(TicketLinksView {
        ticket_id: id.to_string(),
        articles,
    }))
}

/// Import exported Markdown pages (Notion, Confluence): each becomes an
/// article keyed by its path, so importing the same export again updates
/// those articles instead of adding copies. Admins only. Large exports: use
/// `crm kb import <folder>`.
#[utoipa::path(post, path = "/v1/kb/import", tag = "knowledge base", request_body = ImportBody,
    responses((status = 200, body = ImportView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn import(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<ImportBody>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let default_status = match body.status.as_deref() {
        None => ArticleStatus::Published,
        Some(s) => s
            .parse()
            .map_err(|e: tgcrm_domain::values::ValueError| ApiError::field("status", e.reason))?,
    };
    if body.files.is_empty() {
        return Err(ApiError::field("files", "give at least one file"));
    }
    if body.files.len() > 500 {
        return Err(ApiError::field(
            "files",
            "at most 500 files per request; use `crm kb import` for larger exports",
        ));
    }
    let ctx = context(&auth, None);
    let mut last_position = None;
    let mut out = ImportView {
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        files: Vec::with_capacity(body.files.len()),
    };
    for f in &body.files {
        let parsed = match parse_markdown(&f.path, &f.content) {
            Ok(p) => p,
            Err(e) => {
                out.failed += 1;
                out.files.push(ImportedFileView {
                    path: f.path.clone(),
                    outcome: "failed".into(),
                    article_id: None,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        match tgcrm_store::kb::import_article(
            &state.store,
            state.clock.as_ref(),
            &ctx,
            parsed,
            default_status,
        )
        .await
        {
            Ok(imported) => {
                let (id, outcome) = (imported.id, imported.outcome);
                last_position = imported.position.or(last_position);
                match outcome {
                    tgcrm_store::kb::ImportOutcome::Created => out.created += 1,
                    tgcrm_store::kb::ImportOutcome::Updated => out.updated += 1,
                    tgcrm_store::kb::ImportOutcome::Unchanged => out.unchanged += 1,
                }
                out.files.push(ImportedFileView {
                    path: f.path.clone(),
                    outcome: outcome.as_str().into(),
                    article_id: Some(id.to_string()),
                    error: None,
                });
            }
            Err(tgcrm_store::commands::CommandError::Refused(r)) => {
                out.failed += 1;
                out.files.push(ImportedFileView {
                    path: f.path.clone(),
                    outcome: "failed".into(),
                    article_id: None,
                    error: Some(r.to_string()),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut res = HttpResponse::Ok();
    with_position(&mut res, last_position);
    Ok(res.json(out))
}
