-- Routing configuration (skills, business-hours calendars, queues, agents) and the durable
-- records of routing (tasks, offers, route decisions). Live state lives in Redis.

CREATE TABLE skills (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  description VARCHAR(1000) NOT NULL DEFAULT '',
  version INT UNSIGNED NOT NULL DEFAULT 1,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE calendars (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  weekly JSON NOT NULL,
  holidays JSON NOT NULL,
  version INT UNSIGNED NOT NULL DEFAULT 1,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE queues (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  body JSON NOT NULL,
  calendar_id VARCHAR(64) NULL,
  overflow_queue_id VARCHAR(64) NULL,
  version INT UNSIGNED NOT NULL DEFAULT 1,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, id),
  KEY ix_queues_calendar (tenant_id, calendar_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE agents (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  user_id BIGINT UNSIGNED NULL,
  body JSON NOT NULL,
  version INT UNSIGNED NOT NULL DEFAULT 1,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY uq_agents_user (tenant_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per configuration change, so a route decision can name the configuration it used.
CREATE TABLE routing_config_versions (
  tenant_id INT UNSIGNED NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  actor VARCHAR(100) NOT NULL,
  what VARCHAR(200) NOT NULL,
  PRIMARY KEY (tenant_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tasks (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  queue_id VARCHAR(64) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  priority SMALLINT UNSIGNED NOT NULL,
  interaction_id VARCHAR(64) NOT NULL,
  body JSON NOT NULL,
  state VARCHAR(16) NOT NULL,
  enqueued_at DATETIME(3) NOT NULL,
  assigned_agent_id VARCHAR(64) NULL,
  ended_at DATETIME(3) NULL,
  end_reason VARCHAR(32) NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_tasks_queue_state (tenant_id, queue_id, state),
  KEY ix_tasks_enqueued (tenant_id, enqueued_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE offers (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(80) NOT NULL,
  task_id VARCHAR(64) NOT NULL,
  agent_id VARCHAR(64) NOT NULL,
  offered_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  outcome VARCHAR(16) NULL,
  outcome_at DATETIME(3) NULL,
  PRIMARY KEY (tenant_id, id),
  KEY ix_offers_task (tenant_id, task_id),
  KEY ix_offers_agent (tenant_id, agent_id, offered_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The audit of routing: every decision with the inputs that mattered, replayable.
CREATE TABLE route_decisions (
  tenant_id INT UNSIGNED NOT NULL,
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  decided_at DATETIME(3) NOT NULL,
  partition_key VARCHAR(64) NOT NULL,
  event_id VARCHAR(32) NOT NULL,
  idx SMALLINT UNSIGNED NOT NULL,
  task_id VARCHAR(64) NULL,
  kind VARCHAR(32) NOT NULL,
  config_version VARCHAR(32) NOT NULL,
  body JSON NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_route_decisions_event (tenant_id, partition_key, event_id, idx),
  KEY ix_route_decisions_time (tenant_id, decided_at),
  KEY ix_route_decisions_task (tenant_id, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The router's input log: every event it consumed, in order, so `ipcc route replay` can re-run it.
CREATE TABLE routing_events (
  tenant_id INT UNSIGNED NOT NULL,
  partition_key VARCHAR(64) NOT NULL,
  event_id VARCHAR(32) NOT NULL,
  at_ms BIGINT NOT NULL,
  body JSON NOT NULL,
  PRIMARY KEY (tenant_id, partition_key, event_id),
  KEY ix_routing_events_time (tenant_id, at_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
