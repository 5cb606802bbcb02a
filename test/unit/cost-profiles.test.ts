/**
 * Profiles of programs (cost/profiles.ts), the clock of a running invocation
 * (runtime/local/cpu-share-clock.ts) and the CPU time read from /proc
 * (runtime/local/cpu-time.ts): what billing, timeouts and modelled
 * estimates at other memory sizes rest on.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { BillingClock } from '../../kernel-magics/src/cost/cpu-share';
import { predictMs, profileSample, ProgramProfiles } from '../../kernel-magics/src/cost/profiles';
import { InvocationClock } from '../../kernel-magics/src/runtime/local/cpu-share-clock';
import { CpuTimeReader, parseSchedstat, statCpuTicks } from '../../kernel-magics/src/runtime/cpu-time';

describe('profile samples', () => {
  it('split a run measured here into waiting and CPU time, and predict it at any memory', () => {
    const sample = profileSample({ memoryMb: 1024, durationMs: 500, cpuMs: 200, share: 1, peakMb: 90 });
    expect(sample).toEqual({ memoryMb: 1024, waitMs: 300, cpuMs: 200, peakMb: 90 });
    // Time in this machine's run queue is neither waiting nor CPU.
    expect(profileSample({ memoryMb: 1024, durationMs: 500, cpuMs: 200, queuedMs: 100, share: 1 })).toEqual({
      memoryMb: 1024,
      waitMs: 200,
      cpuMs: 200,
    });
    expect(predictMs(sample, 1769, 'lambda')).toBeCloseTo(500, 9);
    expect(predictMs(sample, 3008, 'lambda')).toBeCloseTo(500, 9);
    expect(predictMs(sample, 128, 'lambda')).toBeCloseTo(300 + (200 * 1769) / 128, 9);
    // On the host's clock memory changes nothing.
    expect(predictMs(sample, 128, 'host')).toBe(500);
  });

  it('read a run measured on Lambda itself at its memory’s share', () => {
    // 128 MB: 100 ms of CPU took ~1,382 ms there.
    const sample = profileSample({ memoryMb: 128, durationMs: 1482, cpuMs: 100, share: 128 / 1769 });
    expect(sample.cpuMs).toBeCloseTo(100, 9);
    expect(sample.waitMs).toBeCloseTo(1482 - (100 * 1769) / 128, 6);
    expect(predictMs(sample, 1769, 'lambda')).toBeCloseTo(sample.waitMs + 100, 6);
  });

  it('count CPU time over the duration (several threads) as the duration, and refuse nonsense', () => {
    expect(profileSample({ memoryMb: 512, durationMs: 100, cpuMs: 250, share: 1 })).toEqual({
      memoryMb: 512,
      waitMs: 0,
      cpuMs: 100,
    });
    expect(() => profileSample({ memoryMb: 512, durationMs: -1, cpuMs: 0, share: 1 })).toThrow(
      /finite and >= 0/,
    );
    expect(() => profileSample({ memoryMb: 512, durationMs: 1, cpuMs: 0, share: 0 })).toThrow(/share > 0/);
  });
});

describe('ProgramProfiles', () => {
  it('predicts from the nearest measured size, with the peak memory seen there', () => {
    const profiles = new ProgramProfiles();
    expect(profiles.predict('p', 512, 'lambda')).toBeUndefined();
    for (const cpuMs of [100, 120, 110]) {
      profiles.record(
        'p',
        profileSample({ memoryMb: 1024, durationMs: cpuMs + 50, cpuMs, share: 1, peakMb: cpuMs }),
      );
    }
    profiles.record('p', profileSample({ memoryMb: 128, durationMs: 1000, cpuMs: 10, share: 1, peakMb: 70 }));
    expect(profiles.measuredSizes('p')).toEqual([128, 1024]);
    const at2048 = profiles.predict('p', 2048, 'lambda');
    expect(at2048).toMatchObject({ fromMemoryMb: 1024, samples: 3, cpuMs: 110, waitMs: 50, peakMb: 120 });
    expect(at2048?.perInvocationMs).toBeCloseTo(160, 9);
    const at512 = profiles.predict('p', 512, 'lambda');
    expect(at512?.fromMemoryMb).toBe(1024);
    expect(at512?.perInvocationMs).toBeCloseTo(50 + (110 * 1769) / 512, 6);
    expect(profiles.predict('p', 192, 'lambda')?.fromMemoryMb).toBe(128);
  });

  it('keeps a bounded number of samples per size and of programs, the least recently used dropped', () => {
    const profiles = new ProgramProfiles({ perSize: 2, maxPrograms: 2 });
    for (const cpuMs of [1, 2, 3]) {
      profiles.record('a', profileSample({ memoryMb: 128, durationMs: 10, cpuMs, share: 1 }));
    }
    expect(profiles.predict('a', 128, 'host')?.samples).toBe(2);
    expect(profiles.predict('a', 128, 'host')?.cpuMs).toBe(2.5);
    profiles.record('b', profileSample({ memoryMb: 128, durationMs: 10, cpuMs: 1, share: 1 }));
    profiles.predict('a', 128, 'host');
    profiles.record('c', profileSample({ memoryMb: 128, durationMs: 10, cpuMs: 1, share: 1 }));
    expect(profiles.predict('b', 128, 'host')).toBeUndefined();
    expect(profiles.predict('a', 128, 'host')).toBeDefined();
  });
});

describe('the CPU time of a process from /proc', () => {
  it('reads utime and stime after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (worker) x) R 1 4242 4242 0 -1 4194304 500 0 0 0 37 5 0 0 20 0 11 0';
    expect(statCpuTicks(stat)).toBe(42);
    expect(statCpuTicks('garbage')).toBeUndefined();
    expect(parseSchedstat('281537732 53802530 767\n')).toEqual({ cpuMs: 281.537732, queuedMs: 53.80253 });
    expect(parseSchedstat('')).toBeUndefined();
  });

  it('follows a busy child and answers undefined once it is gone', async () => {
    const child = spawn(process.execPath, [
      '-e',
      'const end = Date.now() + 20000; while (Date.now() < end);',
    ]);
    const reader = new CpuTimeReader(() => child.pid);
    const first = reader.read()?.cpuMs ?? NaN;
    expect(first).toBeGreaterThanOrEqual(0);
    // However busy the machine, the child's CPU time grows (in 10 ms ticks).
    let later = first;
    for (const deadline = Date.now() + 10_000; later - first < 100 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      later = reader.read()?.cpuMs ?? NaN;
    }
    expect(later - first).toBeGreaterThanOrEqual(100);
    child.kill('SIGKILL');
    await once(child, 'exit');
    reader.close();
    expect(reader.read()).toBeUndefined();
  });
});

describe('InvocationClock', () => {
  /** A clock over a fake CPU that runs `busy` of every wall ms from now on. */
  function clockOver(busy: number, options: { memoryMb: number; timeoutMs: number; cpu: 'lambda' | 'host' }) {
    const start = performance.now();
    let timedOutAt: number | undefined;
    const clock = new InvocationClock({
      ...options,
      lagMs: 0,
      readCpu: () => ({ cpuMs: (performance.now() - start) * busy, queuedMs: 0 }),
      onTimeout: () => (timedOutAt = performance.now() - start),
    });
    return { clock, timedOutAt: () => timedOutAt };
  }

  const until = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('times out a CPU-bound invocation at 128 MB after ~7% of its timeout, a waiting one after all of it', async () => {
    const bound = clockOver(1, { memoryMb: 128, timeoutMs: 2000, cpu: 'lambda' });
    const waiting = clockOver(0, { memoryMb: 128, timeoutMs: 400, cpu: 'lambda' });
    await until(600);
    // 2 s of Lambda time at 7.2% of a vCPU: ~145 ms here.
    expect(bound.timedOutAt()).toBeGreaterThanOrEqual(140);
    expect(bound.timedOutAt()).toBeLessThan(1000);
    expect(waiting.timedOutAt()).toBeGreaterThanOrEqual(395);
    expect(bound.clock.modelled).toBe(true);
    expect(bound.clock.lambdaMs(100, { cpuMs: 100, queuedMs: 0 })).toBeCloseTo((100 * 1769) / 128, 6);
    // Time in this machine's run queue is left out: 40 of 100 ms queued, 60 on the CPU.
    expect(bound.clock.lambdaMs(100, { cpuMs: 60, queuedMs: 40 })).toBeCloseTo((60 * 1769) / 128, 6);
    bound.clock.stop();
    waiting.clock.stop();
  });

  it('runs on the host’s clock under --cpu host, and needs no CPU reading at a full vCPU', async () => {
    const host = clockOver(1, { memoryMb: 128, timeoutMs: 300, cpu: 'host' });
    const full = clockOver(1, { memoryMb: 1769, timeoutMs: 300, cpu: 'lambda' });
    await until(200);
    expect(host.timedOutAt()).toBeUndefined();
    expect(full.timedOutAt()).toBeUndefined();
    await until(200);
    expect(host.timedOutAt()).toBeGreaterThanOrEqual(295);
    expect(full.timedOutAt()).toBeGreaterThanOrEqual(295);
    expect(host.clock.modelled).toBe(false);
    expect(host.clock.lambdaMs(100)).toBeUndefined();
    expect(full.clock.modelled).toBe(true);
    expect(full.clock.lambdaMs(100, { cpuMs: 100, queuedMs: 0 })).toBe(100);
    expect(full.clock.lambdaMs(100, { cpuMs: 100, queuedMs: 30 })).toBe(70);
  });

  it('stops without timing out once stopped', async () => {
    const bound = clockOver(1, { memoryMb: 128, timeoutMs: 500, cpu: 'lambda' });
    bound.clock.stop();
    await until(200);
    expect(bound.timedOutAt()).toBeUndefined();
  });
});

describe('BillingClock', () => {
  it('counts busy time at the memory’s share, and the host’s time without one', () => {
    const lambda = new BillingClock(128);
    const host = new BillingClock();
    const end = Date.now() + 100;
    while (Date.now() < end);
    expect(host.now()).toBeGreaterThanOrEqual(99);
    expect(host.now()).toBeLessThan(400);
    // ~100 ms of CPU at 7.2% of a vCPU: well over a second.
    expect(lambda.now()).toBeGreaterThan(900);
  });
});
