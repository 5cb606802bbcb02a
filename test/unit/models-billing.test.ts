/**
 * A body's `models` calls report their store requests to the kernel (a
 * `store-requests` event after each store call), which bills them to the
 * run: counted exactly as the store's meter counts them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { EmbeddedStore } from '../../kernel-magics/src/exchange/store';
import type { InvocationEvent } from '../../kernel-magics/src/output/sink';
import { OutputSink, setOutputSink } from '../../kernel-magics/src/output/sink';
import { ModelStore } from '../../kernel-magics/src/state';
import { ReportedStore, STORE_REQUESTS_EVENT } from '../../kernel-magics/src/state/reported-store';
import { trainedModel } from '../helpers/tf-models';

let tmp = '';
const events: InvocationEvent[] = [];
let previous: OutputSink | undefined;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'models-billing-'));
  events.length = 0;
  previous = setOutputSink({
    stream: () => undefined,
    display: () => undefined,
    clear: () => undefined,
    event: (event) => events.push(event),
  });
});

afterEach(() => {
  setOutputSink(previous);
  rmSync(tmp, { recursive: true, force: true });
});

const totals = () =>
  events
    .filter((e) => e.type === STORE_REQUESTS_EVENT)
    .reduce(
      (sum, e) => ({
        put: sum.put + Number(e.data.put),
        get: sum.get + Number(e.data.get),
        list: sum.list + Number(e.data.list),
        delete: sum.delete + Number(e.data.delete),
      }),
      { put: 0, get: 0, list: 0, delete: 0 },
    );

describe('store requests of models calls', () => {
  it('are reported after each store call, with the store kind, and only when there were some', async () => {
    const store = new ReportedStore(new EmbeddedStore(tmp));
    await store.put('a/b', new Uint8Array([1, 2, 3]));
    await store.get('a/b');
    await store.get('a/missing');
    await store.list('a/');
    await store.deletePrefix('a/');
    expect(events.map((e) => e.data)).toEqual([
      { store: 'embedded', put: 1, get: 0, list: 0, delete: 0 },
      { store: 'embedded', put: 0, get: 1, list: 0, delete: 0 },
      { store: 'embedded', put: 0, get: 1, list: 0, delete: 0 },
      { store: 'embedded', put: 0, get: 0, list: 1, delete: 0 },
      { store: 'embedded', put: 0, get: 0, list: 1, delete: 1 },
    ]);
    // A call that fails is reported as the meter counts it (not at all), and still rejects.
    await store.close();
    await expect(store.put('x', new Uint8Array(1))).rejects.toThrow(/closed/);
    expect(events).toHaveLength(5);
  });

  it('cover a whole save and load, counted as the meter counts a store of its own', async () => {
    const models = new ModelStore({ store: new EmbeddedStore(tmp) });
    const model = await trainedModel();
    await models.save('billed', model);
    const saved = totals();
    // The claim (model.json), the weights, the manifest, the latest pointer: four puts at least.
    expect(saved.put).toBeGreaterThanOrEqual(4);
    expect(saved.list).toBeGreaterThanOrEqual(1);
    events.length = 0;
    await models.load('billed');
    expect(totals().get).toBeGreaterThanOrEqual(3);
    expect(totals().put).toBe(0);
  });
});
