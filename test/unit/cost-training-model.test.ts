/** The train-time step model (cost/training-model.ts): profiles at a few worker counts predicting any workers x memory. */
import { DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import { fitStepModel, TrainingModel } from '../../kernel-magics/src/cost/training-model';

const PRICING = { prices: DEFAULT_PRICES, arch: 'x86_64' as const };

/** Time of `cpu` ms of CPU and `wait` ms waiting: its active time is both. */
const cw = (cpu: number, wait: number) => ({ cpuMs: cpu, activeMs: cpu + wait });

describe('the train-time step model', () => {
  // A step: 2 ms fixed + 0.5 ms a local sample of CPU; the exchange waits 3 ms + 1.5 ms a worker.
  const truth = (workers: number) => ({ workers, ...cw(2 + (0.5 * 32) / workers, 3 + 1.5 * workers) });

  it('recovers the compute and exchange parts from two worker counts', () => {
    const model = fitStepModel([truth(1), truth(4)], 32);
    expect(model.cpuFixedMs).toBeCloseTo(2, 9);
    expect(model.cpuPerSampleMs).toBeCloseTo(0.5, 9);
    expect(model.restBaseMs).toBeCloseTo(3, 9);
    expect(model.restPerWorkerMs).toBeCloseTo(1.5, 9);
  });

  /** Profiles whose steps follow `truth`, with setup, evaluation, checkpoint and memory of their own. */
  const profile = (workers: number) => {
    const { cpuMs, activeMs } = truth(workers);
    return {
      workers,
      step: { cpuMs, activeMs },
      setup: cw(400, 100),
      evaluatePerSample: cw(0.1, 0),
      checkpoint: cw(10, 20),
      peakMb: 200 - 10 * workers,
      initMs: 150,
    };
  };
  const shape = {
    batchSize: 32,
    stepsPerEpoch: (workers: number) => (workers === 4 ? 99 : 100),
    epochs: 2,
    validationSamples: 1000,
    timeoutMs: 60_000,
  };

  it('predicts a profiled worker count from its own measures, and any memory from the CPU share', () => {
    const model = new TrainingModel([profile(1), profile(4)], shape, PRICING);
    const at4 = model.predict(4, 1769);
    expect(at4.basis).toBe('profiled');
    expect(at4.stepMs).toBeCloseTo(2 + 4 + 3 + 6, 9);
    // Setup, then per epoch: 99 steps, a quarter of the validation set, a checkpoint.
    const epochEnd = 250 * 0.1 + 30;
    expect(at4.totalMs).toBeCloseTo(500 + 2 * (99 * 15 + epochEnd), 9);
    // Below a vCPU the CPU parts stretch, the waiting does not.
    const stretch = 1769 / 512;
    expect(model.predict(4, 512).totalMs).toBeCloseTo(
      400 * stretch + 100 + 2 * (99 * (6 * stretch + 9) + 25 * stretch + 10 * stretch + 20),
      6,
    );
    // Four workers, each billed for the whole training at 1,769 MB, a request and an INIT each.
    const gbSecond = 0.0000166667;
    const billed = Math.ceil(at4.totalMs) + 150;
    expect(at4.costUsd).toBeCloseTo(((4 * ((billed / 1000) * 1769)) / 1024) * gbSecond + 4 * 0.0000002, 9);
    expect(at4.invocations).toBe(4);
    expect(at4.peakMb).toBe(160);
  });

  it('models the worker counts it did not profile, with the memory of the next fewer profiled', () => {
    const model = new TrainingModel([profile(1), profile(4)], shape, PRICING);
    const at2 = model.predict(2, 1769);
    expect(at2.basis).toBe('modelled');
    expect(at2.stepMs).toBeCloseTo(2 + 8 + 3 + 3, 9);
    expect(at2.peakMb).toBe(190);
    expect(model.predict(8, 1769).peakMb).toBe(160);
    expect(() => model.predict(2, 100)).toThrow(/Memory must be a whole number of MB/);
  });

  it('splits a training longer than its timeout into segments, each a request per worker', () => {
    const model = new TrainingModel([profile(1)], { ...shape, timeoutMs: 1000 }, PRICING);
    const at1 = model.predict(1, 1769);
    expect(at1.invocations).toBe(Math.ceil(at1.totalMs / 850));
    expect(() => new TrainingModel([], shape, PRICING)).toThrow(/at least one measured worker count/);
  });

  it("counts active time as the runtime's clock does: CPU of other threads alongside is not added twice", () => {
    // 10 ms of CPU in 8 ms active (a GC thread ran alongside the step).
    const threaded = { ...profile(1), step: { cpuMs: 10, activeMs: 8 } };
    const model = new TrainingModel([threaded], { ...shape, validationSamples: 0 }, PRICING);
    const steps = 2 * 100;
    const at1769 = model.predict(1, 1769);
    expect(at1769.stepMs).toBeCloseTo(8, 9);
    expect(model.predict(1, 512).stepMs).toBeCloseTo(8 + 10 * (1769 / 512 - 1), 9);
    expect(at1769.totalMs).toBeCloseTo(500 + steps * 8 + 2 * 30, 9);
  });

  it('fits one worker count as a flat wait, and refuses nonsense', () => {
    const model = fitStepModel([truth(2)], 32);
    expect(model.restPerWorkerMs).toBe(0);
    expect(model.restBaseMs).toBeCloseTo(6, 9);
    expect(() => fitStepModel([], 32)).toThrow(/at least one measured worker count/);
    expect(() => fitStepModel([{ workers: 0, cpuMs: 1, activeMs: 1 }], 32)).toThrow(/workers >= 1/);
  });
});
