-- Callbacks: a waiting caller (or the IVR, or an integration) asks to be called back and keeps
-- the place in the queue; when it comes up an agent is reserved first, then the customer dialled.
CREATE TABLE callbacks (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(80) NOT NULL,
  interaction_id VARCHAR(64) NOT NULL,
  origin_call_id VARCHAR(64) NULL,
  queue_id VARCHAR(64) NOT NULL,
  number VARCHAR(64) NOT NULL,
  requested_at DATETIME(3) NOT NULL,
  waiting_since DATETIME(3) NOT NULL,
  state VARCHAR(16) NOT NULL,
  attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts SMALLINT UNSIGNED NOT NULL,
  next_attempt_at DATETIME(3) NULL,
  last_result VARCHAR(32) NULL,
  agent_id VARCHAR(64) NULL,
  call_id VARCHAR(64) NULL,
  merged_call_id VARCHAR(64) NULL,
  ended_at DATETIME(3) NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_callbacks_number (tenant_id, number, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every dial attempt of a callback and how it ended.
CREATE TABLE callback_attempts (
  tenant_id INT UNSIGNED NOT NULL,
  callback_id VARCHAR(80) NOT NULL,
  attempt SMALLINT UNSIGNED NOT NULL,
  agent_id VARCHAR(64) NULL,
  started_at DATETIME(3) NOT NULL,
  ended_at DATETIME(3) NULL,
  result VARCHAR(32) NULL,
  PRIMARY KEY (tenant_id, callback_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Voicemail: the caller's recorded message, an interaction of its own kind.
CREATE TABLE voicemails (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(80) NOT NULL,
  interaction_id VARCHAR(64) NOT NULL,
  call_id VARCHAR(64) NOT NULL,
  mailbox VARCHAR(64) NOT NULL,
  caller_number VARCHAR(64) NULL,
  server VARCHAR(32) NOT NULL,
  recording VARCHAR(128) NOT NULL,
  duration_ms INT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL,
  context JSON NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_voicemails_mailbox (tenant_id, mailbox, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
