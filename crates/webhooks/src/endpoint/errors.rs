//! Why an endpoint refused a command.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook endpoint does not exist")]
    NotFound,
    #[error("nothing to change: {0}")]
    NothingToChange(&'static str),
}

impl tgcrm_domain::Refusal for WebhookError {
    fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }
}
