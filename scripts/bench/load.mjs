// Load generator, in its own process so it does not share an event loop with the server under
// test. Receives {url, count, concurrency, warmup, token, templates} over IPC; sends back the
// latency, status and template index of every request (ms) and the wall time. Request i uses
// templates[i % templates.length], with a fresh event id and time.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

process.once('message', async ({ url, count, concurrency, warmup, token, templates }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const once = (variant) =>
    new Promise((resolve, reject) => {
      const body = templates[variant].replace('__EVENT_ID__', randomUUID()).replace('__EVENT_TIME__', String(Date.now()));
      const started = process.hrtime.bigint();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode, variant }));
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
          results.push(await once(next++ % templates.length));
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
  process.send({ latencies: results.map((r) => r.ms), statuses: results.map((r) => r.status), variants: results.map((r) => r.variant), wallMs }, () => process.exit(0));
});
