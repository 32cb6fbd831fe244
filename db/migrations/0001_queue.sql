-- 0001_queue.sql — the job queue (pg-boss semantics) in its own schema.
-- Durations are whole seconds. A job copies its queue's retry and expiry settings when it
-- is sent (like pg-boss), so changing a queue affects only jobs sent afterwards.

CREATE SCHEMA queue;

-- Order matters: `state < 'active'` means "waiting to be fetched" and `state <= 'active'`
-- "queued" (not finished), as in pg-boss.
CREATE TYPE queue.job_state AS ENUM ('created', 'retry', 'active', 'completed', 'cancelled', 'failed');

CREATE TABLE queue.queues (
  name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._/-]{1,128}$'),
  retry_limit     integer NOT NULL DEFAULT 2     CHECK (retry_limit >= 0),
  retry_delay     integer NOT NULL DEFAULT 0     CHECK (retry_delay >= 0),
  retry_backoff   boolean NOT NULL DEFAULT false,
  retry_delay_max integer NOT NULL DEFAULT 3600  CHECK (retry_delay_max >= 0),
  expire_in       integer NOT NULL DEFAULT 900   CHECK (expire_in > 0),
  retention       integer NOT NULL DEFAULT 1209600 CHECK (retention >= 0),  -- 14 days
  dead_letter     text REFERENCES queue.queues (name),
  created_on      timestamptz NOT NULL DEFAULT now(),
  updated_on      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queue.job (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL,
  priority        integer NOT NULL DEFAULT 0,
  data            jsonb,
  state           queue.job_state NOT NULL DEFAULT 'created',
  retry_limit     integer NOT NULL,
  retry_count     integer NOT NULL DEFAULT 0,
  retry_delay     integer NOT NULL,
  retry_backoff   boolean NOT NULL,
  retry_delay_max integer NOT NULL,
  expire_in       integer NOT NULL,
  dead_letter     text REFERENCES queue.queues (name),
  singleton_key   text,
  start_after     timestamptz NOT NULL DEFAULT now(),
  created_on      timestamptz NOT NULL DEFAULT now(),
  started_on      timestamptz,
  expire_on       timestamptz,          -- set when fetched: started_on + expire_in
  completed_on    timestamptz,          -- when it reached completed, cancelled or failed
  claim           uuid,                 -- fence token of the current fetch
  output          jsonb
);

-- Fetch order: highest priority first, then oldest.
CREATE INDEX job_fetch ON queue.job (name, priority DESC, created_on, id) WHERE state < 'active';
-- At most one queued job per singleton key and queue.
CREATE UNIQUE INDEX job_singleton ON queue.job (name, singleton_key)
  WHERE state <= 'active' AND singleton_key IS NOT NULL;
CREATE INDEX job_expiry ON queue.job (expire_on) WHERE state = 'active';
CREATE INDEX job_finished ON queue.job (name, completed_on) WHERE state > 'active';

-- The export queue's defaults, as in the seed's system.
INSERT INTO queue.queues (name, retry_limit, retry_delay, retry_backoff, expire_in)
VALUES ('export-map', 3, 60, true, 3600);
