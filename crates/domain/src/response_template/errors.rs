//! Why a response template refused a command.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRefused {
    #[error("the template does not exist")]
    NotFound,
    #[error(
        "a template created with this id was deleted; create it again without the same Idempotency-Key"
    )]
    Deleted,
    #[error("nothing to change: give a name, a category, a body or a sharing")]
    NothingToChange,
}
