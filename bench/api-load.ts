/**
 * The load generator of the API read phase (bench/api.ts), run as a child process so its CPU is
 * not the server's event loop: autocannon with `connections` keep-alive sockets, GETting the given
 * paths in turn, for a warm-up (discarded) and then the measured `seconds`. Prints one JSON line.
 *
 *   node --import tsx bench/api-load.ts '{"url":…,"paths":[…],"headers":{…},"connections":32,"seconds":10,"warmupSeconds":3}'
 */
import autocannon from 'autocannon';

export interface LoadSpec { url: string; paths: string[]; headers: Record<string, string>; connections: number; seconds: number; warmupSeconds: number }
export interface LoadResult { requests: number; warmupRequests: number; requestsPerSec: number; p50Ms: number; p99Ms: number; meanMs: number; non2xx: number; errors: number; timeouts: number }

async function run(spec: LoadSpec, seconds: number): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: spec.url, connections: spec.connections, duration: seconds, headers: spec.headers, timeout: 10,
    // Each request asks for the next user's page, so the users take turns (as many callers would).
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: spec.paths[next++ % spec.paths.length]! }) }],
  });
  return {
    requests: result.requests.total, warmupRequests: 0, requestsPerSec: Math.round(result.requests.total / seconds),
    p50Ms: result.latency.p50, p99Ms: result.latency.p99, meanMs: result.latency.average,
    non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts,
  };
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
const warmup = spec.warmupSeconds > 0 ? (await run(spec, spec.warmupSeconds)).requests : 0;
process.stdout.write(`${JSON.stringify({ ...(await run(spec, spec.seconds)), warmupRequests: warmup })}\n`);
