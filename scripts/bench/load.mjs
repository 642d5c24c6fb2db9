// Load generator, in its own process so it does not share an event loop with the server under
// test. Receives {url, count, concurrency, warmup, token, template} over IPC; sends back the
// latency of every request (ms) and the wall time. Each request carries a fresh event id and time.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

process.once('message', async ({ url, count, concurrency, warmup, token, template }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const once = () =>
    new Promise((resolve, reject) => {
      const body = template.replace('__EVENT_ID__', randomUUID()).replace('__EVENT_TIME__', String(Date.now()));
      const started = process.hrtime.bigint();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const run = async (n) => {
    const results = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          results.push(await once());
        }
      }),
    );
    return results;
  };
  await run(warmup);
  const started = process.hrtime.bigint();
  const results = await run(count);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  agent.destroy();
  process.send({ latencies: results.map((r) => r.ms), statuses: results.map((r) => r.status), wallMs }, () => process.exit(0));
});
