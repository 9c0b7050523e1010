//! `/canned <name>` in a ticket topic: the canned response of that name,
//! rendered for the ticket and the agent, sent as the agent's public reply.

use tgcrm_domain::canned::CannedResponse;
use tgcrm_domain::templating::{
    AgentInfo, RenderContext, TemplateBody, TemplateKind, TemplateRef, render,
};
use tgcrm_domain::ticket::{AddMessage, Author, MessageVisibility, SendTemplate, TicketCommand};
use tgcrm_domain::values::MessageText;
use tgcrm_domain::{CannedResponseId, MessageId, TicketId};
use tgcrm_store::load::{load, load_ticket};
use tgcrm_store::named::owner_of;

use crate::adapter::BotContext;
use crate::agents::KnownAgent;

/// The command that sends canned response `name` on `ticket` as `agent`, or
/// the reason (for the topic) why it cannot be sent.
pub async fn command(
    ctx: &BotContext,
    ticket: &TicketId,
    name: &str,
    agent: &KnownAgent,
    message_id: MessageId,
) -> anyhow::Result<Result<TicketCommand, String>> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(Err("Usage: /canned <name>".into()));
    }
    let workspace = &ctx.config.workspace;
    let Some(id) = owner_of::<CannedResponse>(&ctx.store, workspace, name)
        .await?
        .and_then(|o| o.parse::<CannedResponseId>().ok())
    else {
        return Ok(Err(format!("⛔ no canned response named “{name}”")));
    };
    let canned = load::<CannedResponse>(ctx.store.db(), &id.to_string()).await?;
    if !canned.state.is_live() || canned.state.workspace_id.as_ref() != Some(workspace) {
        return Ok(Err(format!("⛔ no canned response named “{name}”")));
    }
    let body = match TemplateBody::parse(&canned.state.body) {
        Ok(b) => b,
        Err(e) => return Ok(Err(format!("⛔ {e}"))),
    };
    let loaded = load_ticket(ctx.store.db(), ticket).await?;
    let Some(render_ctx) = RenderContext::from_ticket(
        &loaded.state,
        AgentInfo {
            id: Some(agent.agent_id.to_string()),
            name: Some(agent.name.clone()),
        },
    ) else {
        return Ok(Err("⛔ this ticket no longer exists".into()));
    };
    let text = match render(&body, &render_ctx) {
        Ok(t) => t,
        Err(e) => return Ok(Err(format!("⛔ {e}"))),
    };
    let text = match MessageText::parse(&text) {
        Ok(t) => t,
        Err(e) => return Ok(Err(format!("⛔ the text cannot be sent: {}", e.reason))),
    };
    Ok(Ok(TicketCommand::SendTemplate(SendTemplate {
        message: AddMessage {
            message_id,
            author: Author::Agent {
                agent_id: agent.agent_id,
            },
            visibility: MessageVisibility::Public,
            text,
            attachments: vec![],
        },
        template: TemplateRef {
            kind: TemplateKind::CannedResponse,
            id: id.to_string(),
            version: canned.version,
        },
    })))
}
