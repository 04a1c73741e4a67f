import { AppError } from '../../domain/errors.js';

export interface FlowProblem {
  code: string;
  message: string;
  node?: string;
  field?: string;
}

export const flowErrors = {
  invalid: (problems: FlowProblem[]) =>
    new AppError('invalid', 'flow_invalid', `The flow has ${problems.length} problem(s): ${problems.slice(0, 3).map((p) => `${p.node ? `node ${p.node}: ` : ''}${p.message}`).join('; ')}`, { details: { problems } }),
  idMismatch: (path: string, body: unknown) =>
    new AppError('invalid', 'flow_id_mismatch', `The flow's id (${String(body)}) must equal the id in the path (${path}).`, { details: { field: 'body.id' } }),
  malformedYaml: (detail: string) => new AppError('invalid', 'malformed_yaml', `The body is not valid YAML: ${detail}`, { details: { field: 'body' } }),
  notFound: (id: string) => new AppError('not_found', 'flow_not_found', `No IVR flow "${id}".`, { details: { id } }),
  versionNotFound: (id: string, version: number) => new AppError('not_found', 'flow_version_not_found', `Flow "${id}" has no version ${version}.`, { details: { id, version } }),
  nothingToRollBack: (id: string) => new AppError('conflict', 'flow_no_previous_version', `Flow "${id}" has no earlier published version to roll back to.`, { details: { id } }),
};
