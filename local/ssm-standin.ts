import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalStandIn } from './local-server';

/** A managed instance as the stand-in knows it. */
export interface FakeInstance {
  InstanceId: string;
  ComputerName: string;
  IPAddress: string;
  PingStatus?: 'Online' | 'ConnectionLost' | 'Inactive';
  PlatformType?: 'Linux' | 'Windows';
  tags: Record<string, string>;
}

/** What a command does when it runs: final status, exit code, output, and how long it takes. */
export interface CommandScript {
  status: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  exitCode: number;
  stdout: string;
  stderr?: string;
  /** Milliseconds until the invocation finishes (InProgress until then). */
  takesMs?: number;
}

interface FakeCommand {
  CommandId: string;
  DocumentName: string;
  Comment: string;
  InstanceIds: string[];
  Parameters: Record<string, string[]>;
  RequestedDateTime: number;
  script: CommandScript;
}

/**
 * A local stand-in for AWS Systems Manager speaking its JSON protocol (`X-Amz-Target: AmazonSSM.*`),
 * for the real `@aws-sdk/client-ssm` to talk to through its endpoint setting. It knows the calls
 * restart-host makes (DescribeInstanceInformation, SendCommand, ListCommands, GetCommandInvocation)
 * and GetParameter, PutParameter (npm run setup). Tests set the fleet, what commands do, throttling, and documents whose
 * parameters carry an allowedPattern.
 */
export class SsmStandIn extends LocalStandIn {
  instances: FakeInstance[] = [];
  parameters = new Map<string, string>();
  /** The type PutParameter gave each parameter (GetParameter answers SecureString for the others). */
  readonly types = new Map<string, string>();
  readonly commands: FakeCommand[] = [];
  /** Every call received, in order: the operation and its input. */
  readonly calls: Array<{ operation: string; input: Record<string, unknown> }> = [];
  /** What the next command sent will do. */
  nextScript: CommandScript = { status: 'Success', exitCode: 0, stdout: '' };
  /** Answers this many calls of an operation with ThrottlingException first. */
  throttle = new Map<string, number>();
  /** Carries out this many calls of an operation, then answers them with InternalServerError: a lost answer. */
  loseAnswers = new Map<string, number>();
  /** Carries out this many calls of an operation, then answers 200 with a body cut short: an answer that cannot be read. */
  cutAnswers = new Map<string, number>();
  /** Custom command documents: each parameter's `allowedPattern`, which SendCommand enforces like SSM. */
  documents = new Map<string, Record<string, { allowedPattern?: string }>>();
  /** Every answer waits this long first: SSM's round trip from a Lambda is some tens of ms, not 0. */
  delayMs = 0;

  reset(): void {
    this.commands.length = 0;
    this.calls.length = 0;
    this.throttle.clear();
    this.loseAnswers.clear();
    this.cutAnswers.clear();
    this.documents.clear();
    this.nextScript = { status: 'Success', exitCode: 0, stdout: '' };
  }

  sent(): FakeCommand[] {
    return this.commands;
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^AmazonSSM\./, '');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    const fail = (type: string, message: string) => send(400, { __type: type, message });
    if (!target.startsWith('AmazonSSM.') || !/^AWS4-HMAC-SHA256 /.test(String(req.headers.authorization ?? ''))) {
      return fail('UnrecognizedClientException', 'missing target or signature');
    }
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    this.calls.push({ operation, input });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const throttled = this.throttle.get(operation) ?? 0;
    if (throttled > 0) {
      this.throttle.set(operation, throttled - 1);
      return fail('ThrottlingException', 'Rate exceeded');
    }
    try {
      const handler = this.operations[operation];
      if (!handler) return fail('InvalidAction', `${operation} is not supported by the stand-in`);
      const answer = handler(input);
      const lost = this.loseAnswers.get(operation) ?? 0;
      if (lost > 0) {
        this.loseAnswers.set(operation, lost - 1);
        return send(500, { __type: 'InternalServerError', message: 'the request was carried out, but this answer is lost' });
      }
      const cut = this.cutAnswers.get(operation) ?? 0;
      if (cut > 0) {
        this.cutAnswers.set(operation, cut - 1);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        return void res.end(JSON.stringify(answer).slice(0, 20));
      }
      send(200, answer);
    } catch (error) {
      const { type, message } = error as { type?: string; message: string };
      fail(type ?? 'InternalServerError', message);
    }
  }

  private readonly operations: Record<string, (input: Record<string, unknown>) => object> = {
    GetParameter: (input) => {
      const value = this.parameters.get(String(input.Name));
      if (value === undefined) throw Object.assign(new Error(`Parameter ${input.Name} not found.`), { type: 'ParameterNotFound' });
      return { Parameter: { Name: input.Name, Type: this.types.get(String(input.Name)) ?? 'SecureString', Value: value, Version: 1 } };
    },
    // As SSM: an existing name is refused unless Overwrite is true, so a create never clobbers.
    PutParameter: (input) => {
      const name = String(input.Name);
      if (this.parameters.has(name) && input.Overwrite !== true) {
        throw Object.assign(new Error('The parameter already exists. To overwrite this value, set the overwrite option in the request to true.'), { type: 'ParameterAlreadyExists' });
      }
      this.parameters.set(name, String(input.Value));
      this.types.set(name, String(input.Type ?? this.types.get(name) ?? 'String'));
      return { Version: 1, Tier: 'Standard' };
    },
    DescribeInstanceInformation: (input) => {
      const filters = (input.Filters ?? []) as Array<{ Key: string; Values: string[] }>;
      const matching = this.instances.filter((instance) =>
        filters.every(({ Key, Values }) => {
          if (Key === 'InstanceIds') return Values.includes(instance.InstanceId);
          if (Key === 'PingStatus') return Values.includes(instance.PingStatus ?? 'Online');
          if (Key.startsWith('tag:')) return Values.includes(instance.tags[Key.slice(4)] ?? '\u0000');
          if (Key === 'tag-key') return Values.some((key) => key in instance.tags);
          throw Object.assign(new Error(`filter key ${Key} not supported`), { type: 'InvalidInstanceInformationFilterValue' });
        }),
      );
      return this.page(matching, input, 'InstanceInformationList', ({ tags: _tags, ...info }) => ({ PingStatus: 'Online', PlatformType: 'Linux', ResourceType: 'EC2Instance', ...info }));
    },
    SendCommand: (input) => {
      const ids = (input.InstanceIds ?? []) as string[];
      const unknown = ids.filter((id) => !this.instances.some((i) => i.InstanceId === id));
      if (ids.length === 0 || unknown.length > 0) throw Object.assign(new Error(`unknown instances ${unknown.join(',')}`), { type: 'InvalidInstanceId' });
      this.checkParameters(String(input.DocumentName), (input.Parameters ?? {}) as Record<string, string[]>);
      const command: FakeCommand = {
        CommandId: randomUUID(),
        DocumentName: String(input.DocumentName),
        Comment: String(input.Comment ?? ''),
        InstanceIds: ids,
        Parameters: (input.Parameters ?? {}) as Record<string, string[]>,
        RequestedDateTime: Date.now() / 1000,
        script: this.nextScript,
      };
      this.commands.push(command);
      return { Command: this.describe(command) };
    },
    ListCommands: (input) => {
      const filters = (input.Filters ?? []) as Array<{ key: string; value: string }>;
      // Timestamps only in the form SSM's documentation gives (2024-07-07T00:00:00Z), which is all we can vouch for.
      const badTime = filters.find(({ key, value }) => key.startsWith('Invoked') && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value));
      if (badTime) throw Object.assign(new Error(`${badTime.key} must look like 2024-07-07T00:00:00Z, got ${badTime.value}`), { type: 'InvalidFilterValue' });
      const matching = this.commands
        .filter((c) => !input.CommandId || c.CommandId === input.CommandId)
        .filter((c) => !input.InstanceId || c.InstanceIds.includes(String(input.InstanceId)))
        .filter((c) =>
          filters.every(({ key, value }) => {
            if (key === 'InvokedAfter') return c.RequestedDateTime * 1000 >= Date.parse(value);
            if (key === 'InvokedBefore') return c.RequestedDateTime * 1000 <= Date.parse(value);
            if (key === 'DocumentName') return c.DocumentName === value;
            return true;
          }),
        )
        .reverse(); // newest first, like SSM
      return this.page(matching, input, 'Commands', (c) => this.describe(c));
    },
    GetCommandInvocation: (input) => {
      const command = this.commands.find((c) => c.CommandId === input.CommandId && c.InstanceIds.includes(String(input.InstanceId)));
      if (!command) throw Object.assign(new Error('Invocation does not exist'), { type: 'InvocationDoesNotExist' });
      const done = this.finished(command);
      const { script } = command;
      return {
        CommandId: command.CommandId,
        InstanceId: input.InstanceId,
        Comment: command.Comment,
        DocumentName: command.DocumentName,
        Status: done ? script.status : 'InProgress',
        StatusDetails: done ? script.status : 'InProgress',
        ResponseCode: done ? script.exitCode : -1,
        StandardOutputContent: done ? script.stdout : '',
        StandardErrorContent: done ? (script.stderr ?? '') : '',
      };
    },
  };

  /** SSM refuses a value that does not match its document parameter's allowedPattern (each item of a list). */
  private checkParameters(document: string, parameters: Record<string, string[]>): void {
    const declared = this.documents.get(document);
    if (!declared) return;
    for (const [name, values] of Object.entries(parameters)) {
      const pattern = declared[name]?.allowedPattern;
      const bad = pattern === undefined ? undefined : values.find((value) => !new RegExp(pattern).test(value));
      if (bad !== undefined) throw Object.assign(new Error(`Parameter "${name}" "${bad}" failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`), { type: 'InvalidParameters' });
    }
  }

  private finished(command: FakeCommand): boolean {
    return Date.now() - command.RequestedDateTime * 1000 >= (command.script.takesMs ?? 0);
  }

  private describe(command: FakeCommand): object {
    const { script, ...rest } = command;
    return { ...rest, Status: this.finished(command) ? script.status : 'InProgress', DocumentVersion: '$DEFAULT' };
  }

  private page<T>(items: T[], input: Record<string, unknown>, key: string, map: (item: T) => object): object {
    const size = Math.min(Number(input.MaxResults ?? 50), 50);
    const start = Number(input.NextToken ?? 0);
    const next = start + size < items.length ? String(start + size) : undefined;
    return { [key]: items.slice(start, start + size).map(map), ...(next && { NextToken: next }) };
  }
}
