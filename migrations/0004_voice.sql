-- Voice: entry points (a dialled number → where the call goes) and one record per inbound call.

CREATE TABLE entry_points (
  tenant_id INT UNSIGNED NOT NULL,
  entry VARCHAR(64) NOT NULL,
  target_kind VARCHAR(16) NOT NULL,
  target_id VARCHAR(64) NOT NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, entry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE voice_calls (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  server VARCHAR(32) NOT NULL,
  entry VARCHAR(64) NOT NULL,
  caller_number VARCHAR(64) NOT NULL,
  queue_id VARCHAR(64) NULL,
  agent_id VARCHAR(64) NULL,
  arrived_at DATETIME(3) NOT NULL,
  answered_at DATETIME(3) NULL,
  ended_at DATETIME(3) NULL,
  outcome VARCHAR(32) NULL,
  recording VARCHAR(128) NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_voice_calls_arrived (tenant_id, arrived_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
