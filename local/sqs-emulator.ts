import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

/** A running SQS emulator: its endpoint and how to stop it. */
export interface SqsEmulator {
  endpoint: string;
  stop: () => Promise<void>;
}

/**
 * Starts fauxqs (a faithful SQS emulator: FIFO, deduplication, visibility, long polling, DLQ
 * redrive) in a child process and resolves with its endpoint. `port` 0 picks a free port.
 */
export async function startSqsEmulator(port = 0): Promise<SqsEmulator> {
  const child = spawn(process.execPath, [join(__dirname, 'fauxqs-process.mjs')], {
    env: { ...process.env, FAUXQS_PORT: String(port) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      let said: { address?: string; error?: string; message?: string };
      try {
        said = JSON.parse(line) as typeof said;
      } catch {
        return reject(new Error(`SQS emulator printed an unexpected line: ${line}`));
      }
      if (said.address) return resolve(said.address);
      // Same shape as a listen error in this process, so callers handle both alike.
      reject(Object.assign(new Error(`SQS emulator could not listen: ${said.message}`), { code: said.error }));
    });
    child.once('exit', (code) => reject(new Error(`SQS emulator exited with code ${code} before listening`)));
  });
  return {
    endpoint,
    stop: async () => {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
