/**
 * Runs the Jupyter protocol for a connection file: transport -> handler ->
 * the code engine the caller builds (src/main.ts, the composition root),
 * plus process-level concerns (SIGINT, SIGTERM, stdio capture, uncaught
 * errors from user code, clean shutdown). It knows nothing above kernel/.
 *
 * Start-up: the sockets come up first, and the main thread answers shell
 * `kernel_info_request`s itself (control's are the I/O thread's at any
 * time) until the engine warms up. That takes seconds of compiler loading
 * and warming that block the main thread, so it starts at once when a
 * request needs the engine, else once the kernel is quiet: a client that
 * retries kernel_info until answered sends a burst, hence
 * {@link WARM_UP_AFTER_INFO_MS} after the last answer, or
 * {@link WARM_UP_UNASKED_MS} after start-up when nobody asked (clients
 * connect a little after the kernel starts; zeromq retries every 100 ms).
 */
import { DISCARDING_SINK, setOutputSink } from '../output/sink';
import { SharedCellState } from './cell-state';
import { CommRegistry } from './comms';
import { readConnectionFile } from './connection';
import { CodeEngine } from './engine';
import { KernelHandler, KernelIO } from './handler';
import { captureStdio } from './iopub-output';
import { kernelInfoReply } from './kernel-info';
import { Logger } from './log';
import { JupyterMessage } from './messages';
import { StdinBroker } from './stdin';
import { MessageListener, ZmqTransport } from './transport';

/** What the kernel runs, from the composition root. */
export interface KernelParts {
  /** The comm registry the kernel serves (the one cells register targets in). */
  comms: CommRegistry;
  /**
   * Builds the code engine, once the sockets are up: it may take seconds
   * (compiler loading and warming), during which the kernel already answers
   * heartbeats and kernel_info.
   */
  createEngine(services: { cellState: SharedCellState; cwd: string }): CodeEngine;
  /** Receives the stdin broker once the engine is up (what `input()` in cells asks). */
  onStdin?(broker: StdinBroker | undefined): void;
}

/** A kernel that was started. */
export interface RunningKernel {
  /** Shuts down (as a shutdown_request without restart would). */
  shutdown(): Promise<void>;
}

/** Shutdown gives up on graceful cleanup after this long. */
const FORCE_EXIT_MS = 5000;

/** How often the kernel checks that the process that started it is alive. */
const PARENT_POLL_MS = 2000;

/** The engine warms up this long after the last early kernel_info answer (see above). */
const WARM_UP_AFTER_INFO_MS = 100;
/** The engine warms up this long after start-up if no request came (see above). */
const WARM_UP_UNASKED_MS = 1000;

/** Answers a kernel_info_request before the handler exists (as it would). */
function answerKernelInfo(io: KernelIO, request: JupyterMessage): void {
  const parent = request.header;
  io.send('iopub', { msgType: 'status', content: { execution_state: 'busy' }, parent });
  io.send('shell', {
    msgType: 'kernel_info_reply',
    content: kernelInfoReply(),
    parent,
    identities: request.identities,
  });
  io.send('iopub', { msgType: 'status', content: { execution_state: 'idle' }, parent });
}

/**
 * Ends the kernel when the process that started it (a Jupyter server or
 * client) dies without shutting it down, so no kernel is left orphaned.
 */
function watchParent(log: Logger, onOrphaned: () => void): void {
  const parentPid = Number(process.env.JPY_PARENT_PID ?? process.ppid);
  if (!Number.isInteger(parentPid) || parentPid <= 1) {
    return;
  }
  const timer = setInterval(() => {
    let alive = process.ppid === parentPid;
    if (alive) {
      try {
        process.kill(parentPid, 0);
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      clearInterval(timer);
      log.warn(`Parent process ${parentPid} is gone: shutting down`);
      onOrphaned();
    }
  }, PARENT_POLL_MS);
  timer.unref();
}

/** Starts the kernel described by a connection file, running what `parts` builds. */
export async function startKernel(
  connectionFile: string,
  log: Logger,
  parts: KernelParts,
): Promise<RunningKernel> {
  const { comms } = parts;
  const connection = readConnectionFile(connectionFile);
  const transport = new ZmqTransport(connection, log);
  // Created once the sockets are up (see below).
  const running: { handler?: KernelHandler; engine?: CodeEngine } = {};
  let stopping: Promise<void> | undefined;
  // Messages that arrive while the engine warms up wait here, in order.
  const early: Parameters<MessageListener>[] = [];

  const stop = (exitCode: number): Promise<void> => {
    stopping ??= (async () => {
      log.info('Shutting down');
      // If cleanup itself hangs, still end: a kernel that will not die is worse.
      setTimeout(() => process.exit(exitCode), FORCE_EXIT_MS);
      // Output of what runs on (a run this interrupts) goes nowhere, never
      // to the process's stdout: stdio stays captured by the disposed sink.
      setOutputSink(DISCARDING_SINK);
      running.handler?.output.dispose();
      running.engine?.dispose();
      await transport.close();
      // User code may hold timers or sockets open: the kernel ends regardless.
      process.exit(exitCode);
    })();
    return stopping;
  };
  const dispatch: MessageListener = (channel, message) => {
    if (!running.handler) {
      if (channel === 'shell' && message.header.msg_type === 'kernel_info_request') {
        answerKernelInfo(transport, message);
        warmUpAfter(WARM_UP_AFTER_INFO_MS);
      } else {
        early.push([channel, message]);
        warmUp();
      }
      return;
    }
    const isExecute = channel === 'shell' && message.header.msg_type === 'execute_request';
    running.handler
      .handle(channel, message)
      .catch((error: unknown) => {
        log.error(`Handling ${message.header.msg_type} failed: ${String(error)}`);
      })
      .finally(() => {
        if (isExecute) {
          transport.cellState.executeDone();
        }
      });
  };

  process.on('SIGINT', () => running.handler?.interrupt());
  process.on('SIGTERM', () => void stop(0));
  process.on('uncaughtException', (error) => {
    // Thrown by user code outside a cell (timers, events): show it, keep the kernel.
    process.stderr.write(`Uncaught exception: ${String(error.stack ?? error)}\n`);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`Unhandled promise rejection: ${String((reason as Error)?.stack ?? reason)}\n`);
  });

  // The engine warms up from a fresh macrotask, after the replies and
  // messages already handed over are out; once.
  let warmUpTimer: NodeJS.Timeout | undefined;
  let warming = false;
  function warmUpAfter(ms: number): void {
    if (!warming) {
      clearTimeout(warmUpTimer);
      warmUpTimer = setTimeout(warmUp, ms);
    }
  }
  function warmUp(): void {
    if (warming) {
      return;
    }
    warming = true;
    clearTimeout(warmUpTimer);
    setImmediate(() => {
      try {
        startEngine();
      } catch (error) {
        log.error(`The engine failed to start: ${String((error as Error).stack ?? error)}`);
        void stop(1);
      }
    });
  }

  function startEngine(): void {
    const engine = parts.createEngine({ cellState: transport.cellState, cwd: process.cwd() });
    const handler = new KernelHandler({
      engine,
      io: transport,
      comms,
      log,
      onShutdown: () => void stop(0),
    });
    Object.assign(running, { engine, handler });
    setOutputSink(handler.output);
    parts.onStdin?.(handler.stdin);
    captureStdio(handler.output);
    for (const [channel, message] of early.splice(0)) {
      dispatch(channel, message);
    }
    log.info('Engine ready');
  }

  // Sockets first: heartbeat and kernel_info work at once; the engine warms up later (see above).
  await transport.open(dispatch, (code) => {
    log.error(`The I/O thread exited with code ${code}; without sockets the kernel stops`);
    void stop(1);
  });
  watchParent(log, () => void stop(0));
  log.info(`Listening on ${connection.transport}://${connection.ip} (shell ${connection.shell_port})`);
  if (warmUpTimer === undefined) {
    warmUpAfter(WARM_UP_UNASKED_MS);
  }
  return { shutdown: () => stop(0) };
}
