-- Appends no longer NOTIFY from an insert trigger: a notifying transaction
-- takes a cluster-wide lock at commit and holds it through its WAL flush, so
-- every append on the cluster committed one after another. Each process now
-- announces its own appends on `crm_events` after they committed (see
-- crates/store/src/notify.rs). Readers poll as before; the announcement only
-- wakes them sooner.
DROP TRIGGER IF EXISTS events_notify ON events;
DROP FUNCTION IF EXISTS events_notify();
