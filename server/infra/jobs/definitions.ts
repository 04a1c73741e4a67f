/**
 * Every background job: its name, the job queue it runs on, and its payload
 * type. This file is the registry — adding a job means adding it here, and the
 * job runtime refuses to start unless exactly one handler is registered for
 * every job named here (and none for a job not named here).
 */
export interface JobPayloads {
  /** Record that an API key was used; deduplicated per key per minute. */
  'api-key.touch': { tenantId: number; keyId: string; at: string };
  /**
   * Delete recordings past their retention (repeatable, every IPCC_RECORDING_RETENTION_EVERY_MINUTES,
   * or asked for by an admin); idempotent. Scheduled runs carry no run id and use the job's.
   */
  'recording.retention': { tenantId: number; trigger: 'schedule' | 'manual'; runId?: string; requestedBy?: string };
  /** A callback's next dial attempt is due (delayed by IPCC_CALLBACK_RETRY_SECONDS); idempotent. */
  'voice.callback_due': { tenantId: number; callbackId: string };
}

export type JobName = keyof JobPayloads;

export const JOB_QUEUES = {
  'api-key.touch': 'maintenance',
  'recording.retention': 'maintenance',
  'voice.callback_due': 'voice',
} as const satisfies Record<JobName, string>;

export type JobQueueName = (typeof JOB_QUEUES)[JobName];

export const JOB_NAMES = Object.keys(JOB_QUEUES) as JobName[];
