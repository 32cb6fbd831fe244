-- 0002_maps_and_print_jobs.sql — the API server's tables (SYSTEM.md §2): map definitions,
-- print configurations, print jobs and their append-only event log. Only the API server
-- reads and writes them; workers go through the HTTP API.

CREATE TABLE user_maps (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- GET /api/maps lists newest first.
CREATE INDEX user_maps_newest ON user_maps (created_at DESC, id DESC);

-- One print configuration of a user map: widthInches, heightInches, paperSizeName and the
-- optional overrides (projection, rotation, zoom, pan, theme, format).
CREATE TABLE printable_maps (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_map_id  uuid NOT NULL REFERENCES user_maps (id) ON DELETE CASCADE,
  data         jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX printable_maps_user_map ON printable_maps (user_map_id, created_at DESC);

CREATE TABLE print_jobs (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  printable_map_id     uuid NOT NULL REFERENCES printable_maps (id) ON DELETE CASCADE,
  state                text NOT NULL DEFAULT 'pending_export'
                       CHECK (state IN ('pending_export', 'exporting', 'export_complete', 'export_failed')),
  export_started_at    timestamptz,
  export_completed_at  timestamptz,
  export_file_path     text,
  export_error         text,
  export_retry_count   integer NOT NULL DEFAULT 0 CHECK (export_retry_count >= 0),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX print_jobs_printable_map ON print_jobs (printable_map_id);
-- Metrics count jobs by state; `awm jobs requeue` looks for pending ones.
CREATE INDEX print_jobs_state ON print_jobs (state, created_at);

-- Append-only: one row per transition, written in the same transaction as the state change.
-- created_at uses clock_timestamp() so events of one job order by time even within a transaction.
CREATE TABLE print_job_events (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  print_job_id   uuid NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
  from_state     text,
  to_state       text NOT NULL,
  event_type     text NOT NULL CHECK (event_type IN ('created', 'started', 'completed', 'failed', 'retrying')),
  metadata       jsonb,
  error_message  text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX print_job_events_job ON print_job_events (print_job_id, created_at, id);
