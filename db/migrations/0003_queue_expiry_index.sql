-- 0003_queue_expiry_index.sql — keep the expiry index to supervision.
-- With `WHERE state = 'active'` alone, any statement saying `state = 'active'` (completing or
-- failing a job by id) could use it, and the planner did: a whole-index scan that also walks
-- the entries of every job that was once active, so completion slowed down as jobs went
-- through. `expire_on IS NOT NULL` is implied by supervision's `expire_on < now()` only.
DROP INDEX queue.job_expiry;
CREATE INDEX job_expiry ON queue.job (expire_on) WHERE state = 'active' AND expire_on IS NOT NULL;
