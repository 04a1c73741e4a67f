-- What the agent recorded at the end of a task: a disposition code from the queue's list and notes.
CREATE TABLE task_dispositions (
  tenant_id INT UNSIGNED NOT NULL,
  task_id VARCHAR(64) NOT NULL,
  agent_id VARCHAR(64) NOT NULL,
  code VARCHAR(64) NOT NULL,
  notes TEXT NULL,
  recorded_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
