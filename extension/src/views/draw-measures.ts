/**
 * The views' draw measures on the Performance timeline (see
 * `ChartView.DRAW_MEASURE_PREFIX`): the name of a view in them, and adding
 * one while keeping the timeline bounded.
 */

/** The name of a view in its measures: its first `jp-serverless-*` CSS class but the base one. */
export function viewMeasureName(node: HTMLElement): string {
  for (let i = 0; i < node.classList.length; i++) {
    const name = node.classList[i];
    if (name.startsWith('jp-serverless-') && name !== 'jp-serverless-View') {
      return name.slice('jp-serverless-'.length);
    }
  }
  return 'View';
}

/**
 * Adds a draw measure named `name` to the Performance timeline, which has
 * `count` measures of that name; returns how many it has now. The browser
 * keeps user timing entries until they are cleared, so the timeline is
 * bounded here: when `max` are kept, the
 * view's own name is cleared (`clearMeasures(name)`, nothing else) before
 * the next one is added. `getEntriesByName(name)` then gives the recent
 * draws; a `PerformanceObserver` of `measure` entries sees every one of
 * them (observers are told of an entry when it is added, whether or not it
 * is cleared later).
 */
export function recordDrawMeasure(
  name: string,
  count: number,
  max: number,
  options: PerformanceMeasureOptions,
): number {
  if (count >= max) {
    performance.clearMeasures(name);
    count = 0;
  }
  try {
    performance.measure(name, options);
    return count + 1;
  } catch {
    // A browser with User Timing Level 2 only (no options): leave it out.
    return count;
  }
}
