// Imported first by scripts/bench.ts: the local stacks it runs in its own process (end to end,
// drain) log nothing and emit no metric lines, whose module-scope logger and metrics read these at
// import. The targets it measures in child processes get their own settings.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
