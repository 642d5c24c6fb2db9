import { intVar, listVar, setBy, stringVar } from './env';

/**
 * Keys read by more than one function (or by a function and the deploy step). Each is declared
 * here once and spread into the schemas that read it, so it is documented once.
 */
export const ENABLED_ACTIONS = listVar(['echo'], 'Comma-separated actions to deploy and accept; others answer 404. Locally: all of them.');

export const SECRET_MAX_AGE_SECONDS = intVar(
  300,
  1,
  86_400,
  'How long a secret read from SSM is kept before it is read again (the receiver reloads its tokens in the background), so a rotation needs no redeploy.',
);

export const MAX_RECEIVE_COUNT = intVar(3, 1, 100, 'Deliveries before a click goes to the dead-letter queue (the redrive policy and the worker agree).');

/** Where the AWS SDK clients point. Lambda sets the region; the endpoint overrides are for the local stack and tests. */
export const AwsEnv = {
  AWS_REGION: setBy('lambda', stringVar('us-east-1', 'Region for SQS, SSM and DynamoDB, and of the stage the scripts look at.'), 'set by Lambda; `us-east-1`'),
  AWS_ENDPOINT_URL_SQS: setBy('local', stringVar(undefined, 'SQS endpoint override (the local stack and tests).')),
  AWS_ENDPOINT_URL_SSM: setBy('local', stringVar(undefined, 'SSM endpoint override (the local stack and tests).')),
};

/** Read by Powertools (and lib/observability.ts) in every function; serverless.yml sets the first two. */
export const PowertoolsEnv = {
  POWERTOOLS_SERVICE_NAME: setBy('stack', stringVar('flashduty-actions', 'Service name on log lines and metrics.'), '`flashduty-actions`'),
  POWERTOOLS_LOG_LEVEL: setBy('stack', stringVar('INFO', 'Log level (DEBUG, INFO, WARN, ERROR, SILENT); from LOG_LEVEL at deploy time.'), '`INFO`'),
  POWERTOOLS_METRICS_DISABLED: setBy('local', stringVar('false', 'Turns off the EMF metric lines (`true` in the local stack).'), '`false`'),
};
