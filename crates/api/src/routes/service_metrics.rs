//! First response, resolution and SLA metrics, read from their read models
//! (never from the log at query time). Definitions are in the README.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tgcrm_projections::sla::metrics::{self, GroupBy, MetricQuery, ResolutionMeasure};
use utoipa::IntoParams;

use super::sla::READERS;
use super::wait_consistent;
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_sla::{MetricGroupView, MetricReportView, SlaGroupView, SlaReportView};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// The longest period one report covers.
const MAX_DAYS: i64 = 400;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// Start of the period (inclusive, RFC 3339); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the period (exclusive); default now.
    pub to: Option<DateTime<Utc>>,
    /// agent, team, day, week or priority (days and weeks in UTC).
    pub group_by: Option<String>,
    /// Only this team's tickets (a team id).
    pub team: Option<String>,
    /// Only this agent's (a responder for first response, the assignee at resolution otherwise).
    pub agent: Option<String>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
    /// first_response: `first` (default: opening to first reply) or `all`
    /// (also each reopened cycle's first reply). resolution: `first`
    /// (default: opening to first resolution), `full` (opening to the latest
    /// resolution) or `cycles` (each cycle from its start). sla: the metric
    /// (first_response, next_response or resolution; all when absent).
    pub measure: Option<String>,
    /// Report as it would have been at this instant (RFC 3339): only replies,
    /// resolutions and SLA outcomes that had happened by then count, and a
    /// reopened ticket's full resolution is its latest one by then. `to`
    /// defaults to this instant.
    pub as_of: Option<DateTime<Utc>>,
    /// Wait until the figures include the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

struct Parsed {
    query: MetricQuery,
    group_by: Option<String>,
}

fn parse(state: &AppState, auth: &Auth, q: &MetricsQuery, p: &mut Problems) -> Parsed {
    let to = q.to.or(q.as_of).unwrap_or_else(|| state.clock.now());
    let from = q
        .from
        .unwrap_or_else(|| to.checked_sub_signed(Duration::days(30)).unwrap_or(to));
    if from >= to {
        p.push("from", "must be before to");
    } else if to - from > Duration::days(MAX_DAYS) {
        p.push("from", format!("a report covers at most {MAX_DAYS} days"));
    }
    let group_by = match q.group_by.as_deref() {
        None => None,
        Some(g) => match GroupBy::parse(g) {
            Some(v) => Some(v),
            None => {
                p.push(
                    "group_by",
                    format!("unknown grouping '{g}'; expected agent, team, day, week or priority"),
                );
                None
            }
        },
    };
    let priority = q.priority.as_deref().and_then(|s| {
        p.take(s.parse::<tgcrm_domain::values::Priority>())
            .map(|v| v.as_str().to_owned())
    });
    Parsed {
        query: MetricQuery {
            workspace_id: auth.workspace.to_string(),
            from,
            to,
            group_by,
            team: q.team.as_deref().and_then(|t| p.uuid("team", t)),
            agent: q.agent.as_deref().and_then(|a| p.uuid("agent", a)),
            priority,
            as_of: q.as_of,
        },
        group_by: q.group_by.clone(),
    }
}

fn groups(g: Vec<metrics::Group>) -> Vec<MetricGroupView> {
    g.into_iter()
        .map(|g| MetricGroupView {
            key: g.key,
            calendar: g.calendar.into(),
            business: g.business.into(),
        })
        .collect()
}

/// First response time: from opening to the first public reply of a human
/// agent (bot and system messages and internal notes excluded), in calendar
/// and business seconds, for replies made in the period.
#[utoipa::path(get, path = "/v1/metrics/first-response", tag = "metrics", params(MetricsQuery),
    responses((status = 200, body = MetricReportView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn first_response(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let parsed = parse(&state, &auth, &q, &mut p);
    let all_cycles = match q.measure.as_deref() {
        None | Some("first") => false,
        Some("all") => true,
        Some(other) => {
            p.push(
                "measure",
                format!("unknown measure '{other}'; expected first or all"),
            );
            false
        }
    };
    p.finish()?;
    wait_consistent(&state, &[metrics::NAME], q.consistent_with.as_deref()).await?;
    let g = metrics::first_response(state.store.db(), &parsed.query, all_cycles).await?;
    Ok(HttpResponse::Ok().json(MetricReportView {
        metric: "first_response".into(),
        from: parsed.query.from,
        to: parsed.query.to,
        as_of: parsed.query.as_of,
        group_by: parsed.group_by,
        groups: groups(g),
    }))
}

/// Resolution time: from opening (or a cycle's start) to resolved, in
/// calendar and business seconds, for resolutions in the period. A reopened
/// ticket keeps its first resolution time and gains a full one.
#[utoipa::path(get, path = "/v1/metrics/resolution", tag = "metrics", params(MetricsQuery),
    responses((status = 200, body = MetricReportView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn resolution(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let parsed = parse(&state, &auth, &q, &mut p);
    let measure = match q.measure.as_deref() {
        None | Some("first") => ResolutionMeasure::First,
        Some("full") => ResolutionMeasure::Full,
        Some("cycles") => ResolutionMeasure::Cycles,
        Some(other) => {
            p.push(
                "measure",
                format!("unknown measure '{other}'; expected first, full or cycles"),
            );
            ResolutionMeasure::First
        }
    };
    p.finish()?;
    wait_consistent(&state, &[metrics::NAME], q.consistent_with.as_deref()).await?;
    let g = metrics::resolution(state.store.db(), &parsed.query, measure).await?;
    Ok(HttpResponse::Ok().json(MetricReportView {
        metric: "resolution".into(),
        from: parsed.query.from,
        to: parsed.query.to,
        as_of: parsed.query.as_of,
        group_by: parsed.group_by,
        groups: groups(g),
    }))
}

/// SLA attainment: of the targets due in the period that were settled (met
/// or breached), how many were met in time.
#[utoipa::path(get, path = "/v1/metrics/sla", tag = "metrics", params(MetricsQuery),
    responses((status = 200, body = SlaReportView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn sla(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let parsed = parse(&state, &auth, &q, &mut p);
    let metric = q.measure.as_deref().and_then(|m| {
        p.take(
            m.parse::<tgcrm_domain::sla::Metric>()
                .map_err(|e| tgcrm_domain::values::ValueError::new("measure", e.reason)),
        )
    });
    p.finish()?;
    wait_consistent(&state, &[metrics::NAME], q.consistent_with.as_deref()).await?;
    let g = metrics::sla(state.store.db(), &parsed.query, metric.map(|m| m.as_str())).await?;
    Ok(HttpResponse::Ok().json(SlaReportView {
        from: parsed.query.from,
        to: parsed.query.to,
        as_of: parsed.query.as_of,
        group_by: parsed.group_by,
        metric: metric.map(|m| m.as_str().to_owned()),
        groups: g
            .into_iter()
            .map(|g| SlaGroupView {
                key: g.key,
                count: g.count,
                met: g.met,
                breached: g.breached,
                met_share: g.met_share,
            })
            .collect(),
    }))
}
