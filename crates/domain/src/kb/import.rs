//! Reading an exported Markdown file (Notion, Confluence and most wiki
//! exporters write one file per page) into an article. Pure: the caller reads
//! the files.
//!
//! - Title: the front matter's `title`, else the first `# ` heading (removed
//!   from the body), else the file name without its extension and without the
//!   32-hex-digit id Notion appends.
//! - Tags: the front matter's `tags` (`[a, b]`, `a, b` or a `- a` list), or a
//!   `Tags: a, b` line right under the title (Notion's page properties).
//! - Status: the front matter's `status` (`draft` / `published`), if any.
//!
//! Front matter is the `key: value` block between two `---` lines at the top;
//! other keys are ignored, and a value may be quoted.

use std::collections::BTreeSet;

use crate::values::{ArticleBody, ArticleTitle, Tag, ValueError};

use super::article::ArticleStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedArticle {
    /// The file's path within the folder, with `/` separators: the article's
    /// identity across imports.
    pub source: String,
    pub title: ArticleTitle,
    pub body: ArticleBody,
    pub tags: BTreeSet<Tag>,
    pub status: Option<ArticleStatus>,
}

#[derive(Default)]
struct FrontMatter {
    title: Option<String>,
    tags: Vec<String>,
    status: Option<String>,
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn list(v: &str) -> Vec<String> {
    let v = v.trim();
    let v = v
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(v);
    v.split(',')
        .map(|t| unquote(t).trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Split off a front matter block, if the text starts with one.
fn front_matter(text: &str) -> (FrontMatter, &str) {
    let mut fm = FrontMatter::default();
    let Some(rest) = text.strip_prefix("---\n") else {
        return (fm, text);
    };
    let mut end = None;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((block_end, body_start)) = end else {
        return (fm, text);
    };
    let mut in_tags = false;
    for line in rest[..block_end].lines() {
        if in_tags && let Some(item) = line.trim_start().strip_prefix("- ") {
            fm.tags.push(unquote(item).to_owned());
            continue;
        }
        in_tags = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "title" => fm.title = Some(unquote(value).to_owned()),
            "tags" | "labels" => {
                if value.trim().is_empty() {
                    in_tags = true;
                } else {
                    fm.tags = list(value);
                }
            }
            "status" => fm.status = Some(unquote(value).to_ascii_lowercase()),
            _ => {}
        }
    }
    (fm, &rest[body_start..])
}

/// `Getting started 1a2b…(32 hex)` → `Getting started`.
fn title_from_file_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file
        .rsplit_once('.')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty())
        .unwrap_or(file);
    let stem = match stem.rsplit_once(' ') {
        Some((head, id)) if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) => head,
        _ => stem,
    };
    stem.replace(['_', '-'], " ").trim().to_owned()
}

fn value_error(path: &str, e: ValueError) -> ValueError {
    ValueError::new(format!("{path}: {}", e.field), e.reason)
}

/// Read one exported page.
pub fn parse_markdown(path: &str, content: &str) -> Result<ImportedArticle, ValueError> {
    let source = path.replace('\\', "/").trim_start_matches("./").to_owned();
    let text = content.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let (fm, rest) = front_matter(&text);
    let mut body = rest.to_owned();
    let mut tags = fm.tags;
    let title = match fm.title.filter(|t| !t.trim().is_empty()) {
        Some(t) => t,
        None => {
            let mut lines: Vec<&str> = rest.lines().collect();
            let heading = lines
                .iter()
                .position(|l| !l.trim().is_empty())
                .filter(|&i| lines[i].starts_with("# "));
            match heading {
                Some(i) => {
                    let title = lines[i].trim_start_matches("# ").trim().to_owned();
                    lines.remove(i);
                    // Notion writes page properties right under the title.
                    if let Some(j) = lines.iter().skip(i).position(|l| !l.trim().is_empty())
                        && let Some(value) = lines[i + j].strip_prefix("Tags:")
                    {
                        if tags.is_empty() {
                            tags = list(value);
                        }
                        lines.remove(i + j);
                    }
                    body = lines.join("\n");
                    title
                }
                None => title_from_file_name(&source),
            }
        }
    };
    let title = ArticleTitle::parse(&title).map_err(|e| value_error(&source, e))?;
    let body = if body.trim().is_empty() {
        // A page that is only a title still says something.
        title.as_str().to_owned()
    } else {
        body
    };
    let body = ArticleBody::parse(&body).map_err(|e| value_error(&source, e))?;
    let tags = tags
        .iter()
        .map(|t| Tag::parse(t).map_err(|e| value_error(&source, e)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let status = match fm.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse().map_err(|e| value_error(&source, e))?),
    };
    Ok(ImportedArticle {
        source,
        title,
        body,
        tags,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(a: &ImportedArticle) -> Vec<&str> {
        a.tags.iter().map(|t| t.as_str()).collect()
    }

    #[test]
    fn front_matter_gives_title_tags_and_status() {
        let a = parse_markdown(
            "billing/refunds.md",
            "---\ntitle: \"Refund policy\"\ntags: [billing, Refunds]\nstatus: draft\nauthor: x\n---\n\nWe refund within 14 days.\n",
        )
        .unwrap();
        assert_eq!(a.title.as_str(), "Refund policy");
        assert_eq!(a.body.as_str(), "We refund within 14 days.");
        assert_eq!(tags(&a), vec!["billing", "refunds"]);
        assert_eq!(a.status, Some(ArticleStatus::Draft));
        assert_eq!(a.source, "billing/refunds.md");
    }

    #[test]
    fn a_yaml_list_of_tags_is_read() {
        let a =
            parse_markdown("a.md", "---\ntitle: A\ntags:\n  - one\n  - two\n---\nBody").unwrap();
        assert_eq!(tags(&a), vec!["one", "two"]);
    }

    #[test]
    fn the_first_heading_is_the_title_and_leaves_the_body() {
        let a = parse_markdown(
            "Reset password 0123456789abcdef0123456789abcdef.md",
            "\n# Reset your password\nTags: login, security\n\nOpen **Settings**.\n\n## Steps\n1. a\n",
        )
        .unwrap();
        assert_eq!(a.title.as_str(), "Reset your password");
        assert_eq!(tags(&a), vec!["login", "security"]);
        assert!(a.body.as_str().starts_with("Open **Settings**."));
        assert!(a.body.as_str().contains("## Steps"));
    }

    #[test]
    fn without_heading_the_file_name_is_the_title_minus_notions_id() {
        let a = parse_markdown(
            "Export/Getting started 0123456789abcdef0123456789abcdef.md",
            "Some text\r\nmore",
        )
        .unwrap();
        assert_eq!(a.title.as_str(), "Getting started");
        assert_eq!(a.body.as_str(), "Some text\nmore");
        let b = parse_markdown("shipping_times.md", "Text").unwrap();
        assert_eq!(b.title.as_str(), "shipping times");
    }

    #[test]
    fn bad_values_name_the_file() {
        let e = parse_markdown("x.md", "---\nstatus: live\n---\nText").unwrap_err();
        assert!(e.field.starts_with("x.md"), "{e}");
    }
}
