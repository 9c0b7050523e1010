//! `crm kb import <folder>`: load a folder of exported Markdown pages (Notion,
//! Confluence) into the knowledge base. Each file becomes an article keyed by
//! its path under the folder, so running the import again updates what it
//! created instead of adding copies.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tgcrm_domain::kb::{ArticleStatus, parse_markdown};
use tgcrm_domain::{Clock, WorkspaceId};
use tgcrm_store::commands::{CommandContext, CommandError};
use tgcrm_store::kb::{ImportOutcome, import_article};
use tgcrm_store::{EventStore, Metadata, Source};

use crate::config::Settings;
use crate::startup::connect_and_migrate;

/// Every Markdown file under `dir`, sorted, skipping hidden entries.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let kind = e.file_type()?;
        if kind.is_dir() {
            markdown_files(&path, out)?;
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("md") || x.eq_ignore_ascii_case("markdown"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The counts of one import.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

/// Import every Markdown file under `folder` into `workspace`, writing one
/// line per file to `report`.
pub async fn import_folder(
    store: &EventStore,
    clock: &dyn Clock,
    folder: &Path,
    workspace: &WorkspaceId,
    default_status: ArticleStatus,
    report: &mut dyn std::io::Write,
) -> anyhow::Result<Summary> {
    let mut files = Vec::new();
    markdown_files(folder, &mut files)?;
    let ctx = CommandContext {
        workspace_id: workspace.clone(),
        metadata: Metadata::new("cli", Source::Cli),
        expected_version: None,
    };
    let mut summary = Summary::default();
    for path in files {
        let rel = path
            .strip_prefix(folder)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let page = std::fs::read_to_string(&path)
            .map_err(|e| format!("not readable as UTF-8 text: {e}"))
            .and_then(|content| parse_markdown(&rel, &content).map_err(|e| e.to_string()));
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                summary.failed += 1;
                writeln!(report, "failed     {rel}: {e}")?;
                continue;
            }
        };
        match import_article(store, clock, &ctx, page, default_status).await {
            Ok(imported) => {
                match imported.outcome {
                    ImportOutcome::Created => summary.created += 1,
                    ImportOutcome::Updated => summary.updated += 1,
                    ImportOutcome::Unchanged => summary.unchanged += 1,
                }
                writeln!(
                    report,
                    "{:<10} {rel} {}",
                    imported.outcome.as_str(),
                    imported.id
                )?;
            }
            Err(CommandError::Refused(r)) => {
                summary.failed += 1;
                writeln!(report, "failed     {rel}: {r}")?;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("importing {rel}"))),
        }
    }
    Ok(summary)
}

pub async fn run(
    settings: &Settings,
    clock: &dyn Clock,
    folder: &Path,
    workspace: &str,
    status: &str,
) -> anyhow::Result<()> {
    let workspace =
        WorkspaceId::parse(workspace).map_err(|e| anyhow::anyhow!("--workspace {}", e.reason))?;
    let status: ArticleStatus = status
        .parse()
        .map_err(|e: tgcrm_domain::values::ValueError| anyhow::anyhow!("--status: {}", e.reason))?;
    if !folder.is_dir() {
        bail!("{} is not a folder", folder.display());
    }
    let db = connect_and_migrate(settings).await?;
    let store = EventStore::new(db.clone());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let summary = import_folder(&store, clock, folder, &workspace, status, &mut out).await;
    crate::commands::announce(&db).await;
    db.close().await;
    let summary = summary?;
    eprintln!(
        "imported {}: {} created, {} updated, {} unchanged, {} failed",
        folder.display(),
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.failed
    );
    if summary.failed > 0 {
        bail!("{} file(s) could not be imported", summary.failed);
    }
    Ok(())
}
