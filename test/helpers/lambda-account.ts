/**
 * An AWS account's Lambda and IAM, as far as deploying the runner touches
 * them, behind real SDK clients whose `send` aws-sdk-client-mock records:
 * answers shaped as the real API's (GetFunction's Configuration with
 * CodeSha256, MemorySize, State, LastUpdateStatus...), its errors (typed
 * SDK exceptions), its rules (no change while an update is in progress;
 * PublishVersion returns the last version when nothing changed; a new role
 * may not be assumable yet), and a log of every command in order.
 */
import { createHash } from 'node:crypto';

import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  FunctionConfiguration,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  LambdaClient,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

/** One function: $LATEST, its published versions (index + 1 = version) and aliases. */
interface FakeFunction {
  latest: FunctionConfiguration;
  versions: FunctionConfiguration[];
  aliases: Map<string, string>;
  /** Reads of $LATEST that still see it busy after the last change. */
  busyReads: number;
}

/** A role and what is attached to it. */
export interface FakeRole {
  arn: string;
  trust: string;
  attached: string[];
  inline: Map<string, string>;
}

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** The fields a published version copies from $LATEST and that make two versions different. */
const VERSIONED = [
  'CodeSha256',
  'MemorySize',
  'Runtime',
  'Handler',
  'Timeout',
  'Role',
  'Architectures',
  'EphemeralStorage',
  'Environment',
] as const;

function sameVersion(a: FunctionConfiguration, b: FunctionConfiguration): boolean {
  return VERSIONED.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

/** An account with Lambda and IAM, attached to the clients given. */
export class FakeLambdaAccount {
  /** Every command sent, in order, as its IAM action (`lambda:GetFunction`). */
  readonly log: string[] = [];
  /** Every command's input, in order. */
  readonly inputs: { action: string; input: unknown }[] = [];
  readonly functions = new Map<string, FakeFunction>();
  readonly roles = new Map<string, FakeRole>();
  /** Reads of a changed function that still see it busy (Pending / InProgress). */
  busyReadsAfterChange = 0;
  /** CreateFunction calls refused as "cannot be assumed" after CreateRole (IAM propagating). */
  rolePropagationRefusals = 0;
  private readonly faults = new Map<string, { error: Error; remaining: number }>();
  /** The stubs' restore functions. */
  private readonly restores: (() => void)[] = [];

  constructor(
    readonly region = 'us-east-1',
    readonly accountId = '123456789012',
  ) {}

  /** The next `times` calls of `action` fail with `error`. */
  fail(action: string, error: Error, times = 1): void {
    this.faults.set(action, { error, remaining: times });
  }

  /** Starts answering the clients' commands. */
  attach(lambda: LambdaClient, iam: IAMClient): void {
    const l = mockClient(lambda);
    const i = mockClient(iam);
    this.restores.push(
      () => l.restore(),
      () => i.restore(),
    );
    // Commands are told apart by class name, not class: npm may install two copies of an SDK client.
    const handlers = new Map<string, (input: unknown) => unknown>();
    const on = <I>(
      _client: typeof l | typeof i,
      command: new (input: I) => unknown,
      action: string,
      answer: (input: I) => unknown,
    ): void => {
      handlers.set(command.name, (input) => this.answer(action, input as I, answer));
    };
    const dispatch = (command: { input: unknown; constructor: { name: string } }): Promise<never> => {
      const handler = handlers.get(command.constructor.name);
      if (handler === undefined) {
        return Promise.reject(new Error(`The fake account does not answer ${command.constructor.name}`));
      }
      try {
        // The answer is shaped as the command's output (see each handler).
        return Promise.resolve(handler(command.input) as never);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    l.send.callsFake(dispatch);
    i.send.callsFake(dispatch);
    on(l, GetFunctionCommand, 'lambda:GetFunction', (input) => this.getFunction(input.FunctionName));
    on(l, GetFunctionConfigurationCommand, 'lambda:GetFunctionConfiguration', (input) =>
      this.configuration(input.FunctionName, input.Qualifier),
    );
    on(l, GetAliasCommand, 'lambda:GetAlias', (input) => this.getAlias(input.FunctionName, input.Name));
    on(l, CreateFunctionCommand, 'lambda:CreateFunction', (input) => this.createFunction(input));
    on(l, UpdateFunctionCodeCommand, 'lambda:UpdateFunctionCode', (input) =>
      this.change(input.FunctionName, (latest) => ({
        ...latest,
        CodeSha256: sha256(input.ZipFile),
        CodeSize: input.ZipFile?.length,
        Architectures: input.Architectures ?? latest.Architectures,
      })),
    );
    on(l, UpdateFunctionConfigurationCommand, 'lambda:UpdateFunctionConfiguration', (input) =>
      this.change(input.FunctionName, (latest) => ({
        ...latest,
        ...(input.MemorySize !== undefined ? { MemorySize: input.MemorySize } : {}),
        ...(input.Timeout !== undefined ? { Timeout: input.Timeout } : {}),
        ...(input.Runtime !== undefined ? { Runtime: input.Runtime } : {}),
        ...(input.Handler !== undefined ? { Handler: input.Handler } : {}),
        ...(input.Role !== undefined ? { Role: input.Role } : {}),
        ...(input.EphemeralStorage !== undefined ? { EphemeralStorage: input.EphemeralStorage } : {}),
        ...(input.Environment !== undefined
          ? { Environment: { Variables: input.Environment.Variables ?? {} } }
          : {}),
      })),
    );
    on(l, PublishVersionCommand, 'lambda:PublishVersion', (input) =>
      this.publish(input.FunctionName, input.CodeSha256),
    );
    on(l, CreateAliasCommand, 'lambda:CreateAlias', (input) =>
      this.setAlias(input.FunctionName, input.Name, input.FunctionVersion, false),
    );
    on(l, UpdateAliasCommand, 'lambda:UpdateAlias', (input) =>
      this.setAlias(input.FunctionName, input.Name, input.FunctionVersion, true),
    );
    on(i, GetRoleCommand, 'iam:GetRole', (input) => this.getRole(input.RoleName));
    on(i, CreateRoleCommand, 'iam:CreateRole', (input) =>
      this.createRole(input.RoleName, input.AssumeRolePolicyDocument),
    );
    on(i, AttachRolePolicyCommand, 'iam:AttachRolePolicy', (input) => {
      this.role(input.RoleName).attached.push(input.PolicyArn ?? '');
      return meta(200);
    });
    on(i, PutRolePolicyCommand, 'iam:PutRolePolicy', (input) => {
      this.role(input.RoleName).inline.set(input.PolicyName ?? '', input.PolicyDocument ?? '');
      return meta(200);
    });
  }

  /** Stops answering (the clients' own `send` comes back). */
  restore(): void {
    this.restores.forEach((restore) => restore());
  }

  /** Writes in the log (every command but the reads). */
  writes(): string[] {
    return this.log.filter((action) => !/:(Get|List)/.test(action));
  }

  /** The configuration of the version an alias points to. */
  aliased(functionName: string, alias: string): FunctionConfiguration | undefined {
    const fn = this.functions.get(functionName);
    const version = fn?.aliases.get(alias);
    return version === undefined ? undefined : fn?.versions[Number(version) - 1];
  }

  private answer<I>(action: string, input: I, answer: (input: I) => unknown): unknown {
    this.log.push(action);
    this.inputs.push({ action, input });
    const fault = this.faults.get(action);
    if (fault !== undefined && fault.remaining > 0) {
      fault.remaining -= 1;
      throw fault.error;
    }
    return answer(input);
  }

  private arn(name: string, qualifier?: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
  }

  private fn(name: string | undefined): FakeFunction {
    const fn = this.functions.get(name ?? '');
    if (fn === undefined) {
      throw new ResourceNotFoundException({
        message: `Function not found: ${this.arn(name ?? '')}`,
        Type: 'User',
        ...meta(404),
      });
    }
    return fn;
  }

  /** $LATEST as a read sees it: busy for `busyReads` reads after a change, then settled. */
  private readLatest(fn: FakeFunction): FunctionConfiguration {
    if (fn.busyReads > 0) {
      fn.busyReads -= 1;
    } else {
      fn.latest = { ...fn.latest, State: 'Active', LastUpdateStatus: 'Successful' };
      delete fn.latest.StateReasonCode;
    }
    return { ...fn.latest };
  }

  private getFunction(name: string | undefined): unknown {
    const configuration = this.readLatest(this.fn(name));
    return {
      Configuration: configuration,
      Code: {
        RepositoryType: 'S3',
        Location: `https://awslambda-${this.region}-tasks.s3.amazonaws.com/snapshots/x`,
      },
      ...meta(200),
    };
  }

  private configuration(name: string | undefined, qualifier: string | undefined): unknown {
    const fn = this.fn(name);
    if (qualifier === undefined || qualifier === '$LATEST') {
      return { ...this.readLatest(fn), ...meta(200) };
    }
    const version = fn.aliases.get(qualifier) ?? qualifier;
    const found = fn.versions[Number(version) - 1];
    if (found === undefined) {
      throw new ResourceNotFoundException({
        message: `Function not found: ${this.arn(name ?? '', qualifier)}`,
        ...meta(404),
      });
    }
    return { ...found, ...meta(200) };
  }

  private getAlias(name: string | undefined, alias: string | undefined): unknown {
    const fn = this.fn(name);
    const version = fn.aliases.get(alias ?? '');
    if (version === undefined) {
      throw new ResourceNotFoundException({
        message: `Alias not found: ${this.arn(name ?? '', alias)}`,
        ...meta(404),
      });
    }
    return { AliasArn: this.arn(name ?? '', alias), Name: alias, FunctionVersion: version, ...meta(200) };
  }

  private createFunction(input: CreateFunctionCommand['input']): unknown {
    const name = input.FunctionName ?? '';
    if (this.functions.has(name)) {
      throw new ResourceConflictException({ message: `Function already exist: ${name}`, ...meta(409) });
    }
    const ownRole = [...this.roles.values()].some((role) => role.arn === input.Role);
    if (ownRole && this.rolePropagationRefusals > 0) {
      this.rolePropagationRefusals -= 1;
      throw new InvalidParameterValueException({
        message: 'The role defined for the function cannot be assumed by Lambda.',
        ...meta(400),
      });
    }
    const latest: FunctionConfiguration = {
      FunctionName: name,
      FunctionArn: this.arn(name),
      Runtime: input.Runtime,
      Role: input.Role,
      Handler: input.Handler,
      CodeSize: input.Code?.ZipFile?.length,
      Description: input.Description,
      Timeout: input.Timeout ?? 3,
      MemorySize: input.MemorySize ?? 128,
      LastModified: new Date().toISOString(),
      CodeSha256: sha256(input.Code?.ZipFile),
      Version: '$LATEST',
      PackageType: 'Zip',
      Architectures: input.Architectures ?? ['x86_64'],
      EphemeralStorage: input.EphemeralStorage ?? { Size: 512 },
      ...(input.Environment ? { Environment: { Variables: input.Environment.Variables ?? {} } } : {}),
      State: 'Pending',
      StateReasonCode: 'Creating',
      LastUpdateStatus: 'InProgress',
    };
    this.functions.set(name, {
      latest,
      versions: [],
      aliases: new Map(),
      busyReads: this.busyReadsAfterChange,
    });
    return { ...latest, ...meta(201) };
  }

  /** Refuses a change while one is in progress, as Lambda does. */
  private checkSettled(fn: FakeFunction, name: string): void {
    if (fn.latest.State === 'Pending' || fn.latest.LastUpdateStatus === 'InProgress') {
      throw new ResourceConflictException({
        message: `The operation cannot be performed at this time. An update is in progress for resource: ${this.arn(name)}`,
        ...meta(409),
      });
    }
  }

  private change(
    name: string | undefined,
    update: (latest: FunctionConfiguration) => FunctionConfiguration,
  ): unknown {
    const fn = this.fn(name);
    this.checkSettled(fn, name ?? '');
    fn.latest = {
      ...update(fn.latest),
      LastUpdateStatus: 'InProgress',
      LastModified: new Date().toISOString(),
    };
    fn.busyReads = this.busyReadsAfterChange;
    return { ...fn.latest, ...meta(200) };
  }

  private publish(name: string | undefined, codeSha256: string | undefined): unknown {
    const fn = this.fn(name);
    this.checkSettled(fn, name ?? '');
    if (codeSha256 !== undefined && codeSha256 !== fn.latest.CodeSha256) {
      throw new InvalidParameterValueException({
        message: `CodeSHA256 (${codeSha256}) is different from current CodeSHA256 in $LATEST (${fn.latest.CodeSha256}).`,
        ...meta(400),
      });
    }
    const last = fn.versions[fn.versions.length - 1];
    if (last !== undefined && sameVersion(last, fn.latest)) {
      return { ...last, ...meta(201) };
    }
    const version = String(fn.versions.length + 1);
    const published = {
      ...fn.latest,
      Version: version,
      FunctionArn: this.arn(name ?? '', version),
      State: 'Active' as const,
    };
    fn.versions.push(published);
    return { ...published, ...meta(201) };
  }

  private setAlias(
    name: string | undefined,
    alias: string | undefined,
    version: string | undefined,
    exists: boolean,
  ): unknown {
    const fn = this.fn(name);
    if (fn.aliases.has(alias ?? '') !== exists) {
      throw exists
        ? new ResourceNotFoundException({
            message: `Alias not found: ${this.arn(name ?? '', alias)}`,
            ...meta(404),
          })
        : new ResourceConflictException({
            message: `Alias already exists: ${this.arn(name ?? '', alias)}`,
            ...meta(409),
          });
    }
    if (fn.versions[Number(version) - 1] === undefined) {
      throw new ResourceNotFoundException({
        message: `Function not found: ${this.arn(name ?? '', version)}`,
        ...meta(404),
      });
    }
    fn.aliases.set(alias ?? '', version ?? '');
    return {
      AliasArn: this.arn(name ?? '', alias),
      Name: alias,
      FunctionVersion: version,
      ...meta(exists ? 200 : 201),
    };
  }

  private role(name: string | undefined): FakeRole {
    const role = this.roles.get(name ?? '');
    if (role === undefined) {
      throw new NoSuchEntityException({
        message: `The role with name ${name} cannot be found.`,
        ...meta(404),
      });
    }
    return role;
  }

  private getRole(name: string | undefined): unknown {
    const role = this.role(name);
    return {
      Role: { RoleName: name, Arn: role.arn, Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date() },
      ...meta(200),
    };
  }

  private createRole(name: string | undefined, trust: string | undefined): unknown {
    const arn = `arn:aws:iam::${this.accountId}:role/${name}`;
    this.roles.set(name ?? '', { arn, trust: trust ?? '', attached: [], inline: new Map() });
    return {
      Role: { RoleName: name, Arn: arn, Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date() },
      ...meta(200),
    };
  }
}

/** Lambda's CodeSha256 of a zip: SHA-256, base64. */
function sha256(bytes: Uint8Array | undefined): string {
  return createHash('sha256')
    .update(bytes ?? new Uint8Array())
    .digest('base64');
}
