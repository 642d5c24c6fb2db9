import { ScriptError } from './queues';

/**
 * A secret for a script, never echoed nor put on a command line (so never in shell history or a
 * process list): from `variable` in the environment, else the first line piped on stdin, else
 * typed at a prompt on the terminal with echo off.
 */
export async function readSecretInput(variable: string, prompt: string, env: NodeJS.ProcessEnv): Promise<string> {
  const given = env[variable]?.trim();
  if (given) return given;
  const value = process.stdin.isTTY ? await promptHidden(prompt) : await firstLine();
  if (!value) throw new ScriptError(`no value for ${variable}: type it at the prompt, pipe it on stdin, or export it first (read -rs ${variable}; export ${variable})`, 2);
  return value;
}

async function firstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.trim();
}

/** Reads one line in raw mode, printing nothing of what is typed; Ctrl-C aborts. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (finish: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      finish();
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(() => resolve(value.trim()));
        if (char === '\u0003') return done(() => reject(new ScriptError('cancelled', 130)));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
