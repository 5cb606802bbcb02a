/**
 * Driving a kernel through @jupyterlab/services (what JupyterLab uses) with
 * timeouts on every wait.
 */
import { KernelManager, KernelMessage, ServerConnection } from '@jupyterlab/services';
import type { IKernelConnection } from '@jupyterlab/services/lib/kernel/kernel';

import { JupyterServer } from './jupyter-server';

/** Outputs and reply of one execution. */
export interface ExecutionRecord {
  reply: KernelMessage.IExecuteReplyMsg;
  iopub: KernelMessage.IIOPubMessage[];
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A kernel manager connected to `server`. */
export function connect(server: JupyterServer): KernelManager {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: server.baseUrl,
    wsUrl: server.wsUrl,
    token: server.token,
    appendToken: true,
  });
  return new KernelManager({ serverSettings });
}

/** Starts a serverless-ts kernel and waits until it is idle. */
export async function startKernel(manager: KernelManager): Promise<IKernelConnection> {
  await manager.ready;
  const kernel = await manager.startNew({ name: 'serverless-ts' });
  await withTimeout(kernel.info, 30000, 'kernel_info of a new kernel');
  return kernel;
}

/** Executes code and collects its iopub messages and reply. */
export async function execute(
  kernel: IKernelConnection,
  code: string,
  options: {
    timeoutMs?: number;
    allowStdin?: boolean;
    onStdin?: (msg: KernelMessage.IStdinMessage) => void;
  } = {},
): Promise<ExecutionRecord> {
  const future = kernel.requestExecute({
    code,
    allow_stdin: options.allowStdin ?? false,
    stop_on_error: true,
  });
  const iopub: KernelMessage.IIOPubMessage[] = [];
  future.onIOPub = (msg) => {
    iopub.push(msg);
  };
  if (options.onStdin) {
    future.onStdin = options.onStdin;
  }
  const reply = (await withTimeout(
    future.done,
    options.timeoutMs ?? 30000,
    `execution of ${code}`,
  )) as KernelMessage.IExecuteReplyMsg;
  return { reply, iopub };
}

/** The text/plain of an execution's execute_result, if any. */
export function resultText(record: ExecutionRecord): string | undefined {
  const result = record.iopub.find((msg) => msg.header.msg_type === 'execute_result') as
    KernelMessage.IExecuteResultMsg | undefined;
  const text = result?.content.data['text/plain'];
  return typeof text === 'string' ? text : undefined;
}

/**
 * For a test file: a jupyter_server and one serverless-ts kernel started
 * before its tests and stopped after them. Read `fixture.kernel` in tests.
 */
export function useServerKernel(): { readonly kernel: IKernelConnection; readonly server: JupyterServer } {
  let server: JupyterServer | undefined;
  let manager: KernelManager | undefined;
  let kernel: IKernelConnection | undefined;
  beforeAll(async () => {
    const { startJupyterServer } = await import('./jupyter-server');
    server = await startJupyterServer();
    manager = connect(server);
    kernel = await startKernel(manager);
  }, 60_000);
  afterAll(async () => {
    await kernel?.shutdown().catch(() => undefined);
    manager?.dispose();
    await server?.stop();
  });
  return {
    get kernel(): IKernelConnection {
      if (!kernel) {
        throw new Error('the kernel is not started yet');
      }
      return kernel;
    },
    get server(): JupyterServer {
      if (!server) {
        throw new Error('the server is not started yet');
      }
      return server;
    },
  };
}
