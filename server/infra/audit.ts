import type { Pool } from './mysql.js';

/** One line of the audit trail: who did what to what, and how it ended. */
export interface AuditEntry {
  tenantId: number;
  actor: string;
  action: string;
  target?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  requestId?: string;
  details?: Record<string, unknown>;
}

export type AuditLog = (e: AuditEntry) => Promise<void>;

/** The audit trail is append-only; modules write it through this one function. */
export function createAuditLog(pool: Pool): AuditLog {
  return async (e) => {
    await pool.query('INSERT INTO audit_log (tenant_id, actor, action, target, outcome, request_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      e.tenantId, e.actor, e.action, e.target ?? '', e.outcome ?? 'ok', e.requestId ?? null, e.details ? JSON.stringify(e.details) : null,
    ]);
  };
}
