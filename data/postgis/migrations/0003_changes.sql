-- wangge schema 3: the change feed (data/changes.go).
--
-- Every insert, update and delete of a row of a layer table, of plans and of
-- API keys is recorded in wangge_changes by the triggers below, in the same
-- transaction as the change, whoever makes it: wangge, psql, ogr2ogr, QGIS.
--
-- Commit order is Seq order. A follower reads seq > cursor and moves its
-- cursor on, so a transaction that took seq 10 but committed after the one
-- that took seq 11 would be skipped for ever. A sequence alone does not
-- prevent that, so every writer of the feed first takes a transaction-level
-- advisory lock, one per schema (wangge_feed_key), and keeps it until it
-- commits: writers of the feed commit one at a time, in the order of their
-- seqs. The lock is taken by a BEFORE statement trigger, before the statement
-- locks any row, and again (re-entrantly) by the AFTER trigger that takes the
-- seqs; wangge's own transactions take it in Store.Begin. Rows are then always
-- locked after the advisory lock, never before, so two writers cannot deadlock
-- on the pair (a raw transaction that locks rows with SELECT … FOR UPDATE
-- before its first write still can: PostgreSQL detects that and aborts one).
--
-- The AFTER triggers are statement-level with transition tables, so a COPY of
-- 200,000 rows is recorded by one INSERT … SELECT, not 200,000 trigger calls,
-- and send one pg_notify per statement (PostgreSQL merges identical
-- notifications of one transaction) on a channel per schema
-- (wangge_feed_channel), which Store.Listen listens on.
--
-- The trigger functions carry the search path of this migration (SET
-- search_path FROM CURRENT), so that a client whose search path does not
-- name this schema (QGIS editing schema.hazards) still records its changes
-- here; the lock key and channel come from the schema of the changed table.

-- No CACHE: a session-local cache would hand out seqs out of commit order.
CREATE SEQUENCE wangge_changes_seq AS bigint;

CREATE TABLE wangge_changes (
	seq   bigint PRIMARY KEY,
	layer text NOT NULL, -- a layer (= its table), 'plans' or 'keys'
	fid   bigint NOT NULL, -- plans: the plan id; keys: 0
	op    text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
	at    timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE wangge_changes_seq OWNED BY wangge_changes.seq;

-- wangge_feed_key is the advisory lock key of the feed of a schema.
CREATE FUNCTION wangge_feed_key(schema text) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT hashtextextended('wangge_changes.' || schema, 0) $$;

-- wangge_feed_channel is the NOTIFY channel of the feed of a schema; channel
-- names are identifiers (at most 63 bytes), so a long schema name is hashed.
CREATE FUNCTION wangge_feed_channel(schema text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT 'wangge_changes.' || CASE WHEN octet_length(schema) <= 48 THEN schema ELSE md5(schema) END $$;

-- The trigger functions take two arguments: the feed's name for the table
-- (TG_ARGV[0]) and where a row's fid is (TG_ARGV[1]): 'fid', 'id' (plans) or
-- 'none' (keys, recorded with fid 0).

CREATE FUNCTION wangge_feed_lock() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(wangge_feed_key(TG_TABLE_SCHEMA));
	RETURN NULL;
END
$$;

CREATE FUNCTION wangge_feed_insert() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(wangge_feed_key(TG_TABLE_SCHEMA));
	IF TG_ARGV[1] = 'fid' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], fid, 'insert' FROM wangge_new;
	ELSIF TG_ARGV[1] = 'id' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], id, 'insert' FROM wangge_new;
	ELSE
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], 0, 'insert' FROM wangge_new;
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify(wangge_feed_channel(TG_TABLE_SCHEMA), '');
	END IF;
	RETURN NULL;
END
$$;

-- An update that changes a row's fid is recorded as the delete of the old
-- fid and the insert of the new one.
CREATE FUNCTION wangge_feed_update() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(wangge_feed_key(TG_TABLE_SCHEMA));
	IF TG_ARGV[1] = 'fid' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], coalesce(n.fid, o.fid),
			CASE WHEN o.fid IS NULL THEN 'insert' WHEN n.fid IS NULL THEN 'delete' ELSE 'update' END
		FROM (SELECT fid FROM wangge_new) AS n FULL JOIN (SELECT fid FROM wangge_old) AS o ON n.fid = o.fid;
	ELSIF TG_ARGV[1] = 'id' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], coalesce(n.id, o.id),
			CASE WHEN o.id IS NULL THEN 'insert' WHEN n.id IS NULL THEN 'delete' ELSE 'update' END
		FROM (SELECT id FROM wangge_new) AS n FULL JOIN (SELECT id FROM wangge_old) AS o ON n.id = o.id;
	ELSE
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], 0, 'update' FROM wangge_new;
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify(wangge_feed_channel(TG_TABLE_SCHEMA), '');
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION wangge_feed_delete() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(wangge_feed_key(TG_TABLE_SCHEMA));
	IF TG_ARGV[1] = 'fid' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], fid, 'delete' FROM wangge_old;
	ELSIF TG_ARGV[1] = 'id' THEN
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], id, 'delete' FROM wangge_old;
	ELSE
		INSERT INTO wangge_changes (seq, layer, fid, op)
		SELECT nextval('wangge_changes_seq'), TG_ARGV[0], 0, 'delete' FROM wangge_old;
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify(wangge_feed_channel(TG_TABLE_SCHEMA), '');
	END IF;
	RETURN NULL;
END
$$;

-- TRUNCATE has no transition tables: record a delete of every row while the
-- table still holds them (BEFORE TRUNCATE).
CREATE FUNCTION wangge_feed_truncate() RETURNS trigger
	LANGUAGE plpgsql SET search_path FROM CURRENT
	AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(wangge_feed_key(TG_TABLE_SCHEMA));
	EXECUTE format('INSERT INTO wangge_changes (seq, layer, fid, op) SELECT nextval(''wangge_changes_seq''), $1, %s, ''delete'' FROM %I.%I',
		CASE TG_ARGV[1] WHEN 'none' THEN '0' ELSE quote_ident(TG_ARGV[1]) END, TG_TABLE_SCHEMA, TG_TABLE_NAME)
		USING TG_ARGV[0];
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify(wangge_feed_channel(TG_TABLE_SCHEMA), '');
	END IF;
	RETURN NULL;
END
$$;

-- The triggers, the same on every table of the feed. A trigger with
-- transition tables may handle one event only, hence three AFTER triggers.
DO $$
DECLARE
	t record;
BEGIN
	FOR t IN SELECT * FROM (VALUES
		('areas', 'areas', 'fid'),
		('grids', 'grids', 'fid'),
		('hazards', 'hazards', 'fid'),
		('cameras', 'cameras', 'fid'),
		('households', 'households', 'fid'),
		('plans', 'plans', 'id'),
		('wangge_keys', 'keys', 'none')) AS v (tbl, layer, fid)
	LOOP
		EXECUTE format('CREATE TRIGGER wangge_feed_lock BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
			FOR EACH STATEMENT EXECUTE FUNCTION wangge_feed_lock()', t.tbl);
		EXECUTE format('CREATE TRIGGER wangge_feed_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS wangge_new
			FOR EACH STATEMENT EXECUTE FUNCTION wangge_feed_insert(%L, %L)', t.tbl, t.layer, t.fid);
		EXECUTE format('CREATE TRIGGER wangge_feed_update AFTER UPDATE ON %I REFERENCING OLD TABLE AS wangge_old NEW TABLE AS wangge_new
			FOR EACH STATEMENT EXECUTE FUNCTION wangge_feed_update(%L, %L)', t.tbl, t.layer, t.fid);
		EXECUTE format('CREATE TRIGGER wangge_feed_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS wangge_old
			FOR EACH STATEMENT EXECUTE FUNCTION wangge_feed_delete(%L, %L)', t.tbl, t.layer, t.fid);
		EXECUTE format('CREATE TRIGGER wangge_feed_truncate BEFORE TRUNCATE ON %I
			FOR EACH STATEMENT EXECUTE FUNCTION wangge_feed_truncate(%L, %L)', t.tbl, t.layer, t.fid);
	END LOOP;
END
$$;
