/**
 * Store URLs: the accepted forms parse to typed specs, everything else is a
 * StoreConfigError that lists the accepted forms, credentials in a URL are
 * refused, messages never show a secret; and opening a store loads the
 * Redis or S3 client library only for a store of that kind.
 */
import * as os from 'node:os';
import * as path from 'node:path';

import {
  describeStore,
  openStore,
  parseStoreUrl,
  StoreConfigError,
  STORE_URL_FORMS,
} from '../../kernel-magics/src/exchange/store';

const ENV = { SERVERLESS_STORE: '/data/store' };

describe('parseStoreUrl', () => {
  it('parses `embedded` to the configured directory, or the default one', () => {
    expect(parseStoreUrl('embedded', ENV)).toEqual({ kind: 'embedded', dir: '/data/store', url: 'embedded' });
    expect(parseStoreUrl('embedded', {})).toMatchObject({
      dir: path.join(os.homedir(), '.local', 'share', 'serverless-kernel', 'store'),
    });
  });

  it('parses `embedded:/abs/dir`, normalized, and refuses a relative directory', () => {
    expect(parseStoreUrl('embedded:/tmp/x/../store/', ENV)).toEqual({
      kind: 'embedded',
      dir: '/tmp/store',
      url: 'embedded:/tmp/store',
    });
    expect(() => parseStoreUrl('embedded:store', ENV)).toThrow(/absolute path/);
  });

  it('parses redis URLs with their defaults and options', () => {
    expect(parseStoreUrl('redis://127.0.0.1')).toEqual({
      kind: 'redis',
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      prefix: 'serverless-kernel:',
      usdPerHour: 0,
      timeoutMs: 5000,
      url: 'redis://127.0.0.1/0?prefix=serverless-kernel%3A',
    });
    expect(
      parseStoreUrl('redis://cache.local:7000/3?prefix=team/a:&usdPerHour=0.017&timeoutMs=800'),
    ).toMatchObject({
      host: 'cache.local',
      port: 7000,
      db: 3,
      prefix: 'team/a:',
      usdPerHour: 0.017,
      timeoutMs: 800,
    });
    expect(parseStoreUrl('redis://[::1]:6380/')).toMatchObject({ host: '::1', port: 6380, db: 0 });
    expect(parseStoreUrl('redis://h?prefix=')).toMatchObject({ prefix: '' });
  });

  it('parses s3 URLs: bucket, prefix as a folder, endpoint, region', () => {
    expect(parseStoreUrl('s3://my-bucket')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      endpoint: undefined,
      region: undefined,
      timeoutMs: 30000,
      url: 's3://my-bucket/',
    });
    expect(
      parseStoreUrl('s3://my.bucket/runs/exchange?endpoint=http://127.0.0.1:4568/&region=eu-west-1'),
    ).toEqual({
      kind: 's3',
      bucket: 'my.bucket',
      prefix: 'runs/exchange/',
      endpoint: 'http://127.0.0.1:4568',
      region: 'eu-west-1',
      timeoutMs: 30000,
      url: 's3://my.bucket/runs/exchange/?endpoint=http%3A%2F%2F127.0.0.1%3A4568&region=eu-west-1',
    });
    expect(parseStoreUrl('s3://b12/p/?timeoutMs=2000')).toMatchObject({ prefix: 'p/', timeoutMs: 2000 });
  });

  it('gives back the same spec from its canonical URL', () => {
    for (const url of [
      'embedded:/tmp/store',
      'redis://cache.local:7000/3?prefix=team/a:&usdPerHour=0.017&timeoutMs=800',
      's3://my.bucket/runs?endpoint=http://127.0.0.1:4568&region=eu-west-1&timeoutMs=900',
    ]) {
      const spec = parseStoreUrl(url, ENV);
      expect(parseStoreUrl(spec.url, ENV)).toEqual(spec);
    }
  });

  it.each([
    ['', /a store URL is required/],
    ['fs:///tmp', /is not a store URL/],
    ['http://127.0.0.1:6379', /is not a store URL/],
    ['redis://', /Redis host is missing|not a valid URL/],
    ['redis://h:99999', /not a valid URL/],
    ['redis://h/x', /database number/],
    ['redis://h/1/2', /database number/],
    ['redis://h?prefix=a*b', /prefix must be/],
    ['redis://h?usdPerHour=-1', /usdPerHour must be a number from 0/],
    ['redis://h?usdPerHour=abc', /usdPerHour must be a number/],
    ['redis://h?timeoutMs=5', /timeoutMs must be a number from 100/],
    ['redis://h?timeoutMs=1000.5', /whole number/],
    ['redis://h?db=2', /unknown parameter "db"/],
    ['redis://h?prefix=a&prefix=b', /given twice/],
    ['redis://h#x', /fragment/],
    ['s3://B', /not an S3 bucket name/],
    ['s3://ab', /not an S3 bucket name/],
    ['s3://bucket:9000/p', /names a bucket, not a host/],
    ['s3://bucket/a//b', /key prefix is not valid/],
    ['s3://bucket/a b', /key prefix is not valid/],
    ['s3://bucket?endpoint=ftp://h', /endpoint must be http/],
    ['s3://bucket?endpoint=http://h/path', /endpoint must be http/],
    ['s3://bucket?endpoint=not a url', /endpoint must be a URL/],
    ['s3://bucket?region=EU_WEST', /region must be/],
    ['s3://bucket?Endpoint=http://h', /unknown parameter "Endpoint"/],
  ])('refuses %j', (url, problem) => {
    let error: unknown;
    try {
      parseStoreUrl(url, ENV);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StoreConfigError);
    expect((error as Error).message).toMatch(problem);
    // Every refusal lists the accepted forms.
    for (const form of STORE_URL_FORMS) {
      expect((error as Error).message).toContain(form);
    }
  });

  it('refuses credentials in a URL, says where they go, and never repeats the secret', () => {
    const attempts: [string, RegExp][] = [
      ['redis://:hunter2@cache:6379', /\$SERVERLESS_REDIS_PASSWORD/],
      ['redis://admin:hunter2@cache:6379/1', /\$SERVERLESS_REDIS_PASSWORD/],
      ['redis://admin@cache', /user name/],
      ['s3://KEY:hunter2@bucket/p', /default chain/],
      ['s3://bucket?endpoint=http://key:hunter2@127.0.0.1:4568', /no credentials/],
      ['s3://bucket?endpoint=http%3A%2F%2Fkey%3Ahunter2%40127.0.0.1%3A4568', /no credentials/],
    ];
    for (const [url, hint] of attempts) {
      expect(() => parseStoreUrl(url)).toThrow(StoreConfigError);
      expect(() => parseStoreUrl(url)).toThrow(hint);
      expect(() => parseStoreUrl(url)).not.toThrow(/hunter2/);
    }
  });
});

describe('describeStore', () => {
  it('names the store without secrets', () => {
    expect(describeStore('embedded', ENV)).toBe('embedded store /data/store');
    expect(describeStore('redis://127.0.0.1:6380/2?prefix=x:')).toBe(
      'Redis store 127.0.0.1:6380 db 2 (keys under "x:")',
    );
    expect(describeStore('s3://bkt/p?endpoint=http://127.0.0.1:4568')).toBe(
      'S3 store s3://bkt/p/ at http://127.0.0.1:4568',
    );
    expect(describeStore('redis://user:hunter2@cache:6379')).toBe('store redis://***@cache:6379');
  });
});

describe('openStore', () => {
  /** Which client libraries a fresh module registry loads while `work` runs. */
  function librariesLoadedBy(work: (open: typeof openStore) => void): string[] {
    const loaded: string[] = [];
    jest.isolateModules(() => {
      for (const library of ['ioredis', '@aws-sdk/client-s3']) {
        // Records the load and hands out the real library.
        jest.doMock(library, () => {
          loaded.push(library);
          return jest.requireActual(library);
        });
      }
      // A fresh copy of the module, in the isolated registry.
      const stores = jest.requireActual<typeof import('../../kernel-magics/src/exchange/store')>(
        '../../kernel-magics/src/exchange/store',
      );
      work(stores.openStore);
    });
    return loaded;
  }

  it('loads no client library for the embedded store, and only its own for Redis or S3', async () => {
    const closing: Promise<void>[] = [];
    expect(librariesLoadedBy(() => undefined)).toEqual([]);
    expect(librariesLoadedBy((open) => closing.push(open('embedded:/tmp/unused').close()))).toEqual([]);
    // Opening connects nothing: the first call would.
    expect(librariesLoadedBy((open) => closing.push(open('redis://127.0.0.1:1').close()))).toEqual([
      'ioredis',
    ]);
    expect(
      librariesLoadedBy((open) => closing.push(open('s3://bucket?endpoint=http://127.0.0.1:1').close())),
    ).toEqual(['@aws-sdk/client-s3']);
    await Promise.all(closing);
  });

  it('wraps the store in a meter and says where it is', async () => {
    const store = openStore('redis://127.0.0.1:1/2?prefix=p:');
    expect(store.kind).toBe('redis');
    expect(store.location).toBe('redis://127.0.0.1:1/2?prefix=p%3A');
    expect(store.usage()).toEqual({
      requests: { put: 0, get: 0, list: 0, delete: 0 },
      bytesUp: 0,
      bytesDown: 0,
    });
    await store.close();
    expect(() => openStore('memcached://h')).toThrow(StoreConfigError);
  });
});
