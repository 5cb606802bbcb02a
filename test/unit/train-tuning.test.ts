/**
 * Train-time tuning's decisions apart from running anything
 * (training/tuning): the options it reads, how workers' measures fold into a
 * worker count's profile, the pick among workers x memory, and what the cell
 * shows.
 */
import { TrainingModel } from '../../kernel-magics/src/cost/training-model';
import { DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import { TrainingConfigError } from '../../kernel-magics/src/training/errors';
import type { TrainOptions } from '../../kernel-magics/src/training/options';
import { foldProfiles } from '../../kernel-magics/src/training/tuning/profile-run';
import { tuningSummary, tuningTableText } from '../../kernel-magics/src/training/tuning/report';
import { DEFAULT_TUNE_WORKERS, tuningRequest } from '../../kernel-magics/src/training/tuning/request';
import {
  pickTraining,
  type TrainTuneRow,
  type TrainTuning,
} from '../../kernel-magics/src/training/tuning/tune-training';

/** Options with only what tuning reads (the model and data are not looked at). */
const options = (extra: Partial<TrainOptions>): TrainOptions => ({ ...extra }) as unknown as TrainOptions;

describe('tuningRequest', () => {
  it('asks for nothing without an auto, and refuses deadline or tune without one', () => {
    expect(tuningRequest(options({ workers: 4, memory: 1024 }))).toBeUndefined();
    expect(() => tuningRequest(options({ workers: 4, deadline: 30 }))).toThrow(
      /deadline and tune are what train-time tuning uses: give workers: 'auto'/,
    );
    expect(() => tuningRequest(options({ tune: { workers: [1, 2] } }))).toThrow(TrainingConfigError);
  });

  it('takes the default grid, or the one given, sorted and without repeats', () => {
    expect(tuningRequest(options({ workers: 'auto', memory: 'auto', deadline: 20 }))).toEqual({
      workers: [...DEFAULT_TUNE_WORKERS],
      memory: [128, 512, 1024, 1769, 3008],
      deadlineS: 20,
    });
    expect(
      tuningRequest(options({ workers: 'auto', memory: 1024, tune: { workers: [4, 1, 4, 2] } })),
    ).toEqual({ workers: [1, 2, 4], memory: [1024] });
    // Memory left to the session's default: no list (the kernel's options give it).
    expect(tuningRequest(options({ workers: 'auto' }))).toEqual({ workers: [...DEFAULT_TUNE_WORKERS] });
    expect(tuningRequest(options({ workers: 3, memory: 'auto', tune: { memory: [2048, 512] } }))).toEqual({
      workers: [3],
      memory: [512, 2048],
    });
  });

  it('refuses values out of range, saying what it takes', () => {
    expect(() => tuningRequest(options({ workers: 'auto', deadline: -1 }))).toThrow(
      /deadline must be a number of seconds > 0; got -1/,
    );
    expect(() => tuningRequest(options({ workers: 'auto', tune: { workers: [0, 2] } }))).toThrow(
      /tune.workers must be a list of worker counts from 1 to 1000/,
    );
    expect(() => tuningRequest(options({ memory: 'auto', tune: { memory: [100] } }))).toThrow(
      /tune.memory: Memory must be a whole number of MB from 128 to 10240, got 100/,
    );
    expect(() => tuningRequest(options({ workers: 2, memory: 'auto', tune: { workers: [1] } }))).toThrow(
      /tune.workers needs workers: 'auto'/,
    );
  });
});

describe('foldProfiles', () => {
  const worker = (cpu: number, active: number, setupActive: number, extra = {}) => ({
    setup: { cpuMs: 900, activeMs: setupActive },
    step: { cpuMs: cpu, activeMs: active },
    evaluatePerSample: { cpuMs: 0.2, activeMs: 0.25 },
    peakRssMb: 150,
    ...extra,
  });

  it("takes the most CPU a worker spent on a step (the others wait for it) and the workers' mean active time", () => {
    const folded = foldProfiles(
      2,
      [
        worker(12, 30, 1500, { checkpoint: { cpuMs: 5, activeMs: 25 } }),
        worker(8, 32, 1400, { peakRssMb: 170 }),
      ],
      { peakMemoryMb: 160, initMs: 120 },
    );
    expect(folded.step).toEqual({ cpuMs: 12, activeMs: 31 });
    // The slowest worker's setup.
    expect(folded.setup).toEqual({ cpuMs: 900, activeMs: 1500 });
    expect(folded.evaluatePerSample?.cpuMs).toBeCloseTo(0.2, 9);
    expect(folded.evaluatePerSample?.activeMs).toBeCloseTo(0.25, 9);
    expect(folded.checkpoint).toEqual({ cpuMs: 5, activeMs: 25 });
    expect(folded.peakMb).toBe(170);
    expect(folded.initMs).toBe(120);
  });

  it('keeps CPU time above active time as it is (other threads ran alongside)', () => {
    const folded = foldProfiles(1, [worker(40, 35, 800)], { initMs: 0 });
    expect(folded.step).toEqual({ cpuMs: 40, activeMs: 35 });
    expect(folded.setup).toEqual({ cpuMs: 900, activeMs: 800 });
  });
});

describe('pickTraining', () => {
  const row = (
    workers: number,
    memoryMb: number,
    runS: number,
    costUsd: number,
    deadlineS?: number,
  ): TrainTuneRow => ({
    workers,
    memoryMb,
    status: 'modelled',
    how: 'modelled',
    runMs: runS * 1000,
    costUsd,
    meetsDeadline: deadlineS === undefined || runS <= deadlineS,
  });

  it('picks the cheapest that meets the deadline, and says why', () => {
    const rows = [row(1, 512, 40, 0.001, 30), row(2, 1024, 25, 0.0016, 30), row(4, 1769, 12, 0.003, 30)];
    const pick = pickTraining(rows, 30);
    expect(pick.row).toBe(rows[1]);
    expect(pick.reason).toBe(
      '2 workers x 1024 MB is the cheapest predicted to finish within the deadline of 30 s (~25.0 s).',
    );
    const noDeadline = [row(1, 512, 40, 0.001), row(2, 1024, 25, 0.0016), row(4, 1769, 12, 0.003)];
    expect(pickTraining(noDeadline).row.workers).toBe(1);
  });

  it('takes the faster of equally cheap ones (CPU-bound work costs the same below a vCPU)', () => {
    const rows = [row(1, 512, 40, 0.001), row(1, 1024, 20, 0.001)];
    expect(pickTraining(rows).row.memoryMb).toBe(1024);
  });

  it('falls back to the fastest when none meets the deadline, and refuses when nothing fits', () => {
    const rows = [row(1, 512, 40, 0.001, 5), row(4, 1769, 12, 0.003, 5)];
    const pick = pickTraining(rows, 5);
    expect(pick.row.workers).toBe(4);
    expect(pick.reason).toMatch(
      /No workers x memory is predicted to meet the deadline of 5 s: the fastest, 4 workers x 1769 MB/,
    );
    const tooSmall: TrainTuneRow = {
      workers: 1,
      memoryMb: 128,
      status: 'out-of-memory',
      how: "a worker's peak was 180 MB",
      peakMb: 180,
      meetsDeadline: false,
    };
    expect(() => pickTraining([tooSmall])).toThrow(/at least 225 MB/);
  });
});

describe('what the cell shows', () => {
  it('a row per workers x memory with the pick marked, and why', () => {
    const profile = (workers: number) => ({
      workers,
      step: { cpuMs: 4 + 16 / workers, activeMs: 4 + 16 / workers + 3 * workers },
      setup: { cpuMs: 1200, activeMs: 1400 },
      peakMb: 140,
      initMs: 100,
    });
    const model = new TrainingModel(
      [profile(1), profile(2)],
      { batchSize: 64, stepsPerEpoch: () => 100, epochs: 1, validationSamples: 0, timeoutMs: 60_000 },
      { prices: DEFAULT_PRICES, arch: 'x86_64' },
    );
    const rows: TrainTuneRow[] = [1, 2].flatMap((workers) =>
      [128, 1024].map((memoryMb) => {
        const p = model.predict(workers, memoryMb);
        return memoryMb === 128
          ? {
              workers,
              memoryMb,
              status: 'out-of-memory' as const,
              how: "a worker's peak was 140 MB",
              peakMb: 140,
              meetsDeadline: false,
            }
          : {
              workers,
              memoryMb,
              status: 'modelled' as const,
              how: 'profiled at 1769 MB',
              runMs: p.totalMs,
              costUsd: p.costUsd,
              peakMb: p.peakMb,
              meetsDeadline: true,
            };
      }),
    );
    const pick = pickTraining(rows);
    const tuning: TrainTuning = {
      pick: { workers: pick.row.workers, memoryMb: pick.row.memoryMb },
      reason: pick.reason,
      meetsDeadline: true,
      predicted: { seconds: pick.row.runMs / 1000, costUsd: pick.row.costUsd },
      rows,
      profiled: { workers: [1, 2], memoryMb: 1769 },
      profiles: [profile(1), profile(2)],
      invocations: 3,
      costUsd: 0.00012,
    };
    const text = tuningTableText(tuning);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^workers\s+memory\s+how\s+training\s+cost\s+peak memory$/);
    expect(lines).toHaveLength(5);
    expect(lines.filter((line) => line.startsWith('→ '))).toEqual([
      expect.stringMatching(/^→ 1\s+1024 MB\s+profiled at 1769 MB/),
    ]);
    expect(lines[1]).toMatch(/^1\s+128 MB\s+a worker's peak was 140 MB\s+140 MB$/);
    expect(tuningSummary(tuning)).toBe(
      `Training on 1 worker x 1024 MB: ${pick.reason} Tuning profiled 1 and 2 workers at 1769 MB ` +
        "(3 invocations, $0.00012); the other sizes are predicted from Lambda's CPU share of their memory.",
    );
  });
});
