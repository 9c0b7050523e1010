//! Our template syntax, translated into the engine's (MiniJinja).
//!
//! Agents write Handlebars-style text: `{{customer_name}}`,
//! `{{#if priority == "urgent"}}…{{else if …}}…{{else}}…{{/if}}`,
//! `{{#unless …}}…{{/unless}}` and comments `{{! … }}` / `{{!-- … --}}`.
//! Expressions inside the tags are MiniJinja expressions (`==`, `!=`, `<`,
//! `and`, `or`, `not`, `"vip" in tags`, `priority in ["high", "urgent"]`,
//! filters such as `|upper`). Only the tag delimiters are rewritten here:
//! `{{#if x}}` becomes `{% if x %}`, `{{/if}}` becomes `{% endif %}`, and a
//! literal `{%` or `{#` in the text is emitted as a string so it stays text.
//! Line breaks are kept where they were, so the engine's line numbers are ours.

use super::TemplateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    If,
    Unless,
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Self::If => "if",
            Self::Unless => "unless",
        }
    }
}

/// The byte index just past the `}}` that closes a tag whose content starts at
/// `from`, skipping `}}` inside quoted strings.
fn tag_end(src: &str, from: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'"' || b == b'\'' {
                    quote = Some(b);
                } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn line_of(src: &str, byte: usize) -> usize {
    src[..byte].matches('\n').count() + 1
}

fn escape_text(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(i) = rest.find(['{']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if after.starts_with('%') || after.starts_with('#') {
            out.push_str("{{ \"{\" }}");
        } else {
            out.push('{');
        }
        rest = after;
    }
    out.push_str(rest);
}

fn newlines(s: &str) -> String {
    "\n".repeat(s.matches('\n').count())
}

fn syntax(line: usize, message: impl Into<String>) -> TemplateError {
    TemplateError::Syntax {
        line: Some(line),
        message: message.into(),
    }
}

/// Translate our syntax into MiniJinja's.
pub(crate) fn to_engine(src: &str) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(src.len() + 32);
    let mut open: Vec<(Block, usize, bool)> = Vec::new();
    let mut pos = 0;
    while let Some(rel) = src[pos..].find("{{") {
        let start = pos + rel;
        escape_text(&src[pos..start], &mut out);
        let line = line_of(src, start);
        let inner_start = start + 2;
        // `{{!-- … --}}` may contain `}}`.
        if src[inner_start..].starts_with("!--") {
            let Some(end) = src[inner_start..].find("--}}") else {
                return Err(syntax(line, "a comment {{!-- is never closed with --}}"));
            };
            let comment = &src[inner_start..inner_start + end];
            out.push_str(&format!("{{#{}#}}", newlines(comment)));
            pos = inner_start + end + 4;
            continue;
        }
        let Some(end) = tag_end(src, inner_start) else {
            return Err(syntax(line, "a tag {{ is never closed with }}"));
        };
        let raw = &src[inner_start..end];
        pos = end + 2;
        // `{{{x}}}` (Handlebars' unescaped output) is plain output here: nothing is escaped.
        let (raw, pos_fix) = if raw.starts_with('{') && src[pos..].starts_with('}') {
            (&raw[1..], 1)
        } else {
            (raw, 0)
        };
        pos += pos_fix;
        let keep = newlines(raw);
        let content = raw.trim();
        if let Some(comment) = content.strip_prefix('!') {
            out.push_str(&format!("{{#{}#}}", newlines(comment)));
            continue;
        }
        if content.is_empty() {
            return Err(syntax(
                line,
                "an empty tag {{}}; write a variable name inside",
            ));
        }
        if let Some(rest) = content.strip_prefix('#') {
            let (name, expr) = match rest.split_once(char::is_whitespace) {
                Some((n, e)) => (n, e.trim()),
                None => (rest, ""),
            };
            let block = match name {
                "if" => Block::If,
                "unless" => Block::Unless,
                other => {
                    return Err(syntax(
                        line,
                        format!(
                            "{{{{#{other}}}}} is not supported; blocks are {{{{#if …}}}} and {{{{#unless …}}}}"
                        ),
                    ));
                }
            };
            if expr.is_empty() {
                return Err(syntax(
                    line,
                    format!("{{{{#{}}}}} needs a condition", block.name()),
                ));
            }
            match block {
                Block::If => out.push_str(&format!("{{% if {expr}{keep} %}}")),
                Block::Unless => out.push_str(&format!("{{% if not ({expr}){keep} %}}")),
            }
            open.push((block, line, false));
            continue;
        }
        if let Some(name) = content.strip_prefix('/') {
            let name = name.trim();
            let Some((block, _, _)) = open.pop() else {
                return Err(syntax(
                    line,
                    format!("{{{{/{name}}}}} closes a block that was never opened"),
                ));
            };
            if name != block.name() {
                return Err(syntax(
                    line,
                    format!(
                        "{{{{/{name}}}}} does not match the open {{{{#{}}}}}",
                        block.name()
                    ),
                ));
            }
            out.push_str(&format!("{{% endif{keep} %}}"));
            continue;
        }
        if content == "else" || content.starts_with("else ") || content.starts_with("else\n") {
            let Some((block, _, seen_else)) = open.last_mut() else {
                return Err(syntax(line, "{{else}} outside of an {{#if}} block"));
            };
            if *seen_else {
                return Err(syntax(
                    line,
                    format!(
                        "a second {{{{else}}}} in one {{{{#{}}}}} block",
                        block.name()
                    ),
                ));
            }
            let rest = content["else".len()..].trim();
            if rest.is_empty() {
                *seen_else = true;
                out.push_str(&format!("{{% else{keep} %}}"));
            } else if let Some(cond) = rest.strip_prefix("if ").map(str::trim) {
                if *block == Block::Unless {
                    return Err(syntax(line, "{{else if}} is not allowed in {{#unless}}"));
                }
                out.push_str(&format!("{{% elif {cond}{keep} %}}"));
            } else {
                return Err(syntax(
                    line,
                    "after {{else}} only `if <condition>` may follow: {{else if …}}",
                ));
            }
            continue;
        }
        out.push_str(&format!("{{{{ {content}{keep} }}}}"));
    }
    escape_text(&src[pos..], &mut out);
    if let Some((block, line, _)) = open.last() {
        return Err(syntax(
            *line,
            format!(
                "{{{{#{}}}}} is never closed with {{{{/{}}}}}",
                block.name(),
                block.name()
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_engine_statements() {
        assert_eq!(
            to_engine(r#"{{#if priority == "urgent"}}A{{else if x}}B{{else}}C{{/if}}"#).unwrap(),
            r#"{% if priority == "urgent" %}A{% elif x %}B{% else %}C{% endif %}"#
        );
        assert_eq!(
            to_engine("{{#unless a}}x{{/unless}}").unwrap(),
            "{% if not (a) %}x{% endif %}"
        );
        assert_eq!(
            to_engine("Hi {{ customer_name }}!").unwrap(),
            "Hi {{ customer_name }}!"
        );
    }

    #[test]
    fn engine_delimiters_in_text_stay_text() {
        assert_eq!(
            to_engine("50{% off {#1").unwrap(),
            "50{{ \"{\" }}% off {{ \"{\" }}#1"
        );
    }

    #[test]
    fn comments_vanish_but_keep_their_lines() {
        assert_eq!(to_engine("a{{! note }}b").unwrap(), "a{##}b");
        assert_eq!(to_engine("a{{!-- x }} \n y --}}b").unwrap(), "a{#\n#}b");
    }

    #[test]
    fn closing_braces_inside_strings_do_not_end_a_tag() {
        assert_eq!(
            to_engine(r#"{{#if x == "}}"}}y{{/if}}"#).unwrap(),
            r#"{% if x == "}}" %}y{% endif %}"#
        );
    }

    #[test]
    fn unbalanced_blocks_are_named_with_their_line() {
        let e = to_engine("a\n{{#if x}}b").unwrap_err();
        assert_eq!(
            e,
            TemplateError::Syntax {
                line: Some(2),
                message: "{{#if}} is never closed with {{/if}}".into()
            }
        );
        assert!(to_engine("{{/if}}").is_err());
        assert!(to_engine("{{#if a}}{{/unless}}").is_err());
        assert!(to_engine("{{else}}").is_err());
        assert!(to_engine("{{#each items}}{{/each}}").is_err());
        assert!(to_engine("{{#if}}x{{/if}}").is_err());
        assert!(to_engine("{{#if a}}x{{else}}y{{else}}z{{/if}}").is_err());
        assert!(to_engine("{{ name ").is_err());
    }
}
