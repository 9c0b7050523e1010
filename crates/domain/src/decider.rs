//! What every aggregate of the system offers the store: a pure decision, a
//! pure evolution, and the few facts the store needs to file its events.

use chrono::{DateTime, Utc};

use crate::ids::WorkspaceId;

/// An event of some aggregate: its frozen type name, version and business time.
pub trait DomainFact: cqrs_es::DomainEvent {
    fn at(&self) -> DateTime<Utc>;
}

/// A refusal that may mean "no such aggregate".
pub trait Refusal: std::error::Error + Send + Sync + 'static {
    fn is_not_found(&self) -> bool;
}

/// `decide(&state, command, now) -> events | refusal`, `apply(state, event)`.
/// The cqrs-es `Aggregate` impl of each aggregate wraps these.
pub trait Decider: cqrs_es::Aggregate<Event = Self::Fact> + Clone + Send + Sync + 'static {
    type Fact: DomainFact;
    type Cmd: Clone + Send + Sync;
    type Refused: Refusal;

    fn decide(
        &self,
        command: Self::Cmd,
        now: DateTime<Utc>,
    ) -> Result<Vec<Self::Fact>, Self::Refused>;
    fn evolve(&mut self, event: Self::Fact);
    /// The workspace the aggregate belongs to, once it exists.
    fn workspace(&self) -> Option<&WorkspaceId>;

    /// The person whose personal data the aggregate's events carry (their
    /// personal fields are stored encrypted with that person's key, so erasing
    /// the person makes them unreadable). `None`: no personal data.
    fn data_subject(&self) -> Option<String> {
        None
    }
}

/// The cqrs-es face of an aggregate, the same for all of them: `handle`
/// decides (at the command's time), `apply` evolves; both are the aggregate's
/// [`Decider`] methods.
///
/// ```ignore
/// crate::cqrs_aggregate!(Team, AGGREGATE_TYPE, TeamCommand, TeamEvent, TeamError);
/// ```
#[macro_export]
macro_rules! cqrs_aggregate {
    ($agg:ty, $type_name:expr, $command:ty, $event:ty, $error:ty) => {
        impl cqrs_es::Aggregate for $agg {
            const TYPE: &'static str = $type_name;
            type Command = ($command, chrono::DateTime<chrono::Utc>);
            type Event = $event;
            type Error = $error;
            type Services = ();

            async fn handle(
                &mut self,
                (command, now): Self::Command,
                _services: &Self::Services,
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), Self::Error> {
                for event in <$agg as $crate::decider::Decider>::decide(self, command, now)? {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                <$agg as $crate::decider::Decider>::evolve(self, event);
            }
        }
    };
}
