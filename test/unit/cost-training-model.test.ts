/** The train-time step model (cost/training-model.ts): fitted to steps at two worker counts, predicting any workers x memory. */
import { DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import { fitStepModel, predictTraining } from '../../kernel-magics/src/cost/training-model';

const PRICING = { prices: DEFAULT_PRICES, arch: 'x86_64' as const };

describe('the train-time step model', () => {
  // A step: 2 ms fixed + 0.5 ms a local sample of CPU; the exchange waits 3 ms + 1.5 ms a worker.
  const truth = (workers: number) => ({
    workers,
    cpuMs: 2 + (0.5 * 32) / workers,
    waitMs: 3 + 1.5 * workers,
  });

  it('recovers the compute and exchange parts from two worker counts', () => {
    const model = fitStepModel([truth(1), truth(4)], 32);
    expect(model.cpuFixedMs).toBeCloseTo(2, 9);
    expect(model.cpuPerSampleMs).toBeCloseTo(0.5, 9);
    expect(model.waitBaseMs).toBeCloseTo(3, 9);
    expect(model.waitPerWorkerMs).toBeCloseTo(1.5, 9);
  });

  it('predicts a step at any workers x memory, and the training’s time and cost', () => {
    const model = fitStepModel([truth(1), truth(4)], 32);
    const shape = { batchSize: 32, stepsPerEpoch: 100, epochs: 2, setupMs: 500 };
    const at2 = predictTraining(model, shape, 2, 1769, PRICING);
    expect(at2.stepMs).toBeCloseTo(2 + 8 + 3 + 3, 9);
    expect(at2.totalMs).toBeCloseTo(500 + 16 * 200, 9);
    // Below a vCPU the CPU part stretches, the waiting does not.
    expect(predictTraining(model, shape, 2, 512, PRICING).stepMs).toBeCloseTo((10 * 1769) / 512 + 6, 9);
    expect(() => predictTraining(model, shape, 2, 100, PRICING)).toThrow(
      /Memory must be a whole number of MB/,
    );
    // Two workers, each billed for the whole training at 1,769 MB, and a request each.
    expect(at2.costUsd).toBeCloseTo(2 * ((3.7 * 1769) / 1024) * 0.0000166667 + 2 * 0.0000002, 9);
  });

  it('fits one worker count as a flat wait, and refuses nonsense', () => {
    const model = fitStepModel([truth(2)], 32);
    expect(model.waitPerWorkerMs).toBe(0);
    expect(model.waitBaseMs).toBeCloseTo(6, 9);
    expect(() => fitStepModel([], 32)).toThrow(/at least one measured worker count/);
    expect(() => fitStepModel([{ workers: 0, cpuMs: 1, waitMs: 1 }], 32)).toThrow(/workers >= 1/);
  });
});
