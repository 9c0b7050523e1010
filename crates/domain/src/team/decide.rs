//! Deciding team commands. Pure.

use chrono::{DateTime, Utc};

use super::{Team, TeamCommand, TeamError, TeamEvent, TeamUpdate};
use crate::queue::{MAX_CAPACITY, QueueCommand, QueueError};

impl Team {
    pub fn decide(
        &self,
        command: TeamCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TeamEvent>, TeamError> {
        match command {
            TeamCommand::Create {
                team_id,
                workspace_id,
                name,
                strategy,
                default_capacity,
                lead,
            } => {
                if self.exists() {
                    // The same id again: the same request repeated.
                    return Ok(vec![]);
                }
                if default_capacity.is_some_and(|c| c == 0 || c > MAX_CAPACITY) {
                    return Err(QueueError::BadCapacity.into());
                }
                Ok(vec![TeamEvent::Created {
                    team_id,
                    workspace_id,
                    name,
                    strategy,
                    default_capacity,
                    lead,
                    at: now,
                }])
            }
            _ if !self.exists() => Err(TeamError::NotFound),
            TeamCommand::Update(update) => self.update(update, now),
            TeamCommand::Queue(q) => Ok(self
                .queue
                .decide(q)?
                .map(|change| TeamEvent::of(change, now))
                .into_iter()
                .collect()),
        }
    }

    fn update(&self, u: TeamUpdate, now: DateTime<Utc>) -> Result<Vec<TeamEvent>, TeamError> {
        let mut events = Vec::new();
        if let (Some(to), Some(from)) = (u.name, &self.name)
            && &to != from
        {
            events.push(TeamEvent::Renamed {
                from: from.clone(),
                to,
                at: now,
            });
        }
        if let Some(to) = u.lead
            && to != self.lead
        {
            events.push(TeamEvent::LeadChanged {
                from: self.lead,
                to,
                at: now,
            });
        }
        let mut queue = Vec::new();
        if let Some(s) = u.strategy {
            queue.push(QueueCommand::SetStrategy(s));
        }
        if let Some(c) = u.default_capacity {
            queue.push(QueueCommand::SetCapacity(c));
        }
        for q in queue {
            if let Some(change) = self.queue.decide(q)? {
                events.push(TeamEvent::of(change, now));
            }
        }
        Ok(events)
    }
}
