-- 0005_queue_drop_finished_index.sql — no index for maintenance.
-- job_finished served only queue_maintain, which runs once an hour; keeping it cost every
-- completed, failed or cancelled job one more index insertion (and its WAL) on the hot path
-- of the drain. Maintenance now reads the table sequentially, once an hour.
DROP INDEX queue.job_finished;
