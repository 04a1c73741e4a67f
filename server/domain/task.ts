import type { Channel } from './channel.js';
import { isChannel } from './channel.js';
import { AppError } from './errors.js';
import type { SkillRequirement } from './skill.js';
import { validateRequirements } from './skill.js';

/**
 * The routable work item: one call, chat session, email, SMS or WeChat
 * conversation waiting for an agent. Times are epoch milliseconds.
 */
export interface Task {
  readonly id: string;
  readonly tenantId: string;
  readonly channel: Channel;
  readonly queueId: string;
  /** 0 (lowest) up to the router's `maxPriority`; higher is served first, subject to aging. */
  readonly priority: number;
  /** Skills this task needs on top of its queue's requirements. */
  readonly requiredSkills: readonly SkillRequirement[];
  /**
   * When the customer started waiting. Ranking uses this, so a callback or an
   * overflow that re-enqueues with the original time keeps its place.
   */
  readonly enqueuedAt: number;
  /** Last-agent preference: only this agent may take the task until `preferredUntil`. */
  readonly preferredAgentId?: string;
  readonly preferredUntil?: number;
  readonly interactionId: string;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function invalid(code: string, field: string, message: string): AppError {
  return new AppError('invalid', code, message, { details: { field } });
}

/** Checks a task's shape; returns an error value naming the field, or undefined. */
export function validateTask(task: Task, maxPriority: number): AppError | undefined {
  if (!nonEmpty(task.id)) return invalid('task.invalid_id', 'id', 'id must be a non-empty string');
  if (!nonEmpty(task.tenantId)) return invalid('task.invalid_tenant', 'tenantId', 'tenantId must be a non-empty string');
  if (!nonEmpty(task.queueId)) return invalid('task.invalid_queue', 'queueId', 'queueId must be a non-empty string');
  if (!nonEmpty(task.interactionId)) {
    return invalid('task.invalid_interaction', 'interactionId', 'interactionId must be a non-empty string');
  }
  if (!isChannel(task.channel)) return invalid('task.invalid_channel', 'channel', 'channel is not a known channel');
  if (!Number.isInteger(task.priority) || task.priority < 0 || task.priority > maxPriority) {
    return invalid('task.invalid_priority', 'priority', `priority must be an integer from 0 to ${maxPriority}`);
  }
  if (!Number.isFinite(task.enqueuedAt)) return invalid('task.invalid_time', 'enqueuedAt', 'enqueuedAt must be epoch ms');
  if (!Array.isArray(task.requiredSkills)) {
    return invalid('task.invalid_skills', 'requiredSkills', 'requiredSkills must be an array');
  }
  const skillError = validateRequirements(task.requiredSkills, 'requiredSkills');
  if (skillError !== undefined) return skillError;
  if (task.preferredAgentId !== undefined) {
    if (!nonEmpty(task.preferredAgentId)) {
      return invalid('task.invalid_preferred_agent', 'preferredAgentId', 'preferredAgentId must be a non-empty string');
    }
    if (task.preferredUntil === undefined || !Number.isFinite(task.preferredUntil)) {
      return invalid('task.invalid_preferred_until', 'preferredUntil', 'preferredUntil (epoch ms) goes with preferredAgentId');
    }
  }
  return undefined;
}
