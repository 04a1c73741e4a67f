import { withTx, type Pool, type RowDataPacket } from '../../infra/mysql.js';

const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

export function createFlowStore(pool: Pool) {
  return {
    /** Stores a new immutable version (numbered after the last one) and returns its number. */
    async addVersion(tenantId: number, flowId: string, name: string, body: unknown, by: string): Promise<number> {
      return withTx(pool, async (conn) => {
        await conn.query('INSERT INTO ivr_flows (tenant_id, id, name) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)', [tenantId, flowId, name]);
        const [rows] = await conn.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM ivr_flow_versions WHERE tenant_id = ? AND flow_id = ? FOR UPDATE', [tenantId, flowId]);
        const version = Number(rows[0]?.v ?? 1);
        await conn.query('INSERT INTO ivr_flow_versions (tenant_id, flow_id, version, body, created_by) VALUES (?, ?, ?, ?, ?)', [tenantId, flowId, version, JSON.stringify({ ...(body as object), version }), by]);
        return version;
      });
    },
    async getVersion(tenantId: number, flowId: string, version: number): Promise<{ body: unknown; createdBy: string; createdAt: string | null } | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT body, created_by, created_at FROM ivr_flow_versions WHERE tenant_id = ? AND flow_id = ? AND version = ?', [tenantId, flowId, version]);
      const r = rows[0];
      return r && { body: json(r.body), createdBy: String(r.created_by), createdAt: iso(r.created_at) };
    },
    async getFlow(tenantId: number, flowId: string) {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT id, name, published_version, updated_at FROM ivr_flows WHERE tenant_id = ? AND id = ?', [tenantId, flowId]);
      const r = rows[0];
      if (!r) return undefined;
      const [versions] = await pool.query<RowDataPacket[]>('SELECT version, created_by, created_at FROM ivr_flow_versions WHERE tenant_id = ? AND flow_id = ? ORDER BY version', [tenantId, flowId]);
      const [pubs] = await pool.query<RowDataPacket[]>('SELECT version, published_by, published_at FROM ivr_flow_publications WHERE tenant_id = ? AND flow_id = ? ORDER BY id', [tenantId, flowId]);
      return {
        id: String(r.id),
        name: String(r.name),
        publishedVersion: r.published_version == null ? null : Number(r.published_version),
        versions: versions.map((v) => ({ version: Number(v.version), createdBy: String(v.created_by), createdAt: iso(v.created_at) })),
        publications: pubs.map((p) => ({ version: Number(p.version), publishedBy: String(p.published_by), publishedAt: iso(p.published_at) })),
      };
    },
    async listFlows(tenantId: number) {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT f.id, f.name, f.published_version, (SELECT MAX(version) FROM ivr_flow_versions v WHERE v.tenant_id = f.tenant_id AND v.flow_id = f.id) AS latest FROM ivr_flows f WHERE f.tenant_id = ? ORDER BY f.id',
        [tenantId],
      );
      return rows.map((r) => ({ id: String(r.id), name: String(r.name), publishedVersion: r.published_version == null ? null : Number(r.published_version), latestVersion: Number(r.latest ?? 0) }));
    },
    async publish(tenantId: number, flowId: string, version: number, by: string): Promise<void> {
      await withTx(pool, async (conn) => {
        await conn.query('UPDATE ivr_flows SET published_version = ? WHERE tenant_id = ? AND id = ?', [version, tenantId, flowId]);
        await conn.query('INSERT INTO ivr_flow_publications (tenant_id, flow_id, version, published_by) VALUES (?, ?, ?, ?)', [tenantId, flowId, version, by]);
      });
    },
  };
}

export type FlowStore = ReturnType<typeof createFlowStore>;
