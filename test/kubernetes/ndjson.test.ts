import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNdjson } from '../../src/kubernetes/ndjson.ts';
import { KubernetesApiError } from '../../src/kubernetes/errors.ts';
import { fullGc } from '../helpers/gc.ts';

async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function collect(source: AsyncIterable<Uint8Array>, maxLineLength?: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of parseNdjson(source, maxLineLength === undefined ? {} : { maxLineLength })) out.push(v);
  return out;
}

describe('parseNdjson', () => {
  test('joins lines split across chunks, skips blank lines, keeps a last line without newline', async () => {
    const values = await collect(chunksOf('{"a":', '1}\n{"b"', ':2}\n\n', '\r\n{"c"', ':[1,2,', '3]}\n{"d":4}'));
    assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: [1, 2, 3] }, { d: 4 }]);
  });

  test('decodes UTF-8 characters split across chunks', async () => {
    const bytes = Buffer.from('{"name":"ünïcødé-€-𝄞"}\n');
    // Split every character's bytes apart: one byte per chunk.
    const values = await collect(chunksOf(...[...bytes].map((b) => Uint8Array.of(b))));
    assert.deepEqual(values, [{ name: 'ünïcødé-€-𝄞' }]);
  });

  test('a line that is not JSON rejects EBADRESP naming the line', async () => {
    await assert.rejects(collect(chunksOf('{"ok":1}\n{not json}\n')), (err: unknown) => {
      assert.ok(err instanceof KubernetesApiError);
      assert.equal(err.code, 'EBADRESP');
      assert.match(err.message, /line 2 .*not JSON/);
      return true;
    });
  });

  test('an over-long line rejects EBADRESP before the rest of the stream is read', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced++;
        yield Buffer.alloc(100, 'x');
      }
    }
    await assert.rejects(collect(endless(), 1000), (err: unknown) => {
      assert.ok(err instanceof KubernetesApiError);
      assert.equal(err.code, 'EBADRESP');
      assert.match(err.message, /exceeds 1000 characters/);
      return true;
    });
    assert.ok(produced <= 11, `read ${produced} chunks for a 1000-character limit`);
    // The limit holds for a long line that ends within one chunk too.
    await assert.rejects(collect(chunksOf(`${'y'.repeat(2000)}\n`), 1000), /exceeds 1000 characters/);
    // A line right at the limit is fine.
    assert.deepEqual(await collect(chunksOf(`"${'z'.repeat(998)}"\n`), 1000), ['z'.repeat(998)]);
  });

  test('50 MB stream: parsed incrementally, never more than a chunk or two ahead', async () => {
    const line = `${JSON.stringify({ type: 'MODIFIED', object: { pad: 'p'.repeat(1000) } })}\n`;
    const perChunk = 64;
    const chunk = Buffer.from(line.repeat(perChunk));
    const total = Math.ceil((50 * 1024 * 1024) / chunk.length);
    let produced = 0;
    async function* big(): AsyncGenerator<Uint8Array> {
      // Chunk boundaries off the line boundaries: every line gets split somewhere.
      const shifted = Buffer.concat([chunk.subarray(7), chunk.subarray(0, 7)]);
      yield chunk.subarray(0, 7);
      for (; produced < total; ) {
        produced++;
        yield shifted;
      }
      yield Buffer.from(line).subarray(7); // completes the line the last chunk began
    }
    // A full GC at a few points shows what is live: the parser's state, not the stream.
    const gc = fullGc();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = 0;
    let consumed = 0;
    let maxLag = 0;
    for await (const value of parseNdjson(big())) {
      consumed++;
      if (consumed % 10_000 === 0) {
        gc();
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed - heapBefore);
      }
      assert.equal((value as { type: string }).type, 'MODIFIED');
      // Lines produced so far minus lines handed out: what the parser holds.
      maxLag = Math.max(maxLag, produced * perChunk + 1 - consumed);
    }
    assert.equal(consumed, total * perChunk + 1);
    assert.ok(maxLag <= 2 * perChunk, `parser ran ${maxLag} lines ahead of its consumer`);
    assert.ok(total * chunk.length >= 50 * 1024 * 1024);
    assert.ok(heapPeak < 8 * 1024 * 1024, `${heapPeak} bytes live while 50 MB went through`);
  });
});
