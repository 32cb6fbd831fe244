-- 0008_idempotency_keys.sql — POST /api/maps and POST /api/export honour an Idempotency-Key
-- header (SYSTEM.md §3): a client that retries after a lost answer gets the first answer back.
-- One row per (caller, key), kept 24 hours; expired rows are ignored at once and deleted in small
-- batches by each new row (src/api/idempotency.c), so no separate maintenance job is needed.
--   scope           SHA-256 (hex) of the caller: its bearer credential when it sends one, else
--                   its address
--   key_sha256      SHA-256 (hex) of the key: the key itself is never stored
--   request_sha256  SHA-256 (hex) of the route and the body: a reused key with another body is 422
--   status, response  the first answer (a map's edit token is not in it: see sealed_secret)
--   secret_at, sealed_secret  the edit token of POST /api/maps, encrypted with a key derived from
--                   the Idempotency-Key (which only the client holds), and where in the response
--                   it goes; NULL for other answers
CREATE TABLE idempotency_keys (
  scope text NOT NULL CHECK (scope ~ '^[0-9a-f]{64}$'),
  key_sha256 text NOT NULL CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
  request_sha256 text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
  status integer NOT NULL CHECK (status BETWEEN 200 AND 299),
  response text NOT NULL,
  secret_at integer CHECK (secret_at >= 0),
  sealed_secret bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key_sha256)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
