/**
 * The kernel's cost ledger: billed attempts per cell run, totals per run and
 * for the kernel, split into compute, INIT, requests and storage. Amounts are
 * summed as integer pico-dollars (exactly, beyond 2^53 too), so totals do
 * not drift.
 */
import { AttemptBill, picoToUsd, StorageBill } from './meter';

import type { CostSplit, CostTotals } from '../telemetry/protocol';

export type { CostTotals };

/** The costs of one cell run. */
export interface RunCost extends CostTotals {
  runId: string;
  /** What the run is called in reports (the cell's first line, its execution count). */
  label: string;
  /** Billed invoke-phase ms, summed over its attempts. */
  billedMs: number;
  /** Billed INIT ms, summed over its attempts. */
  initBilledMs: number;
  /** ms its attempts ran as measured where they ran (this machine's clock for the embedded runtime), summed. */
  measuredMs: number;
}

/**
 * An exact sum of integer pico-dollars: added up in a double while that
 * stays exact (below 2^53), carried into a bigint beyond. Adding a bill then
 * allocates nothing (a BigInt per amount did, 6 per attempt).
 */
class PicoSum {
  private small = 0;
  private big = 0n;

  add(pico: number): void {
    const sum = this.small + pico;
    if (Number.isSafeInteger(sum)) {
      this.small = sum;
    } else {
      this.big += BigInt(this.small) + BigInt(pico);
      this.small = 0;
    }
  }

  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}

class Sums {
  readonly compute = new PicoSum();
  readonly init = new PicoSum();
  readonly request = new PicoSum();
  readonly storage = new PicoSum();
  invocations = 0;
  billedMs = 0;
  initBilledMs = 0;
  measuredMs = 0;

  addAttempt(bill: AttemptBill): void {
    this.compute.add(bill.pico.compute);
    this.init.add(bill.pico.init);
    this.request.add(bill.pico.request);
    this.invocations += bill.ran ? 1 : 0;
    this.billedMs += bill.billedMs;
    this.initBilledMs += bill.initBilledMs;
    this.measuredMs += bill.measuredMs;
  }

  totals(): CostTotals {
    const [compute, init, request, storage] = [this.compute, this.init, this.request, this.storage].map(
      (sum) => sum.value,
    );
    return {
      computeUsd: picoToUsd(compute),
      initUsd: picoToUsd(init),
      requestUsd: picoToUsd(request),
      storageUsd: picoToUsd(storage),
      totalUsd: picoToUsd(compute + init + request + storage),
      invocations: this.invocations,
    };
  }
}

interface RunEntry {
  label: string;
  sums: Sums;
}

/** Billed attempts per run, and their totals. */
export class CostLedger {
  private readonly entries = new Map<string, RunEntry>();
  private readonly kernel = new Sums();

  /** Registers a run (in report order) with its label; relabels a known run. */
  startRun(runId: string, label: string): void {
    const entry = this.entries.get(runId);
    if (entry) {
      entry.label = label;
    } else {
      this.entries.set(runId, { label, sums: new Sums() });
    }
  }

  /** Records a billed attempt of a run (a run not started is registered, labelled by its id). */
  record(runId: string, bill: AttemptBill): void {
    this.entry(runId).sums.addAttempt(bill);
    this.kernel.addAttempt(bill);
  }

  /** Records storage costs of a run (exchanges through an object store). */
  recordStorage(runId: string, bill: StorageBill): void {
    this.entry(runId).sums.storage.add(bill.pico);
    this.kernel.storage.add(bill.pico);
  }

  /** Whether the ledger knows a run. */
  has(runId: string): boolean {
    return this.entries.has(runId);
  }

  /** The costs of one run; zeros (and the id as label) for a run never recorded. */
  runTotal(runId: string): RunCost {
    const entry = this.entries.get(runId) ?? { label: runId, sums: new Sums() };
    return runCost(runId, entry);
  }

  /** The parts of one run's bill, as the `run-finished` event carries them. */
  runSplit(runId: string): CostSplit {
    const { computeUsd, initUsd, requestUsd, storageUsd, totalUsd } = this.runTotal(runId);
    return { computeUsd, initUsd, requestUsd, storageUsd, totalUsd };
  }

  /** Every run, in the order they started. */
  runs(): RunCost[] {
    return [...this.entries].map(([runId, entry]) => runCost(runId, entry));
  }

  /** The kernel's totals over all runs. */
  total(): CostTotals {
    return this.kernel.totals();
  }

  private entry(runId: string): RunEntry {
    let entry = this.entries.get(runId);
    if (!entry) {
      entry = { label: runId, sums: new Sums() };
      this.entries.set(runId, entry);
    }
    return entry;
  }
}

function runCost(runId: string, entry: RunEntry): RunCost {
  return {
    runId,
    label: entry.label,
    ...entry.sums.totals(),
    billedMs: entry.sums.billedMs,
    initBilledMs: entry.sums.initBilledMs,
    measuredMs: entry.sums.measuredMs,
  };
}
