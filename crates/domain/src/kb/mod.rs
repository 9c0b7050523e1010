//! The knowledge base: articles (Markdown, tags, draft or published, every
//! change a new version), links between tickets and articles, and reading a
//! folder of exported Markdown files (Notion, Confluence) into articles.

pub mod article;
pub mod import;
pub mod link;

pub use article::{
    ARTICLE_AGGREGATE_TYPE, Article, ArticleCommand, ArticleError, ArticleEvent, ArticleStatus,
    CreateArticle, ReviseArticle,
};
pub use import::{ImportedArticle, parse_markdown};
pub use link::{KbLink, LINK_AGGREGATE_TYPE, LinkCommand, LinkError, LinkEvent, link_id};
