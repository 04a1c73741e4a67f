// Public entry of the pure IVR core: the shell (telephony executor, flow store, CLI) imports from here.
export { createSession, step, MAX_HOPS_PER_STEP, MAX_TYPE_AHEAD, DEFAULT_MAX_VISITS } from './engine.js';
export { validateFlow, parseFlow, FLOW_ID, NODE_ID } from './validate.js';
export type { FlowValidationContext } from './validate.js';
export { FLOW_ERROR } from './errors.js';
export type { FlowErrorCode } from './errors.js';
export { flowSchema } from './flow-schema.js';
export { simulate } from './simulate.js';
export type { SimulateOptions, SimulationResult } from './simulate.js';
export { NODE_TYPES } from './nodes/index.js';
export { SYSTEM_VARS } from './template.js';
export type * from './types.js';
