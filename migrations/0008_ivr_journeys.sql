-- IVR journeys: one row per IVR session (a call on one flow version) and one row per node
-- visit, for analytics of where callers give up. Inputs are stored as the engine masked them.

CREATE TABLE ivr_sessions (
  tenant_id INT UNSIGNED NOT NULL,
  call_id VARCHAR(64) NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  flow_version INT UNSIGNED NOT NULL,
  started_at DATETIME(3) NOT NULL,
  ended_at DATETIME(3) NULL,
  -- flow (a terminal action), caller (hung up), guard (visit limit), error (the executor failed)
  ended_by VARCHAR(16) NULL,
  end_node VARCHAR(64) NULL,
  -- route_to_queue, offer_callback, voicemail, transfer, hangup
  end_action VARCHAR(32) NULL,
  -- What the caller entered, data-dip outcomes and the path taken, as handed on with the call;
  -- variables collected with `mask: true` (PINs, card numbers) are stored as asterisks.
  context JSON NULL,
  PRIMARY KEY (tenant_id, call_id),
  KEY ix_ivr_sessions_flow (tenant_id, flow_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ivr_journey_visits (
  tenant_id INT UNSIGNED NOT NULL,
  call_id VARCHAR(64) NOT NULL,
  -- Visit order within the call, from 1.
  seq SMALLINT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  flow_version INT UNSIGNED NOT NULL,
  node_id VARCHAR(64) NOT NULL,
  node_type VARCHAR(16) NOT NULL,
  entered_at DATETIME(3) NOT NULL,
  left_at DATETIME(3) NULL,
  -- Per attempt, space separated: `1`, `no_input`, `invalid:9`, `ok:200`, `****` (masked).
  input VARCHAR(512) NULL,
  -- next, choice, collected, no_input, invalid, ok, fallback, end, caller_hangup, guard, skipped ...
  outcome VARCHAR(32) NULL,
  next_node VARCHAR(64) NULL,
  PRIMARY KEY (tenant_id, call_id, seq),
  KEY ix_ivr_visits_flow (tenant_id, flow_id, entered_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
