import type { Pool, ResultSetHeader, RowDataPacket } from '../../infra/mysql.js';

/** A SIP login row; the password travels only where the service asks for it. */
export interface SipLoginRecord {
  tenantId: number;
  agentId: string;
  username: string;
  /** A fixed SIP URI of the phone, when it does not register. */
  contact?: string;
  createdAt: string;
  updatedAt: string;
}

export interface SipLoginSecretRecord extends SipLoginRecord {
  password: string;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

function toRecord(r: RowDataPacket): SipLoginRecord {
  return {
    tenantId: Number(r.tenant_id), agentId: String(r.agent_id), username: String(r.sip_username),
    ...(r.static_contact ? { contact: String(r.static_contact) } : {}), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

export function createSipLoginStore(pool: Pool) {
  return {
    /** Creates the login or replaces its password; says which. */
    async upsert(l: { tenantId: number; agentId: string; username: string; password: string; contact: string | null }): Promise<'created' | 'rotated'> {
      const [res] = await pool.query<ResultSetHeader>(
        `INSERT INTO sip_logins (tenant_id, agent_id, sip_username, sip_password, static_contact) VALUES (?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE sip_username = VALUES(sip_username), sip_password = VALUES(sip_password), static_contact = VALUES(static_contact), updated_at = CURRENT_TIMESTAMP(3)`,
        [l.tenantId, l.agentId, l.username, l.password, l.contact],
      );
      // MariaDB counts 1 affected row for an insert and 2 for an update.
      return res.affectedRows === 1 ? 'created' : 'rotated';
    },
    async get(tenantId: number, agentId: string): Promise<SipLoginRecord | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT tenant_id, agent_id, sip_username, static_contact, created_at, updated_at FROM sip_logins WHERE tenant_id = ? AND agent_id = ?',
        [tenantId, agentId],
      );
      return rows[0] && toRecord(rows[0]);
    },
    /** Every login of a tenant with its password, for provisioning Asterisk. */
    async listWithSecrets(tenantId: number): Promise<SipLoginSecretRecord[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT tenant_id, agent_id, sip_username, sip_password, static_contact, created_at, updated_at FROM sip_logins WHERE tenant_id = ? ORDER BY agent_id',
        [tenantId],
      );
      return rows.map((r) => ({ ...toRecord(r), password: String(r.sip_password) }));
    },
    async remove(tenantId: number, agentId: string): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>('DELETE FROM sip_logins WHERE tenant_id = ? AND agent_id = ?', [tenantId, agentId]);
      return res.affectedRows > 0;
    },
  };
}

export type SipLoginStore = ReturnType<typeof createSipLoginStore>;
