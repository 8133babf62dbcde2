/**
 * The inter-service checks of `--full`, as request flows whose answers go to the pure judges: a request routed
 * through federation-gateway, and an event carried from event-bus through webhook-dispatcher to audit-trail.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ask } from './ask.ts';
import { createdId, isRecorded, judgeEventDelivery, judgeRoute, LAW_PROBE_PATH, publishedEventId, type DeliveryObservation } from './judge.ts';
import type { CheckResult, VerifyTarget } from './types.ts';

/** Asks `gateway` for the health and a protected route of `peer`, through `/v1/route/<peer>/…`. */
export async function checkRoute(ask: Ask, gateway: VerifyTarget, peer: string, headers: Record<string, string>): Promise<CheckResult> {
  const base = `${gateway.url}/v1/route/${encodeURIComponent(peer)}`;
  const [health, protectedRoute] = await Promise.all([ask(`${base}/health`, { headers }), ask(`${base}${LAW_PROBE_PATH}`, { headers })]);
  return judgeRoute({ gateway: gateway.name, peer, health, protectedRoute });
}

export interface DeliveryTargets {
  bus: VerifyTarget;
  dispatcher: VerifyTarget;
  audit: VerifyTarget;
  /** audit-trail's base URL as the dispatcher reaches it (inside the fleet's network). */
  auditUrlForDispatcher: string;
}

/**
 * Subscribes audit-trail's ingest endpoint to a fresh topic on webhook-dispatcher, publishes one event on
 * event-bus, and polls audit-trail until it has recorded the event or `waitMs` (milliseconds) have passed. The
 * webhook is deactivated afterwards, so verification leaves no live subscription behind.
 */
export async function checkEventDelivery(ask: Ask, targets: DeliveryTargets, headers: Record<string, string>, waitMs: number): Promise<CheckResult> {
  const { bus, dispatcher, audit } = targets;
  const topic = `n3xus-verify.${randomBytes(6).toString('hex')}`;
  const json = { ...headers, 'content-type': 'application/json' };
  const observation: DeliveryObservation = {
    bus: bus.name,
    dispatcher: dispatcher.name,
    audit: audit.name,
    topic,
    subscribe: await ask(`${dispatcher.url}/v1/webhooks`, { method: 'POST', headers: json, body: JSON.stringify({ topic, url: `${targets.auditUrlForDispatcher}/v1/ingest/events` }) }),
    waitedMs: 0,
  };
  const webhookId = createdId(observation.subscribe);
  if (webhookId === undefined) return judgeEventDelivery(observation);
  try {
    const payload = { check: 'n3xus verify --full', at: new Date().toISOString() };
    observation.publish = await ask(`${bus.url}/v1/topics/${topic}/events`, { method: 'POST', headers: json, body: JSON.stringify({ payload }) });
    const eventId = publishedEventId(observation.publish);
    if (eventId === undefined) return judgeEventDelivery(observation);
    const publishedAt = performance.now();
    // Delivery takes a few milliseconds on a healthy fleet: look often at first, then back off.
    for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 100)) {
      observation.observed = await ask(`${audit.url}/v1/ingest/events/${eventId}`, { headers });
      observation.waitedMs = performance.now() - publishedAt;
      if (isRecorded(observation.observed, eventId) || observation.waitedMs >= waitMs) break;
      await sleep(Math.min(delayMs, Math.max(0, waitMs - observation.waitedMs)));
    }
    if (!isRecorded(observation.observed, eventId)) {
      observation.deliveries = await ask(`${dispatcher.url}/v1/deliveries?eventId=${eventId}`, { headers });
    }
    return judgeEventDelivery(observation);
  } finally {
    await ask(`${dispatcher.url}/v1/webhooks/${webhookId}`, { method: 'DELETE', headers });
  }
}
