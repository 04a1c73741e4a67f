-- Interactions: one customer need, across calls (a transfer, a callback) and later other channels.
-- Every call belongs to one; its figures add up here: time in queues, talk, hold, transfers.
CREATE TABLE interactions (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  customer_number VARCHAR(64) NULL,
  entry VARCHAR(64) NULL,
  first_queue_id VARCHAR(64) NULL,
  last_queue_id VARCHAR(64) NULL,
  last_agent_id VARCHAR(64) NULL,
  started_at DATETIME(3) NOT NULL,
  first_answered_at DATETIME(3) NULL,
  ended_at DATETIME(3) NULL,
  queue_ms INT UNSIGNED NOT NULL DEFAULT 0,
  talk_ms INT UNSIGNED NOT NULL DEFAULT 0,
  hold_ms INT UNSIGNED NOT NULL DEFAULT 0,
  transfers SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  outcome VARCHAR(32) NULL,
  context JSON NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_interactions_started (tenant_id, started_at),
  KEY ix_interactions_customer (tenant_id, customer_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Each channel a call used: the customer, agents who answered, consult and external parties.
CREATE TABLE call_legs (
  tenant_id INT UNSIGNED NOT NULL,
  call_id VARCHAR(64) NOT NULL,
  leg_id VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  party VARCHAR(128) NULL,
  started_at DATETIME(3) NOT NULL,
  answered_at DATETIME(3) NULL,
  ended_at DATETIME(3) NULL,
  end_reason VARCHAR(32) NULL,
  PRIMARY KEY (tenant_id, call_id, leg_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A call's own figures and what it belongs to.
ALTER TABLE voice_calls
  ADD COLUMN interaction_id VARCHAR(64) NULL,
  ADD COLUMN direction VARCHAR(16) NOT NULL DEFAULT 'inbound',
  ADD COLUMN queue_ms INT UNSIGNED NULL,
  ADD COLUMN talk_ms INT UNSIGNED NULL,
  ADD COLUMN hold_ms INT UNSIGNED NULL,
  ADD COLUMN transfers SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  ADD KEY ix_voice_calls_interaction (tenant_id, interaction_id);
