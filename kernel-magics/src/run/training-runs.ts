/**
 * The kernel's training host (see training/host.ts): a segment of `train()`
 * runs as a cell run of the `--map` kind, one invocation per rank, through
 * the same planning, dispatch, billing, telemetry and exchange cleanup as a
 * `%%serverless --map` cell; its workers' events also reach `train()`.
 */
import { deserialize } from 'node:v8';

import { parseCellMagic } from '../magics/parse';
import { MagicUsageError } from '../magics/usage';
import type { BackendName, ServerlessCellOptions } from '../magics/options';
import { planRun } from '../plan/plan';
import { attemptDurationMs } from '../cost/meter';
import type { Backend, ProgramResult } from '../runtime/backend';
import type { RankResult, SegmentRun, SegmentRunResult, TrainingHost } from '../training/host';
import type { SegmentOutcome, TrainingEpochReport } from '../training/spec';
import type { KernelAccounting } from './accounting';
import { invocationError } from './errors';
import { executePlan } from './execute';

/** The body every rank of a segment runs (`segment` is captured, `rank` is the element). */
export const TRAINING_BODY =
  "import { trainingWorker } from 'serverless-kernel';\nawait trainingWorker(segment, rank, require);\n";

/** What the host needs from the kernel. */
export interface TrainingRunsDeps {
  backend(name: BackendName): Backend;
  accounting: KernelAccounting;
  cwd: string;
  /** The session's `%%serverless` defaults, as arguments. */
  defaultArgs(): string[];
  /** The running cell's interrupt. */
  cellSignal(): AbortSignal | undefined;
}

/** Runs `train()`'s segments in the kernel. */
export class TrainingRuns implements TrainingHost {
  private sequence = 0;

  constructor(private readonly deps: TrainingRunsDeps) {}

  get cwd(): string {
    return this.deps.cwd;
  }

  options(args: string[]): ServerlessCellOptions {
    const magic = parseCellMagic(`%%serverless ${args.join(' ')}\n${TRAINING_BODY}`, this.deps.defaultArgs());
    if (magic.kind === 'help') {
      throw new MagicUsageError('%%serverless: --help is not a training option.');
    }
    return magic.options;
  }

  cellSignal(): AbortSignal | undefined {
    return this.deps.cellSignal();
  }

  storageCost(runId: string): number {
    const { ledger } = this.deps.accounting;
    return ledger.has(runId) ? ledger.runSplit(runId).storageUsd : 0;
  }

  reportEpoch(report: TrainingEpochReport): void {
    this.deps.accounting.trainingEpoch(report);
  }

  async runSegment(run: SegmentRun): Promise<SegmentRunResult> {
    const ranks = Array.from({ length: run.spec.workers }, (_, rank) => rank);
    this.sequence += 1;
    const options: ServerlessCellOptions = {
      ...run.options,
      map: 'ranks',
      as: 'rank',
      concurrency: run.spec.workers,
      dryRun: false,
    };
    const plan = planRun({
      options,
      body: TRAINING_BODY,
      bodyLine: 0,
      label: run.label,
      kernel: { segment: run.spec },
      elements: ranks,
      sequence: this.sequence,
      cwd: this.deps.cwd,
    });
    const { accounting } = this.deps;
    const estimate = accounting.estimate(plan);
    const dispatched = await executePlan(
      plan,
      estimate,
      run.signal,
      {
        backend: this.deps.backend(options.backend),
        accounting,
        onEvent: (request, event) => run.onEvent(request.index ?? 0, event, plan.runId),
      },
      false,
    );
    const position = { compiled: plan.compiled, bodyLine: plan.bodyLine };
    const results: RankResult[] = dispatched.slots.map((slot, rank) => {
      if (slot?.outcome.status === 'ok') {
        const outcome = (deserialize(slot.outcome.result) as ProgramResult).value as SegmentOutcome;
        return { rank, ok: true, outcome };
      }
      const error = slot
        ? invocationError(slot, position, rank)
        : new Error('never dispatched: the segment stopped first');
      return { rank, ok: false, error };
    });
    const attempts = dispatched.slots.map((slot) => slot?.attempts ?? []);
    const peaks = attempts
      .flat()
      .flatMap((a) => (a.maxMemoryUsedMb === undefined ? [] : [a.maxMemoryUsedMb]));
    return {
      runId: plan.runId,
      ranks: results,
      interrupted: dispatched.interrupted,
      costUsd: accounting.ledger.runTotal(plan.runId).totalUsd,
      workerMs: Math.max(
        0,
        ...attempts.map((list) => list.reduce((sum, a) => sum + attemptDurationMs(a), 0)),
      ),
      invocations: attempts.reduce((sum, list) => sum + list.length, 0),
      ...(peaks.length > 0 ? { peakMemoryMb: Math.max(...peaks) } : {}),
      initMs: Math.max(0, ...attempts.flat().map((a) => (a.cold ? a.initMs : 0))),
    };
  }
}
