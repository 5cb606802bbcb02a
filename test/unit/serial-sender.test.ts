import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { SendableSocket, SerialSender } from '../../kernel-magics/src/kernel/serial-sender';
import { Frame } from '../../kernel-magics/src/kernel/wire';

/**
 * A socket like zeromq's: a send completes at once unless `pending` is set,
 * and while a send is pending another one throws EBUSY.
 */
class FakeSocket implements SendableSocket {
  readonly sent: string[] = [];
  pending = false;
  private release: (() => void) | undefined;

  send(frames: Frame[]): Promise<void> {
    if (this.release) {
      throw Object.assign(new Error('Socket is busy writing'), { code: 'EBUSY' });
    }
    this.sent.push(String(frames[0]));
    if (!this.pending) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.release = () => {
        this.release = undefined;
        resolve();
      };
    });
  }

  /** Completes the pending send. */
  complete(): void {
    this.release?.();
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SerialSender', () => {
  it('hands each message to the socket at once while it accepts them', () => {
    const socket = new FakeSocket();
    const sender = new SerialSender(socket, 'test', createMemoryLogger([]));
    sender.send(['a']);
    sender.send(['b']);
    expect(socket.sent).toEqual(['a', 'b']);
  });

  it('queues behind a pending send and sends the rest in order once it completes', async () => {
    const socket = new FakeSocket();
    const sender = new SerialSender(socket, 'test', createMemoryLogger([]));
    socket.pending = true;
    sender.send(['a']);
    socket.pending = false;
    sender.send(['b']);
    sender.send(['c']);
    expect(socket.sent).toEqual(['a']);
    const drained = sender.drained(10_000);
    socket.complete();
    await drained;
    expect(socket.sent).toEqual(['a', 'b', 'c']);
  });

  it('stops waiting for a drain that never comes after the bound it is given', async () => {
    const socket = new FakeSocket();
    const sender = new SerialSender(socket, 'test', createMemoryLogger([]));
    socket.pending = true;
    sender.send(['a']);
    sender.send(['b']);
    const started = Date.now();
    await sender.drained(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(socket.sent).toEqual(['a']);
  });

  it('recover() resumes a wait without sending anything twice', async () => {
    const socket = new FakeSocket();
    const sender = new SerialSender(socket, 'test', createMemoryLogger([]));
    socket.pending = true;
    sender.send(['a']);
    socket.pending = false;
    sender.send(['b']);
    // As after a termination that may have dropped the wait's continuation.
    sender.recover();
    sender.recover();
    socket.complete();
    await flush();
    sender.send(['c']);
    expect(socket.sent).toEqual(['a', 'b', 'c']);
  });

  it('logs a failed send and goes on with the next message', async () => {
    const lines: string[] = [];
    const failing: SendableSocket = {
      send: (frames) =>
        String(frames[0]) === 'bad' ? Promise.reject(new Error('no route')) : Promise.resolve(),
    };
    const sender = new SerialSender(failing, 'test', createMemoryLogger(lines));
    sender.send(['bad']);
    sender.send(['good']);
    await flush();
    expect(lines).toEqual(['warn test: send failed: no route']);
  });

  it('sends the kernel lane before bulk, and bounds bulk on its own', async () => {
    const socket = new FakeSocket();
    const lines: string[] = [];
    const sender = new SerialSender(socket, 'iopub', createMemoryLogger(lines));
    socket.pending = true;
    sender.send(['first']);
    socket.pending = false;
    for (let i = 0; i < 10_005; i += 1) {
      sender.send([`telemetry ${i}`], 'bulk');
    }
    sender.send(['status'], 'kernel');
    sender.send(['result'], 'kernel');
    expect(sender.queued('bulk')).toBe(10_000);
    expect(lines).toEqual(['warn iopub: bulk send queue full, dropped 1 message(s)']);
    socket.complete();
    await flush();
    expect(socket.sent.slice(0, 4)).toEqual(['first', 'status', 'result', 'telemetry 0']);
    expect(socket.sent).toHaveLength(3 + 10_000);
    expect(sender.queued('bulk')).toBe(0);
  });
});
