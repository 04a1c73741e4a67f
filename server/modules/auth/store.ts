import type { Pool, ResultSetHeader, RowDataPacket } from '../../infra/mysql.js';
import type { Role } from '../../domain/principal.js';

export interface UserAuthRow {
  id: string;
  tenantId: number;
  username: string;
  passwordHash: string;
  roles: Role[];
  disabled: boolean;
  tokenVersion: number;
}

export interface ApiKeyRow {
  id: string;
  tenantId: number;
  name: string;
  keyHash: string;
  roles: Role[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const splitRoles = (s: string): Role[] => s.split(',').filter(Boolean) as Role[];
const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : d == null ? null : String(d));

/** SQL for users-as-credentials, API keys and the audit trail. */
export function createAuthStore(pool: Pool) {
  return {
    async findUserByName(tenantId: number, username: string): Promise<UserAuthRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT id, tenant_id, username, password_hash, roles, disabled, token_version FROM users WHERE tenant_id = ? AND username = ?',
        [tenantId, username],
      );
      const r = rows[0];
      return r && toUser(r);
    },
    async findUserById(tenantId: number, id: string): Promise<UserAuthRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT id, tenant_id, username, password_hash, roles, disabled, token_version FROM users WHERE tenant_id = ? AND id = ?',
        [tenantId, id],
      );
      const r = rows[0];
      return r && toUser(r);
    },
    async insertApiKey(k: { id: string; tenantId: number; name: string; keyHash: string; roles: Role[]; createdBy: string | null }): Promise<void> {
      await pool.query('INSERT INTO api_keys (id, tenant_id, name, key_hash, roles, created_by) VALUES (?, ?, ?, ?, ?, ?)', [
        k.id, k.tenantId, k.name, k.keyHash, k.roles.join(','), k.createdBy,
      ]);
    },
    async findApiKey(id: string): Promise<ApiKeyRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM api_keys WHERE id = ?', [id]);
      const r = rows[0];
      return r && toKey(r);
    },
    async listApiKeys(tenantId: number): Promise<ApiKeyRow[]> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id', [tenantId]);
      return rows.map(toKey);
    },
    async revokeApiKey(tenantId: number, id: string): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>(
        'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, CURRENT_TIMESTAMP(3)) WHERE tenant_id = ? AND id = ?',
        [tenantId, id],
      );
      return res.affectedRows > 0;
    },
    async touchApiKey(tenantId: number, id: string, at: Date): Promise<void> {
      await pool.query('UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, ?), ?) WHERE tenant_id = ? AND id = ?', [at, at, tenantId, id]);
    },
  };

  function toUser(r: RowDataPacket): UserAuthRow {
    return {
      id: String(r.id),
      tenantId: Number(r.tenant_id),
      username: String(r.username),
      passwordHash: String(r.password_hash),
      roles: splitRoles(String(r.roles)),
      disabled: Boolean(r.disabled),
      tokenVersion: Number(r.token_version),
    };
  }
  function toKey(r: RowDataPacket): ApiKeyRow {
    return {
      id: String(r.id),
      tenantId: Number(r.tenant_id),
      name: String(r.name),
      keyHash: String(r.key_hash),
      roles: splitRoles(String(r.roles)),
      createdAt: iso(r.created_at) ?? '',
      lastUsedAt: iso(r.last_used_at),
      revokedAt: iso(r.revoked_at),
    };
  }
}

export type AuthStore = ReturnType<typeof createAuthStore>;
