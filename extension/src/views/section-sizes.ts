/**
 * The shares of the side panel's height its four sections (invocations,
 * gradient traffic, training, cost) start with, and take once the traffic
 * or the training view first draws (each is a line of text until then).
 */

/**
 * The initial shares of the height of the invocations, traffic, training
 * and cost sections (the two in the middle a line of text each).
 */
export const SECTION_SIZES: readonly number[] = [0.46, 0.1, 0.1, 0.34];

/**
 * The shares once the traffic view first draws an exchange: its bars and
 * graph need about half the panel to be read without scrolling.
 */
export const TRAFFIC_SECTION_SIZES: readonly number[] = [0.2, 0.59, 0.06, 0.15];

/**
 * The shares once the training view first draws a train() call (and no
 * exchange was drawn): its two plots, legend and summary need as much.
 */
export const TRAINING_SECTION_SIZES: readonly number[] = [0.2, 0.06, 0.58, 0.16];

/**
 * The shares once both have drawn (a data-parallel training shows its
 * traffic and its epochs): the two charts split most of the panel; in a
 * short window each scrolls below its floor, or the user collapses others.
 */
export const TRAFFIC_TRAINING_SECTION_SIZES: readonly number[] = [0.1, 0.42, 0.4, 0.08];

/** The shares of the sections given which of the growing views have drawn. */
export function sectionSizes(shown: { traffic: boolean; training: boolean }): readonly number[] {
  if (shown.traffic) {
    return shown.training ? TRAFFIC_TRAINING_SECTION_SIZES : TRAFFIC_SECTION_SIZES;
  }
  return shown.training ? TRAINING_SECTION_SIZES : SECTION_SIZES;
}
