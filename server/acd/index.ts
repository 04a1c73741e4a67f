/**
 * The pure ACD core's public API. The shell (Redis live state, lease, API,
 * CLI) uses only what is exported here.
 */
export type { AgingConfig, RouterConfig, RouterConfigInput } from './config.js';
export { agingBoundMs, createRouterConfig, DEFAULT_OFFER_TIMEOUT_MS } from './config.js';
export type { RouterDecision, TaskRemovedReason } from './decisions.js';
export type { RouterEvent, RouterEventType, TimedEvent } from './events.js';
export type { RouteResult } from './router.js';
export { createRouterState, nextDueAt, route } from './router.js';
export type { RouterState } from './state.js';
export type { AgentSnapshot, RouterSnapshot, TaskSnapshot } from './snapshot.js';
export { exportSnapshot, restoreRouterState } from './snapshot.js';
export type { Eligibility, EligibilityOptions, IneligibleReason } from './eligibility.js';
export { explainEligibility } from './eligibility.js';
export type { AgentView, QueueLoad, TaskView } from './inspect.js';
export { agentView, queueLoad, routerNow, taskView, waitingTaskIds } from './inspect.js';
export type { DecisionDiff, RecordedDecision, TaskDifference, TaskOutcome } from './replay.js';
export { canonicalJson, diffDecisions, replay } from './replay.js';
export type { Prng } from './prng.js';
export { createPrng } from './prng.js';
export type { SimAgent, SimAgentReport, SimArrivalStream, SimQueueReport, SimReport, SimScenario } from './simulate.js';
export { simulate } from './simulate.js';
export type { WaitEstimate, WaitEstimateInput, WaitSample } from './estimate-wait.js';
export { estimateWait } from './estimate-wait.js';
