/** Lambda's CPU share (cost/cpu-share.ts): how long an invocation measured here would take on Lambda. */
import { lambdaEquivalentMs, ONE_VCPU_MB, vcpuShare } from '../../kernel-magics/src/cost/cpu-share';

describe("Lambda's CPU share", () => {
  it('gives one vCPU at 1,769 MB and a proportional fraction below', () => {
    expect(vcpuShare(ONE_VCPU_MB)).toBe(1);
    expect(vcpuShare(128)).toBeCloseTo(0.0724, 4);
    expect(vcpuShare(10_240)).toBeCloseTo(5.79, 2);
  });

  it('stretches a CPU-bound body about 13.8x at 128 MB against 1,769 MB, and not at all above one vCPU', () => {
    const at128 = lambdaEquivalentMs(1000, 1000, 128);
    const at1769 = lambdaEquivalentMs(1000, 1000, 1769);
    expect(at128 / at1769).toBeCloseTo(1769 / 128, 6);
    expect(at128 / at1769).toBeGreaterThan(13.8);
    expect(at128 / at1769).toBeLessThan(13.9);
    // One thread cannot use more than one vCPU.
    expect(lambdaEquivalentMs(1000, 1000, 3008)).toBe(1000);
  });

  it('leaves the time a body waits as it is: a sleeping body takes about as long at 128 MB', () => {
    const sleeping = lambdaEquivalentMs(1000, 4, 128);
    expect(sleeping).toBeCloseTo(1000 - 4 + (4 * 1769) / 128, 9);
    expect(sleeping / lambdaEquivalentMs(1000, 4, 1769)).toBeLessThan(1.06);
  });

  it('leaves out the time spent waiting for this machine’s CPU (a Lambda has its share to itself)', () => {
    // 1,000 ms here: 300 queued behind other processes, 700 on the CPU.
    expect(lambdaEquivalentMs(1000, 700, 1769, 300)).toBe(700);
    expect(lambdaEquivalentMs(1000, 700, 128, 300)).toBeCloseTo((700 * 1769) / 128, 9);
    expect(lambdaEquivalentMs(1000, 0, 512, 2000)).toBe(0);
    expect(() => lambdaEquivalentMs(10, 1, 512, -1)).toThrow(RangeError);
  });

  it('counts CPU time over the wall time (several threads) as the wall time, and refuses nonsense', () => {
    expect(lambdaEquivalentMs(100, 250, 512)).toBeCloseTo((100 * 1769) / 512, 9);
    expect(() => lambdaEquivalentMs(-1, 0, 512)).toThrow(RangeError);
    expect(() => lambdaEquivalentMs(10, Number.NaN, 512)).toThrow(RangeError);
    expect(() => vcpuShare(0)).toThrow(/positive number of MB/);
  });
});
