/**
 * A kernel process started directly (no Jupyter server) with zeromq client
 * sockets, for wire-level tests: bad signatures, broken frames, unknown
 * message types, shutdown and process exit.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as zmq from 'zeromq';

import { JsonObject, JupyterMessage } from '../../kernel-magics/src/kernel/messages';
import {
  decodeMessage,
  encodeMessage,
  HeaderFactory,
  MessageSigner,
} from '../../kernel-magics/src/kernel/wire';
import { kernelJson } from '../../kernel-magics/src/cli/kernelspec';
import { freePort, stopProcess, waitFor } from './processes';

/** A kernel and the client end of its sockets. */
export class RawKernel {
  readonly headers = new HeaderFactory();
  readonly iopubMessages: JupyterMessage[] = [];
  private stderrText = '';
  private stdoutText = '';
  private exitCode: number | null = null;
  private exited: Promise<number | null>;
  /** Where the kernel publishes iopub (to connect more subscribers). */
  iopubEndpoint = '';
  /** The frames of the last message sent (for replay tests). */
  private lastFrames: (Buffer | string)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly signer: MessageSigner,
    readonly shell: zmq.Dealer,
    readonly control: zmq.Dealer,
    readonly iopub: zmq.Subscriber,
    private readonly dir: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => (this.stdoutText += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    void this.collectIopub();
  }

  /** Starts a kernel on free loopback ports (`env` added to its environment) and waits for kernel_info. */
  static async start(env: Record<string, string> = {}): Promise<RawKernel> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-raw-'));
    const key = randomBytes(16).toString('hex');
    const ports = {
      shell_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      control_port: await freePort(),
      hb_port: await freePort(),
    };
    const connection = { ...ports, ip: '127.0.0.1', key, transport: 'tcp', signature_scheme: 'hmac-sha256' };
    const file = path.join(dir, 'connection.json');
    writeFileSync(file, JSON.stringify(connection));
    // The command line Jupyter runs (the kernelspec's, Node's options included).
    const argv = (kernelJson().argv as string[]).map((arg) => (arg === '{connection_file}' ? file : arg));
    const child = spawn(argv[0], argv.slice(1), {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const shell = new zmq.Dealer({ receiveTimeout: 15000 });
    const control = new zmq.Dealer({ receiveTimeout: 15000 });
    const iopub = new zmq.Subscriber();
    shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
    control.connect(`tcp://127.0.0.1:${ports.control_port}`);
    iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
    iopub.subscribe();
    const kernel = new RawKernel(child, new MessageSigner(key), shell, control, iopub, dir);
    kernel.iopubEndpoint = `tcp://127.0.0.1:${ports.iopub_port}`;
    // kernel_info until answered: the kernel may not have bound yet, and
    // replies to earlier attempts may arrive late.
    const sent = new Set<string>();
    try {
      await waitFor(
        async () => {
          const { exitCode, signalCode } = kernel.child;
          if (exitCode !== null || signalCode !== null) {
            throw new Error(`the kernel exited (${String(exitCode ?? signalCode)}) before answering`);
          }
          sent.add(await kernel.send('shell', 'kernel_info_request', {}));
          try {
            const reply = await kernel.receive(kernel.shell, 500);
            return sent.has(reply.parent_header.msg_id);
          } catch {
            return false;
          }
        },
        30000,
        'the kernel to answer kernel_info',
      );
    } catch (error) {
      // What the kernel logged says why; the process is stopped either way.
      const log = kernel.stderr.trim().split('\n').slice(-20).join('\n');
      await kernel.dispose();
      throw new Error(`${(error as Error).message}; its log:\n${log}`);
    }
    // Drain the late replies to the other attempts.
    for (;;) {
      try {
        await kernel.receive(kernel.shell, 1000);
      } catch {
        break;
      }
    }
    return kernel;
  }

  /** Everything the kernel wrote to stderr (its log). */
  get stderr(): string {
    return this.stderrText;
  }

  /** Everything the kernel process wrote to its own stdout (cell output never goes there). */
  get stdout(): string {
    return this.stdoutText;
  }

  /** Signs and sends a request; returns its msg_id. `signature` overrides the HMAC. */
  async send(
    channel: 'shell' | 'control',
    msgType: string,
    content: JsonObject,
    signature?: string,
  ): Promise<string> {
    const header = this.headers.create(msgType);
    const frames = encodeMessage({ msgType, content }, header, this.signer);
    if (signature !== undefined) {
      frames[1] = Buffer.from(signature);
    }
    this.lastFrames = frames;
    await (channel === 'shell' ? this.shell : this.control).send(frames);
    return header.msg_id;
  }

  /** Sends the last message's frames again, unchanged (a replay), on `channel`. */
  async resend(channel: 'shell' | 'control'): Promise<void> {
    await (channel === 'shell' ? this.shell : this.control).send(this.lastFrames);
  }

  /** Sends raw frames on shell (for malformed-input tests). */
  async sendRaw(frames: Buffer[]): Promise<void> {
    await this.shell.send(frames);
  }

  /** The next message on a dealer socket; rejects after `timeoutMs`. */
  async receive(socket: zmq.Dealer, timeoutMs: number): Promise<JupyterMessage> {
    socket.receiveTimeout = timeoutMs;
    return decodeMessage(await socket.receive(), this.signer);
  }

  /** iopub messages whose parent is `msgId`. */
  iopubFor(msgId: string): JupyterMessage[] {
    return this.iopubMessages.filter((m) => m.parent_header.msg_id === msgId);
  }

  /** Waits until the kernel published `idle` for `msgId`. */
  async idleFor(msgId: string, timeoutMs = 15000): Promise<JupyterMessage[]> {
    await waitFor(
      () =>
        this.iopubFor(msgId).some(
          (m) => m.header.msg_type === 'status' && m.content.execution_state === 'idle',
        ),
      timeoutMs,
      `idle after ${msgId}`,
    );
    return this.iopubFor(msgId);
  }

  /** Resolves with the exit code once the process ended, or rejects after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    if (this.exitCode !== null) {
      return this.exitCode;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kernel still running after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Closes the client sockets and stops the process by PID if it still runs. */
  async dispose(): Promise<void> {
    for (const socket of [this.shell, this.control, this.iopub]) {
      socket.close();
    }
    await stopProcess(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async collectIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        // iopub frames start with a topic, then the delimiter.
        this.iopubMessages.push(decodeMessage(frames, this.signer));
      }
    } catch {
      // Socket closed.
    }
  }
}
