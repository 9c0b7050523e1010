//! A batch folded in memory, without I/O: its events applied in log order
//! to the rows they touch, and what changed coming out as [`Writes`], each
//! row once. The effects are those of applying each event on its own,
//! whatever the batch size.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;

use super::row::{OrderRow, QueueRow, Unorder, evolve};
use super::step::Step;

/// One ticket's `rm_queue` row over the batch.
#[derive(Debug)]
struct Slot {
    row: Option<QueueRow>,
    /// There was a row before the batch.
    existed: bool,
    /// The row there was must be deleted (it may be created again after).
    delete: bool,
    /// The row as it is now must be written.
    write: bool,
}

/// The manual orders the batch can see: every row of the tickets that may
/// lose theirs, and every row of the queues it reorders.
#[derive(Debug, Default)]
struct Orders {
    /// By (ticket, queue key).
    rows: BTreeMap<(String, String), OrderRow>,
    loaded: BTreeSet<String>,
    /// Queues whose rows are all replaced by those in `rows`.
    replaced: BTreeSet<String>,
    /// Tickets whose rows are all replaced by those in `rows`.
    rewritten: BTreeSet<String>,
}

impl Orders {
    fn reorder(&mut self, key: String, workspace: &str, order: Vec<String>) -> anyhow::Result<()> {
        self.rows.retain(|(_, k), _| *k != key);
        for (rank, ticket) in order.into_iter().enumerate() {
            let row = OrderRow {
                queue_key: key.clone(),
                ticket_id: ticket.clone(),
                workspace_id: workspace.to_owned(),
                rank: i64::try_from(rank).unwrap_or(i64::MAX),
            };
            if self.rows.insert((ticket, key.clone()), row).is_some() {
                bail!("a ticket appears twice in the manual order of queue {key}");
            }
        }
        self.replaced.insert(key);
        Ok(())
    }

    fn unorder(&mut self, ticket: &str, which: Unorder) -> anyhow::Result<()> {
        if which == Unorder::None {
            return Ok(());
        }
        if !self.loaded.contains(ticket) {
            bail!("the manual order of ticket {ticket} was not loaded");
        }
        let gone: Vec<(String, String)> = self
            .rows
            .range((ticket.to_owned(), String::new())..)
            .take_while(|((t, _), _)| t == ticket)
            .map(|(k, _)| k)
            .filter(|(_, key)| match &which {
                Unorder::In(only) => key == only,
                _ => true,
            })
            .cloned()
            .collect();
        if !gone.is_empty() {
            for k in &gone {
                self.rows.remove(k);
            }
            self.rewritten.insert(ticket.to_owned());
        }
        Ok(())
    }
}

/// The batch folded so far.
#[derive(Debug, Default)]
pub(super) struct Fold {
    queue: BTreeMap<String, Slot>,
    orders: Orders,
    /// Agent → (workspace of the first insert, last assigned position).
    agents: BTreeMap<String, (String, i64)>,
}

/// Each changed row once.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Writes {
    /// `rm_queue` rows to delete, before `queue_rows` are upserted.
    pub queue_deletes: Vec<String>,
    pub queue_rows: Vec<QueueRow>,
    /// Queues whose `rm_queue_order` rows are all deleted first.
    pub order_queue_deletes: Vec<String>,
    /// Tickets whose `rm_queue_order` rows are all deleted first.
    pub order_ticket_deletes: Vec<String>,
    /// `rm_queue_order` rows to insert after the deletes (none is left).
    pub order_rows: Vec<OrderRow>,
    /// `rm_queue_agents`: (agent, workspace, last assigned).
    pub agents: Vec<(String, String, i64)>,
}

impl Fold {
    /// Start from the rows there are: `rows` of `tickets` (the ones every
    /// ticket step reads) and the order rows of `ordered` (every ticket whose
    /// step [unorders](Step::unorders)).
    pub(super) fn new(
        tickets: &BTreeSet<String>,
        rows: Vec<QueueRow>,
        ordered: &BTreeSet<String>,
        order_rows: Vec<OrderRow>,
    ) -> Self {
        let mut queue: BTreeMap<String, Slot> = tickets
            .iter()
            .map(|t| {
                let slot = Slot {
                    row: None,
                    existed: false,
                    delete: false,
                    write: false,
                };
                (t.clone(), slot)
            })
            .collect();
        for row in rows {
            if let Some(slot) = queue.get_mut(&row.ticket_id) {
                slot.existed = true;
                slot.row = Some(row);
            }
        }
        let orders = Orders {
            rows: order_rows
                .into_iter()
                .map(|r| ((r.ticket_id.clone(), r.queue_key.clone()), r))
                .collect(),
            loaded: ordered.clone(),
            ..Orders::default()
        };
        Self {
            queue,
            orders,
            agents: BTreeMap::new(),
        }
    }

    pub(super) fn step(&mut self, step: Step) -> anyhow::Result<()> {
        match step {
            Step::Reorder {
                key,
                workspace,
                order,
            } => self.orders.reorder(key, &workspace, order),
            Step::Ticket {
                id,
                seq,
                workspace,
                position,
                event,
            } => {
                let Some(slot) = self.queue.get_mut(&id) else {
                    bail!("the queue row of ticket {id} was not loaded");
                };
                let fx = evolve(&mut slot.row, &id, seq, event)?;
                if fx.removed {
                    slot.delete |= slot.existed;
                    slot.write = false;
                }
                slot.write |= fx.written;
                self.orders.unorder(&id, fx.unorder)?;
                if let Some(agent) = fx.assigned {
                    self.agents
                        .entry(agent)
                        .and_modify(|(_, at)| *at = position)
                        .or_insert((workspace, position));
                }
                Ok(())
            }
        }
    }

    pub(super) fn finish(self) -> Writes {
        let mut w = Writes::default();
        for (ticket, slot) in self.queue {
            if slot.delete {
                w.queue_deletes.push(ticket);
            }
            if slot.write
                && let Some(row) = slot.row
            {
                w.queue_rows.push(row);
            }
        }
        let Orders {
            rows,
            replaced,
            rewritten,
            ..
        } = self.orders;
        w.order_rows = rows
            .into_values()
            .filter(|r| replaced.contains(&r.queue_key) || rewritten.contains(&r.ticket_id))
            .collect();
        w.order_queue_deletes = replaced.into_iter().collect();
        w.order_ticket_deletes = rewritten.into_iter().collect();
        w.agents = self
            .agents
            .into_iter()
            .map(|(agent, (ws, at))| (agent, ws, at))
            .collect();
        w
    }
}
