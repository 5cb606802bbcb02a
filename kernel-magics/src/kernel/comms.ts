/**
 * Comms: the registry in which kernel-side code registers comm targets, and
 * the kernel's end of each open comm.
 */
import { randomUUID } from 'node:crypto';

import { JsonObject } from './messages';
import { SendLane } from './wire';

/** Sends a comm message to the frontend (the kernel wires this to iopub, in `lane`). */
export type CommSender = (
  msgType: 'comm_open' | 'comm_msg' | 'comm_close',
  content: JsonObject,
  buffers?: Buffer[],
  lane?: SendLane,
) => void;

/** How a comm target's comms are sent. */
export interface CommTargetOptions {
  /**
   * Their messages are bulk traffic (telemetry): they wait behind the
   * kernel's own messages when iopub is slow, and their sender should hold
   * back while {@link CommRegistry.backlog} is not 0.
   */
  bulk?: boolean;
}

/** A message received on a comm. */
export interface CommMessage {
  data: JsonObject;
  buffers: Buffer[];
}

/** The kernel's end of one open comm. */
export class Comm {
  private messageHandlers: ((message: CommMessage) => void)[] = [];
  private closeHandlers: ((message: CommMessage) => void)[] = [];
  private closed = false;

  constructor(
    /** The comm id shared with the frontend. */
    readonly commId: string,
    /** The target this comm was opened on. */
    readonly targetName: string,
    private readonly sender: CommSender,
    private readonly lane: SendLane = 'kernel',
  ) {}

  /** True once either side closed the comm. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends data (and optional binary buffers) to the frontend. */
  send(data: JsonObject, buffers?: Buffer[]): void {
    if (this.closed) {
      throw new Error(`Comm ${this.commId} (${this.targetName}) is closed`);
    }
    this.sender('comm_msg', { comm_id: this.commId, data }, buffers, this.lane);
  }

  /** Closes the comm from the kernel side. */
  close(data: JsonObject = {}): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.sender('comm_close', { comm_id: this.commId, data });
  }

  /** Registers a handler for messages from the frontend. */
  onMessage(handler: (message: CommMessage) => void): void {
    this.messageHandlers.push(handler);
  }

  /** Registers a handler for the frontend closing the comm. */
  onClose(handler: (message: CommMessage) => void): void {
    this.closeHandlers.push(handler);
  }

  /** @internal Delivers a frontend message. */
  dispatchMessage(message: CommMessage): void {
    for (const handler of this.messageHandlers) {
      handler(message);
    }
  }

  /** @internal Delivers a frontend close. */
  dispatchClose(message: CommMessage): void {
    this.closed = true;
    for (const handler of this.closeHandlers) {
      handler(message);
    }
    this.messageHandlers = [];
    this.closeHandlers = [];
  }
}

/** Called when the frontend opens a comm on a registered target. */
export type CommTargetHandler = (comm: Comm, openMessage: CommMessage) => void;

/** Comm targets and open comms of one kernel. */
export class CommRegistry {
  private readonly targets = new Map<string, { handler: CommTargetHandler; lane: SendLane }>();
  private readonly comms = new Map<string, Comm>();
  private sender: CommSender = () => {
    throw new Error('Comms are not connected to a kernel');
  };
  private bulkBacklog: () => number = () => 0;

  /**
   * @internal The kernel connects its iopub channel here, and what tells
   * how many bulk messages still wait to go out.
   */
  connect(sender: CommSender, bulkBacklog?: () => number): void {
    this.sender = sender;
    this.bulkBacklog = bulkBacklog ?? (() => 0);
  }

  /** Registers (or replaces) the handler for a comm target. */
  registerTarget(targetName: string, handler: CommTargetHandler, options: CommTargetOptions = {}): void {
    this.targets.set(targetName, { handler, lane: options.bulk ? 'bulk' : 'kernel' });
  }

  /** Bulk comm messages not yet sent: a bulk sender holds back (and coalesces) while it is not 0. */
  backlog(): number {
    return this.bulkBacklog();
  }

  /** Removes a comm target; comms already open stay open. */
  unregisterTarget(targetName: string): void {
    this.targets.delete(targetName);
  }

  /** Opens a comm from the kernel side. */
  open(targetName: string, data: JsonObject = {}): Comm {
    const comm = this.createComm(randomUUID(), targetName, this.targets.get(targetName)?.lane);
    this.sender('comm_open', { comm_id: comm.commId, target_name: targetName, data });
    return comm;
  }

  /** Open comms, optionally only those of one target (for `comm_info`). */
  list(targetName?: string): Comm[] {
    return [...this.comms.values()].filter(
      (comm) => !comm.isClosed && (targetName === undefined || comm.targetName === targetName),
    );
  }

  /**
   * @internal Handles `comm_open` from the frontend; returns false when the
   * target is unknown (the caller then closes the comm, as the spec says).
   */
  handleOpen(commId: string, targetName: string, message: CommMessage): boolean {
    const target = this.targets.get(targetName);
    if (!target) {
      return false;
    }
    target.handler(this.createComm(commId, targetName, target.lane), message);
    return true;
  }

  /** @internal Handles `comm_msg` from the frontend; false for unknown ids. */
  handleMessage(commId: string, message: CommMessage): boolean {
    const comm = this.comms.get(commId);
    if (!comm) {
      return false;
    }
    comm.dispatchMessage(message);
    return true;
  }

  /** @internal Handles `comm_close` from the frontend. */
  handleClose(commId: string, message: CommMessage): void {
    const comm = this.comms.get(commId);
    this.comms.delete(commId);
    comm?.dispatchClose(message);
  }

  private createComm(commId: string, targetName: string, lane: SendLane = 'kernel'): Comm {
    const sender: CommSender = (type, content, buffers, messageLane) => {
      if (type === 'comm_close') {
        this.comms.delete(commId);
      }
      this.sender(type, content, buffers, messageLane);
    };
    const comm = new Comm(commId, targetName, sender, lane);
    this.comms.set(commId, comm);
    return comm;
  }
}
