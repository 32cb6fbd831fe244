-- 0004_queue_autovacuum.sql — vacuum the job table early and often.
-- Every fetch updates a job out of the fetch index and leaves a dead entry at the head of
-- that index, which every later fetch must step over until VACUUM removes it. With the
-- default thresholds (20 % of the table) a table keeping 14 days of finished jobs would
-- collect hundreds of thousands of them between vacuums; 1 % + 1000 rows keeps fetches short.
ALTER TABLE queue.job SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 1
);
