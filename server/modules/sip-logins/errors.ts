import { AppError } from '../../domain/errors.js';

/** Stable codes of the SIP login API. */
export const sipLoginErrors = {
  agentNotFound: (agentId: string) =>
    new AppError('not_found', 'agent_not_found', `No agent ${agentId}; create it with PUT /v1/agents/${agentId} first.`, { details: { field: 'params.id' } }),
  notFound: (agentId: string) => new AppError('not_found', 'sip_login_not_found', `Agent ${agentId} has no SIP login.`),
  noTelephony: () =>
    new AppError('unavailable', 'sip_login_no_telephony', 'No Asterisk server is configured, so SIP logins cannot be provisioned.'),
  provisioningFailed: (agentId: string, cause: unknown) =>
    new AppError(
      'unavailable',
      'sip_login_provisioning_failed',
      `The SIP login of agent ${agentId} is saved but Asterisk could not be updated; retry, or let the reconciler finish it.`,
      { details: { agentId, ariCode: cause instanceof AppError ? cause.code : undefined }, cause },
    ),
};
