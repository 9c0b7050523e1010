//! Upcasters: old event payload versions are rewritten to the current shape as
//! they are read, never in the table. Today every ticket event is at version
//! 1.0; a change of shape adds an upcaster here and bumps
//! `tgcrm_domain::ticket::EVENT_VERSION`.

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster, SerializedEvent};

/// The upcasters applied to ticket events, in order.
pub fn ticket_upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![
        // 0.9 MessageAdded had no visibility: everything was public.
        Box::new(SemanticVersionEventUpcaster::new(
            "MessageAdded",
            "1.0",
            Box::new(|mut payload| {
                if let Some(body) = payload
                    .get_mut("MessageAdded")
                    .and_then(|b| b.as_object_mut())
                {
                    body.entry("visibility").or_insert_with(|| "public".into());
                }
                payload
            }),
        )),
    ]
}

/// The ticket upcasters, built once.
pub fn ticket() -> &'static [Box<dyn EventUpcaster>] {
    static UPCASTERS: std::sync::LazyLock<Vec<Box<dyn EventUpcaster>>> =
        std::sync::LazyLock::new(ticket_upcasters);
    &UPCASTERS
}

/// The upcasters for an aggregate type's events.
pub fn for_type(aggregate_type: &str) -> &'static [Box<dyn EventUpcaster>] {
    match aggregate_type {
        tgcrm_domain::ticket::AGGREGATE_TYPE => ticket(),
        _ => &[],
    }
}

/// Run every upcaster that applies.
pub fn upcast(event: SerializedEvent, upcasters: &[Box<dyn EventUpcaster>]) -> SerializedEvent {
    upcasters.iter().fold(event, |e, u| {
        if u.can_upcast(&e.event_type, &e.event_version) {
            u.upcast(e)
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tgcrm_domain::ticket::TicketEvent;

    #[test]
    fn a_version_0_9_message_without_visibility_reads_as_public() {
        let old = SerializedEvent::new(
            "t".into(),
            2,
            "ticket".into(),
            "MessageAdded".into(),
            "0.9".into(),
            json!({"MessageAdded": {
                "message_id": "0190a5a4-0000-7000-8000-000000000001",
                "author": {"kind": "customer"},
                "text": "hi",
                "at": "2026-01-01T00:00:00Z"
            }}),
            json!({}),
        );
        let new = upcast(old, &ticket_upcasters());
        assert_eq!(new.event_version, "1.0.0");
        let e: TicketEvent = serde_json::from_value(new.payload).unwrap();
        assert!(matches!(
            e,
            TicketEvent::MessageAdded {
                visibility: tgcrm_domain::ticket::MessageVisibility::Public,
                ..
            }
        ));
    }
}
