// Runs the fauxqs SQS emulator in its own process (it is ESM-only, and a separate process is also
// closer to the real thing). Prints {"address": "..."} once listening; exits when stdin closes,
// so it never outlives the process that started it.
import { startFauxqs } from 'fauxqs';

process.removeAllListeners('warning'); // node:sqlite's "experimental" notice, printed once per start
const server = await startFauxqs({ port: Number(process.env.FAUXQS_PORT ?? 0), logger: false });
process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.stop().finally(() => process.exit(0)));
process.on('SIGTERM', () => server.stop().finally(() => process.exit(0)));
