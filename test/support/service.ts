import { Logger, N3XUS_LAW, startService, type KitConfig, type RunningService, type ServiceDefinition } from '@n3xus/kit';

/** Log lines a test service wrote, parsed. */
export type LogLines = Array<Record<string, unknown>>;

/** Starts a real service on a free loopback port; its log lines are collected instead of printed. */
export async function startTestService(
  definition: ServiceDefinition,
  overrides: Partial<KitConfig> & { service: string },
): Promise<{ svc: RunningService; logs: LogLines }> {
  const config: KitConfig = {
    port: 0,
    host: '127.0.0.1',
    handshake: N3XUS_LAW,
    databaseUrl: undefined,
    redisUrl: undefined,
    peers: {},
    rateLimitPerMinute: 100_000,
    shutdownGraceMs: 1000,
    logLevel: 'debug',
    webhookAllowedHosts: [],
    ...overrides,
  };
  const logs: LogLines = [];
  const log = new Logger(config.service, config.logLevel, (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const svc = await startService(definition, config, log);
  return { svc, logs };
}

/** Headers that satisfy the law. */
export const lawful = { 'x-n3xus-handshake': N3XUS_LAW };
