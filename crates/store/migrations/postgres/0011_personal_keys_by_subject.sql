-- Keys are read as `workspace_id = $1 AND subject IN (…)`, a batch of
-- subjects at a time. With the workspace first in the primary key, a
-- prepared statement's generic plan, made while the table was small, took
-- the workspace alone as the index condition and filtered the subjects:
-- every lookup walked all of the workspace's keys (1–3 ms at a few thousand
-- customers, growing with every new one, until the next ANALYZE). With the
-- subject first, any plan looks each subject up in the index.
ALTER TABLE personal_keys
    DROP CONSTRAINT personal_keys_pkey,
    ADD PRIMARY KEY (subject, workspace_id);
