/**
 * Which store the cell API (exchange, models) uses when a call names none:
 * inside an invocation, the one its request carries; in the kernel, the one
 * `%serverless config --store` set; else the embedded store. The kernel's
 * source lives on a global symbol so that the copy of this package a
 * notebook resolves and the kernel's own agree.
 */
import { currentInvocation } from '../../runtime/program/context';

const KERNEL_STORE_KEY = Symbol.for('serverless-kernel.kernel-store');

type KernelStoreHolder = { [KERNEL_STORE_KEY]?: () => string | undefined };

/** Installs where the kernel's configured store URL is read from (the kernel does, once). */
export function setKernelStoreSource(source: () => string | undefined): void {
  (globalThis as KernelStoreHolder)[KERNEL_STORE_KEY] = source;
}

/** The store URL a call that names none uses (see the module comment). */
export function configuredStoreUrl(): string {
  const invocation = currentInvocation();
  if (invocation) {
    return invocation.store ?? 'embedded';
  }
  return (globalThis as KernelStoreHolder)[KERNEL_STORE_KEY]?.() ?? 'embedded';
}
