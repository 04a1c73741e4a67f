-- Call recordings: one row per recording of a bridged call (the file lives on the media server
-- that made it), with its PCI pauses on the recording's timeline and its deletion by the
-- retention policy; and one row per retention run, for its progress and outcome.

CREATE TABLE recordings (
  tenant_id INT UNSIGNED NOT NULL,
  -- The recording's name on the media server (its file is <name>.wav there).
  name VARCHAR(128) NOT NULL,
  call_id VARCHAR(64) NOT NULL,
  server VARCHAR(32) NOT NULL,
  queue_id VARCHAR(64) NULL,
  -- The agent the call was bridged with; `agents` lists every agent heard on it, in order.
  agent_id VARCHAR(64) NULL,
  agents JSON NOT NULL,
  customer_number VARCHAR(64) NOT NULL DEFAULT '',
  started_at DATETIME(3) NOT NULL,
  ended_at DATETIME(3) NULL,
  -- The bridged call's length by our clock, and the length the media server reported for the file.
  duration_ms INT UNSIGNED NULL,
  media_seconds INT UNSIGNED NULL,
  -- recording, done, failed, deleted
  state VARCHAR(16) NOT NULL,
  -- PCI pauses: [{"startMs": .., "endMs": .. | null}] in ms from started_at; endMs null while paused.
  pauses JSON NOT NULL,
  -- Bumped by every change of `pauses`, so two pause/resume requests cannot both win.
  version INT UNSIGNED NOT NULL DEFAULT 1,
  deleted_at DATETIME(3) NULL,
  deleted_reason VARCHAR(200) NULL,
  PRIMARY KEY (tenant_id, name),
  KEY ix_recordings_call (tenant_id, call_id),
  KEY ix_recordings_started (tenant_id, started_at, name),
  KEY ix_recordings_queue (tenant_id, queue_id, started_at),
  KEY ix_recordings_agent (tenant_id, agent_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE recording_retention_runs (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(100) NOT NULL,
  -- schedule or manual; who asked for a manual run
  trigger_kind VARCHAR(16) NOT NULL,
  requested_by VARCHAR(100) NOT NULL DEFAULT '',
  requested_at DATETIME(3) NOT NULL,
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  -- queued, running, done, failed
  state VARCHAR(16) NOT NULL,
  deleted INT UNSIGNED NOT NULL DEFAULT 0,
  failed INT UNSIGNED NOT NULL DEFAULT 0,
  -- Recordings past retention still to go (counted at the start, then after each batch).
  remaining INT UNSIGNED NULL,
  plan JSON NULL,
  error VARCHAR(500) NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_retention_runs_requested (tenant_id, requested_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
