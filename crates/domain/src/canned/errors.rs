//! Why a canned response refused a command.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedError {
    #[error("the canned response does not exist")]
    NotFound,
    #[error(
        "a canned response created with this id was deleted; create it again without the same Idempotency-Key"
    )]
    Deleted,
    #[error("nothing to change: give a name, a category or a body")]
    NothingToChange,
}
