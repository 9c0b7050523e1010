//! Rendering events for export: NDJSON is `serde_json` of [`StoredEvent`]; CSV
//! is one RFC 4180 line per event with the payload as JSON text.

use crate::event::StoredEvent;

pub const CSV_HEADER: &str = "position,event_id,aggregate_type,aggregate_id,sequence,event_type,event_version,workspace_id,actor,source,correlation_id,causation_id,request_id,occurred_at,recorded_at,payload\n";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One event as a CSV line (RFC 4180 quoting).
pub fn csv_line(e: &StoredEvent) -> String {
    let cols = [
        e.position.token(),
        e.event_id.clone(),
        e.aggregate_type.clone(),
        e.aggregate_id.clone(),
        e.sequence.to_string(),
        e.event_type.clone(),
        e.event_version.clone(),
        e.workspace_id.clone(),
        e.actor.clone(),
        e.source.clone(),
        e.correlation_id.clone().unwrap_or_default(),
        e.causation_id.clone().unwrap_or_default(),
        e.request_id.clone().unwrap_or_default(),
        e.occurred_at.to_rfc3339(),
        e.recorded_at.to_rfc3339(),
        e.payload.to_string(),
    ];
    let mut line: Vec<String> = cols.iter().map(|c| csv_field(c)).collect();
    let last = line.len() - 1;
    line[last].push('\n');
    line.join(",")
}
