// The client-facing limits of the RESP server, named as in the configuration
// (limits.*) so that every error message can say which key to change.
import { LIMITS_DEFAULTS, type LimitsConfig } from '../config/schema.ts';

export type RespLimits = Pick<LimitsConfig, 'maxClients' | 'maxValueBytes' | 'maxArgs' | 'maxInlineBytes' | 'maxQueuedCommands' | 'maxQueryBufferBytes'>;

export const RESP_LIMITS_DEFAULTS: RespLimits = {
  maxClients: LIMITS_DEFAULTS.maxClients,
  maxValueBytes: LIMITS_DEFAULTS.maxValueBytes,
  maxArgs: LIMITS_DEFAULTS.maxArgs,
  maxInlineBytes: LIMITS_DEFAULTS.maxInlineBytes,
  maxQueuedCommands: LIMITS_DEFAULTS.maxQueuedCommands,
  maxQueryBufferBytes: LIMITS_DEFAULTS.maxQueryBufferBytes,
};
