/**
 * The connection file Jupyter writes for a kernel, and socket addresses.
 */
import { readFileSync } from 'node:fs';

/** The fields of a Jupyter connection file the kernel uses. */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

/** Raised when a connection file is missing fields or unreadable. */
export class ConnectionFileError extends Error {
  override readonly name = 'ConnectionFileError';
}

const PORTS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;

/** Reads and validates a connection file. */
export function readConnectionFile(file: string): ConnectionInfo {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ConnectionFileError(`Cannot read connection file ${file}: ${(error as Error).message}`);
  }
  const transport = parsed.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc') {
    throw new ConnectionFileError(`Unsupported transport "${String(transport)}" in ${file} (tcp or ipc)`);
  }
  for (const port of PORTS) {
    if (typeof parsed[port] !== 'number') {
      throw new ConnectionFileError(`Connection file ${file} has no numeric "${port}"`);
    }
  }
  return {
    transport,
    ip: typeof parsed.ip === 'string' ? parsed.ip : '127.0.0.1',
    shell_port: parsed.shell_port as number,
    iopub_port: parsed.iopub_port as number,
    stdin_port: parsed.stdin_port as number,
    control_port: parsed.control_port as number,
    hb_port: parsed.hb_port as number,
    key: typeof parsed.key === 'string' ? parsed.key : '',
    signature_scheme: typeof parsed.signature_scheme === 'string' ? parsed.signature_scheme : 'hmac-sha256',
  };
}

/** The ZeroMQ endpoint a socket binds to. */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
