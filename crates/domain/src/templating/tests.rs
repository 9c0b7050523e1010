//! Rendering: variables, conditions, and every way a text can be refused.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn ctx() -> RenderContext {
    RenderContext {
        ticket_id: "0190a5a4-0000-7000-8000-0000000000aa".into(),
        subject: "Card declined".into(),
        status: "open".into(),
        priority: "urgent".into(),
        channel: "telegram".into(),
        tags: vec!["billing".into(), "vip".into()],
        fields: BTreeMap::from([
            ("order_no".to_owned(), json!("A-17")),
            ("customer_segment".to_owned(), json!("enterprise")),
            ("seats".to_owned(), json!(40)),
        ]),
        customer_name: "Ivan".into(),
        customer_username: None,
        customer_telegram_user_id: 42,
        agent: AgentInfo {
            id: Some("a1".into()),
            name: Some("Maria".into()),
        },
    }
}

fn run(src: &str) -> Result<String, TemplateError> {
    render(&TemplateBody::parse(src)?, &ctx())
}

#[test]
fn variables_are_filled_from_the_ticket_and_the_agent() {
    assert_eq!(
        run("Hi {{customer_name}}, about {{ticket.subject}} (#{{ticket_id}}) — {{agent_name}}, order {{fields.order_no}}").unwrap(),
        "Hi Ivan, about Card declined (#0190a5a4-0000-7000-8000-0000000000aa) — Maria, order A-17"
    );
    assert_eq!(run("{{ customer.name|upper }}").unwrap(), "IVAN");
}

#[test]
fn conditions_choose_a_branch() {
    let src =
        r#"{{#if priority == "urgent"}}We are on it right now.{{else}}We will answer soon.{{/if}}"#;
    assert_eq!(run(src).unwrap(), "We are on it right now.");
    let mut c = ctx();
    c.priority = "low".into();
    assert_eq!(
        render(&TemplateBody::parse(src).unwrap(), &c).unwrap(),
        "We will answer soon."
    );
}

#[test]
fn conditions_on_tags_segment_type_and_else_if() {
    assert_eq!(run(r#"{{#if "vip" in tags}}VIP{{/if}}"#).unwrap(), "VIP");
    assert_eq!(
        run(r#"{{#if segment == "smb"}}S{{else if customer.segment == "enterprise"}}E{{else}}O{{/if}}"#)
            .unwrap(),
        "E"
    );
    // No ticket type on this ticket: the condition is false, not an error.
    assert_eq!(
        run(r#"{{#if type == "bug"}}bug{{else}}other{{/if}}"#).unwrap(),
        "other"
    );
    assert_eq!(
        run(r#"{{#unless "spam" in ticket.tags}}ok{{/unless}}"#).unwrap(),
        "ok"
    );
    assert_eq!(
        run(r#"{{#if priority in ["high", "urgent"] and fields.seats > 10}}big{{/if}}"#).unwrap(),
        "big"
    );
}

#[test]
fn a_block_alone_on_its_line_leaves_no_blank_line() {
    let src = "Hello\n{{#if \"vip\" in tags}}\nThanks for being VIP.\n{{/if}}\nBye";
    assert_eq!(run(src).unwrap(), "Hello\nThanks for being VIP.\nBye");
}

#[test]
fn an_unknown_variable_is_refused_by_name_when_saved() {
    assert_eq!(
        TemplateBody::parse("Hi {{custmer_name}} {{ticket.subjekt}}").unwrap_err(),
        TemplateError::UnknownVariables {
            names: vec!["custmer_name".into(), "ticket.subjekt".into()]
        }
    );
    // Also inside conditions.
    assert!(matches!(
        TemplateBody::parse("{{#if prio == 1}}x{{/if}}"),
        Err(TemplateError::UnknownVariables { names }) if names == vec!["prio".to_owned()]
    ));
    let message = TemplateBody::parse("{{nope}}").unwrap_err().to_string();
    assert!(message.contains("unknown variable nope"), "{message}");
}

#[test]
fn a_known_variable_without_a_value_is_an_error_naming_it_never_a_blank() {
    assert_eq!(
        run("Order {{fields.tracking_no}}").unwrap_err(),
        TemplateError::MissingValues {
            names: vec!["fields.tracking_no".into()]
        }
    );
    assert_eq!(
        run("@{{customer.username}}").unwrap_err(),
        TemplateError::MissingValues {
            names: vec!["customer.username".into()]
        }
    );
    // Indirect uses are caught too.
    assert_eq!(
        run("{{ 'x' ~ fields.tracking_no }}").unwrap_err(),
        TemplateError::MissingValues {
            names: vec!["fields.tracking_no".into()]
        }
    );
    let mut c = ctx();
    c.agent = AgentInfo::default();
    assert_eq!(
        render(&TemplateBody::parse("— {{agent_name}}").unwrap(), &c).unwrap_err(),
        TemplateError::MissingValues {
            names: vec!["agent_name".into()]
        }
    );
    // Guarded by a condition, a missing value is fine.
    assert_eq!(
        run(
            "{{#if fields.tracking_no}}Track: {{fields.tracking_no}}{{else}}No tracking yet{{/if}}"
        )
        .unwrap(),
        "No tracking yet"
    );
}

#[test]
fn syntax_errors_name_their_line() {
    let e = TemplateBody::parse("Hello\n{{#if priority == }}x{{/if}}").unwrap_err();
    assert!(
        matches!(e, TemplateError::Syntax { line: Some(2), .. }),
        "{e:?}"
    );
    assert!(TemplateBody::parse("{{#if a}}").is_err());
}

#[test]
fn empty_and_oversized_texts_are_refused() {
    assert_eq!(TemplateBody::parse("  ").unwrap_err(), TemplateError::Empty);
    assert!(matches!(
        TemplateBody::parse(&"x".repeat(TemplateBody::MAX_CHARS + 1)),
        Err(TemplateError::TooLong { .. })
    ));
}

#[test]
fn runaway_expressions_are_stopped() {
    assert!(matches!(
        run("{{ 'x' * 100000000 }}"),
        Err(TemplateError::Failed(_))
    ));
}

#[test]
fn engine_delimiters_in_the_text_are_plain_text() {
    assert_eq!(
        run("Save 10{% today {# not a comment #}").unwrap(),
        "Save 10{% today {# not a comment #}"
    );
    assert_eq!(run("<b>{{customer_name}}</b>").unwrap(), "<b>Ivan</b>");
}

#[test]
fn the_variables_a_text_uses_are_listed() {
    let b =
        TemplateBody::parse("{{customer_name}} {{#if \"vip\" in tags}}{{fields.order_no}}{{/if}}")
            .unwrap();
    let v: Vec<String> = b.variables().into_iter().collect();
    assert_eq!(v, vec!["customer_name", "fields.order_no", "tags"]);
}

#[test]
fn deeply_nested_texts_are_refused_not_crashed() {
    // On a thread with a server worker's stack size.
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let nested_ifs = format!(
                "{}x{}",
                "{{#if priority}}".repeat(1_000),
                "{{/if}}".repeat(1_000)
            );
            assert!(TemplateBody::parse(&nested_ifs).is_err());
            let parens = format!(
                "{{{{ {}customer_name{} }}}}",
                "(".repeat(4_000),
                ")".repeat(4_000)
            );
            assert!(TemplateBody::parse(&parens).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}
