-- 15: the web console (sync-server/src/console, docs/operations.md "Web
-- console"): an account signs in with a login name and a password, kept
-- only as its argon2 hash, and holds a session in a cookie whose token is
-- kept only as its SHA-256, with an expiry and the session's anti-forgery
-- token.
CREATE TABLE console_logins (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    set_at INTEGER NOT NULL
) STRICT;
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_account ON console_sessions (account_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
