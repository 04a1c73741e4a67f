-- SIP logins of agents' phones. The server provisions each one in Asterisk as a PJSIP auth,
-- aor and endpoint named agent-<tenant_id>-<agent_id> (also the SIP user name).
--
-- The password is stored as it is, not hashed: the server must push it to Asterisk again
-- whenever it recreates an endpoint (the reconciler after drift, a new Asterisk node), and
-- digest authentication needs the secret itself. Treat this table and its backups as secrets.
CREATE TABLE sip_logins (
  tenant_id INT UNSIGNED NOT NULL,
  agent_id VARCHAR(64) NOT NULL,
  sip_username VARCHAR(100) NOT NULL,
  sip_password VARCHAR(128) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tenant_id, agent_id),
  -- One SIP identity per login across tenants: tenants may share an Asterisk server.
  UNIQUE KEY uq_sip_logins_username (sip_username),
  CONSTRAINT fk_sip_logins_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  -- Deleting an agent deletes its login; the next reconcile then removes the endpoint.
  CONSTRAINT fk_sip_logins_agent FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
