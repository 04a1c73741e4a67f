-- IVR flows: immutable versions, and the history of which version was published when.

CREATE TABLE ivr_flows (
  tenant_id INT UNSIGNED NOT NULL,
  id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  published_version INT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ivr_flow_versions (
  tenant_id INT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  version INT UNSIGNED NOT NULL,
  body JSON NOT NULL,
  created_by VARCHAR(100) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, flow_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ivr_flow_publications (
  tenant_id INT UNSIGNED NOT NULL,
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  flow_id VARCHAR(64) NOT NULL,
  version INT UNSIGNED NOT NULL,
  published_by VARCHAR(100) NOT NULL,
  published_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_ivr_publications_flow (tenant_id, flow_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
