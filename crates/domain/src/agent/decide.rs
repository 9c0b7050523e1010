//! Deciding agent commands. Pure.

use chrono::{DateTime, Utc};

use super::{Agent, AgentCommand, AgentError, AgentEvent, Availability};

impl Agent {
    pub fn decide(
        &self,
        command: AgentCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentEvent>, AgentError> {
        if let AgentCommand::Register {
            agent_id,
            workspace_id,
            profile,
        } = command
        {
            if self.exists() {
                // The same id again: the same request repeated.
                return Ok(vec![]);
            }
            return Ok(vec![AgentEvent::Registered {
                agent_id,
                workspace_id,
                profile,
                at: now,
            }]);
        }
        if !self.exists() {
            return Err(AgentError::NotFound);
        }
        match command {
            AgentCommand::Register { .. } => Ok(vec![]),
            AgentCommand::Reactivate => Ok(if self.active {
                vec![]
            } else {
                vec![AgentEvent::Reactivated { at: now }]
            }),
            _ if !self.active => Err(AgentError::Deactivated),
            AgentCommand::ChangeProfile(profile) => {
                if self.profile.as_ref() == Some(&profile) {
                    Ok(vec![])
                } else {
                    Ok(vec![AgentEvent::ProfileChanged { profile, at: now }])
                }
            }
            AgentCommand::SetAvailability(to) => {
                if to == self.availability {
                    Ok(vec![])
                } else {
                    Ok(vec![AgentEvent::AvailabilityChanged {
                        from: self.availability,
                        to,
                        at: now,
                    }])
                }
            }
            AgentCommand::Deactivate => {
                let mut events = Vec::new();
                if self.availability != Availability::Offline {
                    events.push(AgentEvent::AvailabilityChanged {
                        from: self.availability,
                        to: Availability::Offline,
                        at: now,
                    });
                }
                events.push(AgentEvent::Deactivated { at: now });
                Ok(events)
            }
        }
    }
}
