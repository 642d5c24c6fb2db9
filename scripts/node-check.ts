/** The Node major the project runs on: the Lambda runtime's (serverless.yml), installed by `npm ci`. */
export const NODE_MAJOR = 24;

/**
 * Why this Node cannot run the scripts, or undefined. `npm run` puts node_modules/.bin first on
 * PATH, where `npm ci` links Node 24 from the `node` package; that package installs its binary from
 * an install script, so after `npm ci --ignore-scripts` the machine's own Node runs instead, and
 * the local stack dies later with "No such built-in module: node:sqlite".
 */
export function nodeProblem(version: string, execPath: string): string | undefined {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= NODE_MAJOR) return undefined;
  return [
    `this is Node ${version} (${execPath}), but flashduty-actions needs Node ${NODE_MAJOR}, the Lambda runtime's.`,
    '`npm ci` installs it into node_modules, whatever Node the machine has, through the `node` package\'s install script.',
    'If you ran `npm ci --ignore-scripts`, run `npm rebuild node` (that one script), or run `npm ci` again;',
    `or install Node ${NODE_MAJOR} on the machine (e.g. \`nvm install ${NODE_MAJOR}\`).`,
  ].join('\n');
}

/** Exits with what to do when the running Node is too old; called first by every script. */
export function checkNode(): void {
  const problem = nodeProblem(process.version, process.execPath);
  if (!problem) return;
  console.error(problem);
  process.exit(1);
}
