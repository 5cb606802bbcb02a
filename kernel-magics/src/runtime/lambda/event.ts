/**
 * Builds the runner event of one attempt: the program bundled with its
 * imports, the captures and the element, each inline while the whole
 * request fits Lambda's payload limit, else through the payload bucket
 * (largest first). A bundled program is uploaded once per kernel; a run's
 * captures once per run.
 */
import { randomUUID } from 'node:crypto';

import type { InvocationRequest } from '../backend';
import { abortable } from '../../exchange/store/calls';
import { ProgramBundler } from '../../plan/bundle';
import {
  ENVELOPE_RESERVE_BYTES,
  LAMBDA_LIMITS,
  LambdaSettings,
  PROGRAM_PREFIX,
  SPILL_PREFIX,
} from './config';
import { base64Length, settingsStoreUrl, storePayload } from './payload';
import { Payload, RUNNER_PROTOCOL, RunnerEvent, StoredRef } from './protocol';

/** An event and what it left in the bucket for this attempt alone. */
export interface BuiltEvent {
  event: RunnerEvent;
  /** The event as sent: its JSON text, UTF-8. */
  payload: Uint8Array;
  /** Bytes of the event as sent. */
  bytes: number;
  /** Keys stored for this attempt (delete them when it ends). */
  attemptKeys: string[];
  /** Whether the event points at objects under its run's prefix in the bucket (its captures or element there). */
  runObjects: boolean;
}

interface Part {
  name: 'program' | 'captures' | 'element';
  bytes: Uint8Array;
  /** Content hash of a part every attempt of a run sends (program, captures), which keys its base64. */
  hash?: string;
  ref: StoredRef;
  /** Stored once and kept (true), or stored for this attempt (false). */
  shared: boolean;
}

/** Builds events; one per backend (it remembers what it uploaded). */
export class EventBuilder {
  private readonly bundler = new ProgramBundler();
  /** Shared objects stored (or being stored), by store URL and key. */
  private readonly stored = new Map<string, SharedUpload>();
  /**
   * The base64 of the last program and the last captures sent inline, by
   * content hash: the invocations of a map, and a cell run again, send the
   * same ones, encoded once.
   */
  private readonly lastBase64 = new Map<Part['name'], { hash: string; b64: string }>();
  /** The last program's source as UTF-8, by hash. */
  private lastProgram?: { hash: string; bytes: Uint8Array };

  /**
   * The event of attempt `attempt` of `request`.
   *
   * @throws BundleError when the body's imports cannot be bundled; store errors when a payload cannot be stored.
   */
  async build(
    request: InvocationRequest,
    attempt: number,
    settings: LambdaSettings,
    signal: AbortSignal,
  ): Promise<BuiltEvent> {
    const program = await this.bundler.bundle(request.program, request.cwd);
    const store = settingsStoreUrl(settings);
    const runPrefix = runPayloadPrefix(request.runId);
    const attemptKey = `${runPrefix}${safeKeyPart(request.id)}-a${attempt}`;
    const parts: Part[] = [
      {
        name: 'program',
        bytes: this.programBytes(program.hash, program.source),
        hash: program.hash,
        ref: { store, key: `${PROGRAM_PREFIX}${program.hash}` },
        shared: true,
      },
      {
        name: 'captures',
        bytes: request.captures.bytes,
        hash: request.captures.hash,
        ref: { store, key: `${runPrefix}captures-${request.captures.hash}` },
        shared: true,
      },
    ];
    if (request.element !== undefined) {
      parts.push({
        name: 'element',
        bytes: request.element,
        ref: { store, key: `${attemptKey}.element` },
        shared: false,
      });
    }
    const placed = await this.place(parts, signal);
    const event: RunnerEvent = {
      protocol: RUNNER_PROTOCOL,
      id: request.id,
      runId: request.runId,
      index: request.index,
      attempt,
      program: { hash: program.hash, filename: program.filename, source: placed.get('program') as Payload },
      captures: { hash: request.captures.hash, bytes: placed.get('captures') as Payload },
      element: placed.get('element'),
      memoryMb: request.memoryMb,
      timeoutS: request.timeoutS,
      store: request.store,
      spill: { store, key: attemptKey },
    };
    const attemptKeys = parts.filter((part) => !part.shared && 'stored' in (placed.get(part.name) ?? {}));
    const payload = serializeEvent(event);
    return {
      event,
      payload,
      bytes: payload.byteLength,
      attemptKeys: attemptKeys.map((part) => part.ref.key),
      runObjects: parts.some(
        (part) => part.ref.key.startsWith(runPrefix) && 'stored' in (placed.get(part.name) ?? {}),
      ),
    };
  }

  /** Forgets the shared objects of a run (their keys are deleted with the run's prefix). */
  forgetRun(store: string, runId: string): void {
    const prefix = `${store}\0${runPayloadPrefix(runId)}`;
    for (const key of [...this.stored.keys()]) {
      if (key.startsWith(prefix)) {
        this.stored.delete(key);
      }
    }
  }

  /** Each part inline, or stored (largest first) until the inline ones fit the payload limit. */
  private async place(parts: Part[], signal: AbortSignal): Promise<Map<Part['name'], Payload>> {
    const limit = LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES;
    const bySize = [...parts].sort((a, b) => b.bytes.byteLength - a.bytes.byteLength);
    let inline = parts.reduce((sum, part) => sum + base64Length(part.bytes.byteLength), 0);
    const toStore = new Set<Part>();
    for (const part of bySize) {
      if (inline <= limit) {
        break;
      }
      toStore.add(part);
      inline -= base64Length(part.bytes.byteLength);
    }
    const placed = new Map<Part['name'], Payload>();
    await Promise.all(
      parts.map(async (part) => {
        if (!toStore.has(part)) {
          placed.set(part.name, { b64: this.base64(part) });
          return;
        }
        placed.set(
          part.name,
          part.shared
            ? await this.storeShared(part, signal)
            : await storePayload(part.bytes, part.ref, signal),
        );
      }),
    );
    return placed;
  }

  /** A part's base64, encoded once per content hash for the parts every attempt sends. */
  private base64(part: Part): string {
    if (part.hash === undefined) {
      return toBase64(part.bytes);
    }
    const last = this.lastBase64.get(part.name);
    if (last?.hash === part.hash) {
      return last.b64;
    }
    const b64 = toBase64(part.bytes);
    this.lastBase64.set(part.name, { hash: part.hash, b64 });
    return b64;
  }

  private programBytes(hash: string, source: string): Uint8Array {
    if (this.lastProgram?.hash !== hash) {
      this.lastProgram = { hash, bytes: Buffer.from(source) };
    }
    return this.lastProgram.bytes;
  }

  /**
   * Stores a shared part once, however many attempts need it at once. The
   * upload is not any one attempt's: an attempt that gives up (replaced,
   * timed out) stops waiting, the others keep it; it is stopped only when
   * every attempt waiting for it gave up, and the next one uploads again.
   */
  private async storeShared(part: Part, signal: AbortSignal): Promise<Payload> {
    const id = `${part.ref.store}\0${part.ref.key}`;
    let upload = this.stored.get(id);
    if (!upload) {
      const controller = new AbortController();
      const started: SharedUpload = {
        done: storePayload(part.bytes, part.ref, controller.signal).then(() => undefined),
        controller,
        waiting: 0,
        settled: false,
      };
      started.done.then(
        () => {
          started.settled = true;
        },
        () => {
          started.settled = true;
          // A failed upload is tried again by the next attempt.
          this.forget(id, started);
        },
      );
      this.stored.set(id, started);
      upload = started;
    }
    upload.waiting += 1;
    try {
      await abortable(upload.done, signal);
    } finally {
      upload.waiting -= 1;
      if (upload.waiting === 0 && !upload.settled) {
        this.forget(id, upload);
        upload.controller.abort(signal.reason);
      }
    }
    return { stored: part.ref };
  }

  private forget(id: string, upload: SharedUpload): void {
    if (this.stored.get(id) === upload) {
      this.stored.delete(id);
    }
  }
}

/** The upload of a shared part, and how many attempts wait for it. */
interface SharedUpload {
  done: Promise<void>;
  controller: AbortController;
  waiting: number;
  settled: boolean;
}

/** The bucket prefix of a run's payloads (deleted when the run ends). */
export function runPayloadPrefix(runId: string): string {
  return `${SPILL_PREFIX}${safeKeyPart(runId)}/`;
}

/** A kernel id as a store key part (ids are letters, digits and dashes already; anything else is replaced). */
function safeKeyPart(id: string): string {
  return id.replace(/[^A-Za-z0-9._=-]/g, '_');
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Stands for an inline payload's base64 while the rest of an event is
 * stringified (random, so no other string of an event is ever this one).
 */
const BASE64_TOKEN = `base64:${randomUUID()}`;

/**
 * The event's JSON text as UTF-8, byte for byte `JSON.stringify(event)`,
 * with each inline payload's base64 spliced in rather than stringified:
 * base64 needs no escaping, and JSON.stringify scanning megabytes of it for
 * characters to escape was the slowest part of an attempt on the kernel's side.
 */
function serializeEvent(event: RunnerEvent): Buffer {
  const inline: string[] = [];
  // The replacer sees the values in the order the text is written.
  const text = JSON.stringify(event, (key: string, value: unknown) => {
    if (key === 'b64' && typeof value === 'string') {
      inline.push(value);
      return BASE64_TOKEN;
    }
    return value;
  });
  const pieces = text.split(BASE64_TOKEN);
  if (pieces.length !== inline.length + 1) {
    // Not an event this builder made (a payload's base64 is not where the token was): the plain way.
    return Buffer.from(JSON.stringify(event));
  }
  // One buffer, written in place: no copy of a payload but the one into it.
  let length = 0;
  pieces.forEach((piece, i) => {
    length += Buffer.byteLength(piece, 'utf8') + (i < inline.length ? inline[i].length : 0);
  });
  const bytes = Buffer.allocUnsafe(length);
  let offset = 0;
  pieces.forEach((piece, i) => {
    offset += bytes.write(piece, offset, 'utf8');
    if (i < inline.length) {
      offset += bytes.write(inline[i], offset, 'latin1');
    }
  });
  return bytes;
}
