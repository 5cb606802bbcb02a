/**
 * Driving JupyterLab's page in browser tests as a user would: a notebook's
 * kernel, its cells, the serverless side panel and its timeline.
 */
import type { Locator, Page } from 'playwright-core';

/** The serverless side panel's element. */
export const PANEL = '#jupyter-serverless-panel';

/** The notebook panel on show. */
export function notebook(page: Page): Locator {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
}

/** Waits until the app shows the notebook with its kernel connected and in `state`. */
export async function waitForKernel(page: Page, state: 'Idle' | 'Busy'): Promise<void> {
  await page.waitForSelector('body[data-jp-serverless="loaded"]', { state: 'attached' });
  await notebook(page)
    .locator('.jp-Toolbar .jp-KernelName', { hasText: 'TypeScript (serverless)' })
    .waitFor();
  await page.locator('#jp-main-statusbar', { hasText: `TypeScript (serverless) | ${state}` }).waitFor();
}

/** Runs code cell `index` with Shift+Enter, as a user would; resolves once it ran. */
export async function runCell(page: Page, index: number, options: { wait?: boolean } = {}): Promise<Locator> {
  const cell = notebook(page).locator('.jp-CodeCell').nth(index);
  await cell.locator('.jp-InputPrompt').click();
  await page.keyboard.press('Shift+Enter');
  if (options.wait !== false) {
    await cell.locator('.jp-InputPrompt', { hasText: /\[\d+\]/ }).waitFor();
  }
  return cell;
}

/** Opens the side panel from its tab in the right sidebar. */
export async function openPanel(page: Page): Promise<void> {
  const panel = page.locator(PANEL);
  if (!(await panel.isVisible())) {
    await page.locator(`.jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id="jupyter-serverless-panel"]`).click();
  }
  await panel.waitFor({ state: 'visible' });
}

/** The timeline's summary line. */
export function timelineSummary(page: Page): Locator {
  return page.locator(`${PANEL} .jp-serverless-Timeline .jp-serverless-View-summary`);
}

/** Waits until the timeline's chart has drawn its bars (Plotly is loaded lazily). */
export async function waitForTimelineBars(page: Page): Promise<void> {
  await page.waitForFunction(
    (selector) =>
      document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot .barlayer .point`) !== null,
    PANEL,
  );
}

/** Invocation ids per bar state, as drawn in the timeline's Plotly figure. */
export async function drawnInvocations(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate((selector) => {
    const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
      (Element & { data?: { name?: string; customdata?: (string | null)[] }[] }) | null;
    const byState: Record<string, string[]> = {};
    for (const trace of plot?.data ?? []) {
      const ids = new Set((trace.customdata ?? []).filter((id): id is string => typeof id === 'string'));
      byState[trace.name ?? '?'] = [...ids];
    }
    return byState;
  }, PANEL);
}
