// Runs the fauxqs SQS emulator in its own process (it is ESM-only, and a separate process is also
// closer to the real thing). Prints {"address": "..."} once listening, or {"error": code, "message"}
// when it cannot listen; exits when stdin closes, so it never outlives the process that started it.
import net from 'node:net';
import { startFauxqs } from 'fauxqs';

// fauxqs always listens on 0.0.0.0, and it accepts any credentials: keep it on the loopback
// interface, like every other local server. (Only this process's servers are affected.)
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [options] = args;
  if (options && typeof options === 'object' && ['0.0.0.0', '::'].includes(options.host)) args[0] = { ...options, host: '127.0.0.1' };
  return listen.apply(this, args);
};

process.removeAllListeners('warning'); // node:sqlite's "experimental" notice, printed once per start
let server;
try {
  server = await startFauxqs({ port: Number(process.env.FAUXQS_PORT ?? 0), logger: false });
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error?.code ?? 'ERROR', message: String(error?.message ?? error) })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.stop().finally(() => process.exit(0)));
process.on('SIGTERM', () => server.stop().finally(() => process.exit(0)));
