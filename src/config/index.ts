// The configuration module's public surface: schema, types, defaults and loading.
export { configSchema, TIMING_DEFAULTS, LIMITS_DEFAULTS, LOG_LEVELS } from './schema.ts';
export type { Config, ConfigInput, MemberConfig, TimingConfig, LimitsConfig } from './schema.ts';
export { coreConfigOf } from './core-config.ts';
export { loadConfig, parseConfig, readConfigFile, envOverrides, setOverrides, configLeaves, RESERVED_ENV } from './load.ts';
export type { LoadConfigOptions, ConfigLeaf } from './load.ts';
export { suggest, editDistance } from './suggest.ts';
