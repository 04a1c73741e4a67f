import { isDuplicateKey, type Pool, type ResultSetHeader, type RowDataPacket } from '../../infra/mysql.js';
import type { UserRole } from '../../domain/principal.js';

export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  roles: UserRole[];
  disabled: boolean;
  tokenVersion: number;
  createdAt: string;
}

function toRecord(r: RowDataPacket): UserRecord {
  return {
    id: String(r.id),
    username: String(r.username),
    displayName: String(r.display_name),
    roles: String(r.roles).split(',').filter(Boolean) as UserRole[],
    disabled: Boolean(r.disabled),
    tokenVersion: Number(r.token_version),
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
  };
}

const COLS = 'id, username, display_name, roles, disabled, token_version, created_at';

export function createUserStore(pool: Pool) {
  return {
    /** Returns undefined when the user name is taken. */
    async insert(u: { tenantId: number; username: string; displayName: string; passwordHash: string; roles: UserRole[] }): Promise<string | undefined> {
      try {
        const [res] = await pool.query<ResultSetHeader>(
          'INSERT INTO users (tenant_id, username, display_name, password_hash, roles) VALUES (?, ?, ?, ?, ?)',
          [u.tenantId, u.username, u.displayName, u.passwordHash, u.roles.join(',')],
        );
        return String(res.insertId);
      } catch (e) {
        if (isDuplicateKey(e)) return undefined;
        throw e;
      }
    },
    async get(tenantId: number, id: string): Promise<UserRecord | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${COLS} FROM users WHERE tenant_id = ? AND id = ?`, [tenantId, id]);
      return rows[0] && toRecord(rows[0]);
    },
    async list(tenantId: number, opts: { limit: number; afterId: string | undefined }): Promise<UserRecord[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${COLS} FROM users WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
        [tenantId, opts.afterId ?? '0', opts.limit],
      );
      return rows.map(toRecord);
    },
    async countEnabledAdmins(tenantId: number, exceptId?: string): Promise<number> {
      const [rows] = await pool.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM users WHERE tenant_id = ? AND disabled = 0 AND FIND_IN_SET('admin', roles) > 0 AND id <> ?",
        [tenantId, exceptId ?? '0'],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async update(tenantId: number, id: string, patch: { displayName?: string; roles?: UserRole[]; disabled?: boolean; passwordHash?: string; bumpTokenVersion: boolean }): Promise<void> {
      const sets: string[] = [];
      const args: unknown[] = [];
      const set = (column: string, value: unknown): void => {
        sets.push(`${column} = ?`);
        args.push(value);
      };
      if (patch.displayName !== undefined) set('display_name', patch.displayName);
      if (patch.roles !== undefined) set('roles', patch.roles.join(','));
      if (patch.disabled !== undefined) set('disabled', patch.disabled ? 1 : 0);
      if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash);
      if (patch.bumpTokenVersion) sets.push('token_version = token_version + 1');
      if (sets.length === 0) return;
      await pool.query(`UPDATE users SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ?`, [...args, tenantId, id]);
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
