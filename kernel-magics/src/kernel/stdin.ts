/**
 * `input_request` on the stdin channel: code in a cell asks the frontend for
 * a line of text (or a password) and awaits the `input_reply`.
 */
import { JsonObject, JupyterMessage, stringField } from './messages';
import { OutgoingMessage } from './wire';

/** Raised when input is requested but the frontend cannot answer. */
export class StdinNotAllowedError extends Error {
  override readonly name = 'StdinNotAllowedError';
  constructor() {
    super('This frontend does not accept input requests (allow_stdin is false)');
  }
}

/** Raised in the waiting cell when the user interrupts an input prompt. */
export class InputInterruptedError extends Error {
  override readonly name = 'InputInterruptedError';
  constructor() {
    super('Input request interrupted');
  }
}

/** The request whose frontend is asked: its routing identities and header. */
export interface StdinTarget {
  request: JupyterMessage;
  allowStdin: boolean;
}

/** Sends input requests and matches replies. */
export class StdinBroker {
  private target: StdinTarget | undefined;
  private waiting: { resolve: (value: string) => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly send: (message: OutgoingMessage) => void) {}

  /** The execute request currently running (its frontend answers prompts). */
  setTarget(target: StdinTarget | undefined): void {
    this.target = target;
  }

  /** Asks the frontend for input; settles on the reply or an interrupt. */
  request(prompt: string, password = false): Promise<string> {
    const target = this.target;
    if (!target || !target.allowStdin) {
      return Promise.reject(new StdinNotAllowedError());
    }
    this.cancel(new InputInterruptedError());
    return new Promise<string>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.send({
        msgType: 'input_request',
        content: { prompt, password },
        parent: target.request.header,
        identities: target.request.identities,
      });
    });
  }

  /** Handles a message from the stdin channel. */
  handleReply(message: JupyterMessage): void {
    if (message.header.msg_type !== 'input_reply' || !this.waiting) {
      return;
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve(stringField(message.content as JsonObject, 'value'));
  }

  /** Rejects a pending prompt (interrupt, shutdown). */
  cancel(error: Error = new InputInterruptedError()): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}
