-- 0007_map_edit_tokens.sql — a map is changed or deleted only with its edit token (SYSTEM.md §3
-- "Who may do what"). The server keeps the token's SHA-256 (hex), never the token. Maps made
-- before this migration have none: only the operator (ADMIN_API_KEY) may change or delete them.
ALTER TABLE user_maps ADD COLUMN edit_token_sha256 text
  CHECK (edit_token_sha256 IS NULL OR edit_token_sha256 ~ '^[0-9a-f]{64}$');
