import { AppError } from '../server/domain/errors.js';

/**
 * Stable codes of flow validation errors. Each error is an {@link AppError}
 * of kind `invalid`; `details.node` names the node when one is at fault and
 * `details.field` the field inside it.
 */
export const FLOW_ERROR = {
  invalidFlow: 'ivr.invalid_flow',
  invalidNodeId: 'ivr.invalid_node_id',
  unknownNodeType: 'ivr.unknown_node_type',
  invalidField: 'ivr.invalid_field',
  unknownField: 'ivr.unknown_field',
  missingStart: 'ivr.missing_start',
  missingTarget: 'ivr.missing_target',
  unreachableNode: 'ivr.unreachable_node',
  loopWithoutExit: 'ivr.loop_without_exit',
  unknownPrompt: 'ivr.unknown_prompt',
  badPattern: 'ivr.bad_pattern',
  badTemplate: 'ivr.bad_template',
  badUrl: 'ivr.bad_url',
  unknownCalendar: 'ivr.unknown_calendar',
} as const;

export type FlowErrorCode = (typeof FLOW_ERROR)[keyof typeof FLOW_ERROR];

/** A flow validation error naming the node (when any) and the field. */
export function flowError(
  code: FlowErrorCode,
  message: string,
  details: { node?: string | undefined; field?: string | undefined } & Record<string, unknown>,
): AppError {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) if (v !== undefined) clean[k] = v;
  const where = details.node === undefined ? '' : `node "${details.node}": `;
  return new AppError('invalid', code, `${where}${message}`, { details: clean });
}
