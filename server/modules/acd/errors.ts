import { AppError } from '../../domain/errors.js';

export const acdErrors = {
  unknownQueue: (queueId: string) =>
    new AppError('invalid', 'unknown_reference', `queueId names queue "${queueId}", which does not exist.`, { details: { field: 'body.queueId', kind: 'queue', id: queueId } }),
  unknownAgent: (agentId: string) => new AppError('not_found', 'agent_not_found', `No agent "${agentId}".`, { details: { id: agentId } }),
  notYourAgent: () => new AppError('forbidden', 'not_your_agent', 'Agents may act only for their own agent record; supervisors may act for any.'),
  noAgentForUser: () => new AppError('forbidden', 'no_agent_record', 'Your login is not linked to an agent record (PUT /v1/agents/{id} with userId).'),
  taskConflict: (id: string) =>
    new AppError('conflict', 'task_exists', `A different task with id "${id}" already exists; task ids are unique.`, { details: { id } }),
  taskNotFound: (id: string) => new AppError('not_found', 'task_not_found', `No task "${id}".`, { details: { id } }),
  offerNotFound: (id: string) => new AppError('not_found', 'offer_not_found', `No pending offer "${id}" for this agent.`, { details: { id } }),
  badTransition: (from: string, to: string) =>
    new AppError('conflict', 'presence.invalid_transition', `Cannot go from ${from} to ${to}.`, { details: { from, to } }),
  phoneNotRegistered: (agentId: string) =>
    new AppError('conflict', 'phone_not_registered', `Agent "${agentId}" has a SIP login but the phone is not registered; register the phone, then go ready.`, { details: { agentId } }),
  unknownDisposition: (code: string, allowed: string[]) =>
    new AppError('invalid', 'unknown_disposition', `"${code}" is not a disposition code of this queue; use one of: ${allowed.join(', ')}.`, { details: { field: 'body.code', allowed } }),
  notYourTask: (taskId: string) => new AppError('forbidden', 'not_your_task', `Task "${taskId}" was not handled by this agent.`, { details: { taskId } }),
  routerUnavailable: () => new AppError('unavailable', 'router_unavailable', 'The routing engine is not running yet for this tenant; retry shortly.'),
};
