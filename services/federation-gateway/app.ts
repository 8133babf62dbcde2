/**
 * federation-gateway: one front door to the federated services. `/v1/route/<peer>/<path>` is forwarded to
 * `<path>` on that peer with the same method, query and JSON body, and the peer's status and body come back (a
 * 451 with its Link and Cache-Control headers).
 * The caller must satisfy the law at the gateway like anywhere else; the kit's peer client then presents the
 * handshake on the routed call, because the peer trusts the gateway no more than anyone else (zero trust).
 * Only the peers this service is configured with (N3XUS_PEERS) are reachable: it is not an open proxy. Each routed
 * call is signed as forwarded for the original caller (anonymous when unidentified), so that the peer's rate limit
 * spends that caller's budget, not the gateway's.
 */
import { HttpError, defineService, forwardedFor, type CallerCheck } from '@n3xus/kit';

const ROUTED_BY = 'federation-gateway';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export default defineService({
  routes(router, { peers }) {
    router.get('/routes', (_req, res) => {
      res.json({ routes: peers.names().map((peer) => ({ peer, prefix: `/v1/route/${peer}/` })) });
    });

    // Express 5 syntax: `{/*rest}` is an optional wildcard whose value is the array of decoded path segments.
    router.all('/route/:peer{/*rest}', async (req, res) => {
      res.set('X-N3XUS-Routed-By', ROUTED_BY);
      const { peer } = req.params;
      if (!peers.has(peer)) throw new HttpError(404, 'UNKNOWN_PEER', `No federated service named ${JSON.stringify(peer.slice(0, 64))} is routed here.`);
      if (!METHODS.has(req.method)) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not routed.`);
      const segments = (req.params as { rest?: string[] }).rest ?? [];
      if (segments.some((s) => s === '.' || s === '..')) throw new HttpError(400, 'INVALID_PATH', 'Dot segments are not routed.');
      // Segments arrive decoded; re-encode each so that `did:n3xus:…` or a `/` inside a segment reach the peer intact.
      const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
      const path = '/' + segments.map(encodeURIComponent).join('/') + query;
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined;
      // A peer that cannot be reached raises PeerUnavailableError, which the kit answers with 502.
      // Signed for the original caller, so that the peer limits the caller and not the gateway (see caller.ts).
      const onBehalfOf = forwardedFor(res.locals.caller as CallerCheck | undefined);
      const answer = await peers.call(peer, path, { method: req.method, body: hasBody ? req.body : undefined, requestId: String(res.locals.requestId), onBehalfOf });

      res.status(answer.status);
      const location = answer.headers.get('location');
      if (location?.startsWith('/')) res.location(`/v1/route/${peer}${location}`);
      // A peer's law refusal comes through whole: RFC 7725's blocked-by Link is part of what a 451 means, and
      // `no-store` keeps caches from holding on to a refusal. The Link stays as the peer wrote it, not rewritten
      // like Location: the gateway serves the same law at the same path, outside the law, whereas a link under
      // /v1/route/<peer>/ would itself need the handshake that the refused caller may lack.
      if (answer.status === 451) {
        for (const header of ['link', 'cache-control']) {
          const value = answer.headers.get(header);
          if (value !== null) res.set(header, value);
        }
      }
      const contentType = answer.headers.get('content-type') ?? '';
      if (answer.status === 204 || answer.status === 304 || req.method === 'HEAD') res.end();
      else if (contentType.includes('json')) res.json(answer.body);
      else res.type(contentType || 'text/plain').send(String(answer.body ?? ''));
    });
  },
});
