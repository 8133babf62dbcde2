export { z } from 'zod';
// The resilience building blocks, for services with retry policies of their own (webhook delivery).
export { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
export type { PoolClient } from 'pg';
export { canonicalJson } from './canonical-json.ts';
export { Cache, type RateDecision } from './cache.ts';
export {
  ANONYMOUS,
  bucketOf,
  CALLER_HEADER,
  callerKeyFromSeed,
  callerPublicKey,
  checkCaller,
  DEFAULT_RELAYS,
  forwardedFor,
  MAX_SKEW_MS,
  OPERATOR_CALLER,
  parseCallerKeys,
  rememberingChecker,
  reusingSigner,
  signCall,
  type CallerCheck,
  type CallerKey,
  type CallerKeys,
} from './caller.ts';
export { PING_DEADLINE_MS, PING_TIMEOUT_MS, type CallReport, type CallsReport } from './calls.ts';
export { CALLS_PATH, KIT_PATH, PING_PATH } from './kit-routes.ts';
export { ConfigError, parseHostList, parsePeers, readConfig, type HostEntry, type KitConfig, type LogLevel } from './config.ts';
export { Database, DependencyUnavailableError, schemaName, type DependencyStatus, type Migration } from './db.ts';
export { f } from './fields.ts';
export { HttpError, errorBody, toHttpError } from './errors.ts';
export {
  HANDSHAKE_ENV,
  HANDSHAKE_HEADER,
  LAW_EXIT_CODE,
  LAW_LINK_PATH,
  LAW_REFUSAL_BODY,
  MAX_HANDSHAKE_LENGTH,
  N3XUS_LAW,
  buildTimeLawCheckScript,
  handshakeFault,
  requestHandshakeFault,
  type HandshakeFault,
} from './law.ts';
export { Logger, type LogFields } from './log.ts';
export { Metrics } from './metrics.ts';
export { PeerUnavailableError, Peers, type PeerRequest, type PeerResponse } from './peers.ts';
export { RESOURCES_PATH, bodyOf, boundedInt, describeResources, resourcePath, type ResourceDescription, type ResourceRecord, type ResourceSchema } from './resources.ts';
export { isCircuitOpen, resilience, type Resilience, type ResilienceOptions } from './resilience.ts';
export {
  LawViolationError,
  defineService,
  main,
  startService,
  type ReadyBody,
  type RunningService,
  type ServiceContext,
  type ServiceDefinition,
} from './service.ts';
