/**
 * The shares of the side panel's height its four sections (invocations,
 * gradient traffic, training, cost) start with, and take once the traffic
 * or the training view first draws (each is a line of text until then).
 */

/** The initial shares of the height of the invocations, traffic, training and cost sections. */
export const SECTION_SIZES: readonly number[] = [0.44, 0.12, 0.12, 0.32];

/**
 * The shares once the traffic view first draws an exchange: its bars and
 * graph need about half the panel to be read without scrolling.
 */
export const TRAFFIC_SECTION_SIZES: readonly number[] = [0.22, 0.54, 0.08, 0.16];

/** The shares once the training view first draws a train() call (and no exchange was drawn). */
export const TRAINING_SECTION_SIZES: readonly number[] = [0.28, 0.08, 0.44, 0.2];

/** The shares once both have drawn: a data-parallel training shows its traffic and its epochs. */
export const TRAFFIC_TRAINING_SECTION_SIZES: readonly number[] = [0.12, 0.44, 0.32, 0.12];

/** The shares of the sections given which of the growing views have drawn. */
export function sectionSizes(shown: { traffic: boolean; training: boolean }): readonly number[] {
  if (shown.traffic) {
    return shown.training ? TRAFFIC_TRAINING_SECTION_SIZES : TRAFFIC_SECTION_SIZES;
  }
  return shown.training ? TRAINING_SECTION_SIZES : SECTION_SIZES;
}
