-- wangge schema 5: webhook subscriptions (data/webhooks.go) and the records
-- of writes made with an Idempotency-Key; the same as data/gpkg's schema
-- version 5. Neither is in the change feed: a delivery moving a cursor on
-- is no change a replica follows.

CREATE TABLE wangge_webhooks (
	id           text PRIMARY KEY CHECK (id <> ''),
	url          text NOT NULL,
	secret       text NOT NULL,
	filter       jsonb NOT NULL DEFAULT '{}',
	role         text NOT NULL,
	cursor       bigint NOT NULL DEFAULT 0, -- the feed's seq delivered up to
	failures     integer NOT NULL DEFAULT 0,
	paused       boolean NOT NULL DEFAULT false,
	last_error   text NOT NULL DEFAULT '',
	last_attempt timestamptz,
	created_at   timestamptz NOT NULL
);

CREATE TABLE wangge_idempotency (
	scope      text NOT NULL,
	key        text NOT NULL,
	hash       text NOT NULL,
	target     text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	status     integer NOT NULL DEFAULT 0, -- 0 until the answer is saved
	header     jsonb NOT NULL DEFAULT '{}',
	body       bytea,
	PRIMARY KEY (scope, key)
);
CREATE INDEX wangge_idempotency_created ON wangge_idempotency (created_at);
