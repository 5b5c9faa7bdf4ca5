// Gene set files and enrichment: GMT/GMX parsing with specific errors, identifier mapping,
// preranked GSEA and the hypergeometric test (against Fisher's tea-tasting example), BH.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { hypergeometricUpperTail, mapGeneSets, overRepresentation, prerankedGsea } from '../../src-main/node/analysis/enrichment.js';
import { GeneSetFileError, parseGeneSets } from '../../src-main/node/data/gene-sets.js';
import { Rng } from '../../src-main/node/data/random.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/gene-sets/${name}`, import.meta.url));
const genes = Array.from({ length: 60 }, (_, g) => ({ id: String(1000 + g), symbol: `G${g}` }));
const encode = (text: string) => new TextEncoder().encode(text);

describe('gene set files', () => {
  it('reads GMT and GMX into the same sets', () => {
    const gmt = parseGeneSets(fixture('small.gmt'), 'small.gmt');
    assert.deepEqual(
      gmt.map((s) => [s.name, s.genes.length]),
      [
        ['UP_PROGRAM', 8],
        ['DOWN_PROGRAM', 9],
        ['MIXED', 8],
        ['TOO_SMALL', 2],
      ],
    );
    const gmx = parseGeneSets(fixture('small.gmx'), 'small.gmx');
    assert.deepEqual(
      gmx.map((s) => s.genes),
      [
        ['G0', 'G1', 'G2'],
        ['G40', 'G41', 'G42', 'G43'],
      ],
    );
  });

  it('refuses bad files with a specific reason', () => {
    assert.throws(
      () => parseGeneSets(encode('ONLY_NAME\tdescription\n'), 'x.gmt'),
      /line 1: a GMT line is a set name, a description and genes/,
    );
    assert.throws(() => parseGeneSets(encode('A\td\tG1\nA\td\tG2\n'), 'x.gmt'), /"A" is defined twice/);
    assert.throws(() => parseGeneSets(encode('\n\n'), 'x.gmt'), /holds no gene sets/);
    assert.throws(() => parseGeneSets(Uint8Array.from([0x1f, 0x8b, 8, 0]), 'x.gmt.gz'), /gzip-compressed but is damaged or truncated/);
    assert.throws(() => parseGeneSets(Uint8Array.from([0x41, 0x09, 0xff, 0xfe, 0x09, 0x42]), 'x.gmt'), GeneSetFileError);
  });

  it('reads a gzipped collection as the plain file', () => {
    const plain = fixture('small.gmt');
    assert.deepEqual(parseGeneSets(gzipSync(plain), 'small.gmt.gz'), parseGeneSets(plain, 'small.gmt'));
  });

  it('maps identifiers by gene id, else symbol (any case), and counts the rest', () => {
    const [, down] = mapGeneSets(genes, parseGeneSets(fixture('small.gmt'), 'small.gmt'));
    assert.deepEqual(down?.indices, [40, 41, 42, 43, 44, 45, 46, 47]);
    assert.equal(down?.unmatched, 1);
    const [byId] = mapGeneSets(genes, [{ name: 'E', description: '', genes: ['1005', '1006'] }]);
    assert.deepEqual(byId?.indices, [5, 6]);
  });
});

describe('enrichment', () => {
  it("hypergeometric upper tail: Fisher's lady tasting tea, P(X ≥ 3) = 17/70", () => {
    assert.ok(Math.abs(hypergeometricUpperTail(3, 8, 4, 4) - 17 / 70) < 1e-12);
    assert.ok(Math.abs(hypergeometricUpperTail(0, 8, 4, 4) - 1) < 1e-12);
  });

  it('preranked GSEA finds the programs at both ends, BH-adjusted, and skips sets below the minimum size', () => {
    const rng = new Rng(11);
    const scores = genes.map((_, g) => (g < 8 ? 3 : g >= 40 && g < 48 ? -3 : 0) + rng.normal() * 0.5);
    const sets = mapGeneSets(genes, parseGeneSets(fixture('small.gmt'), 'small.gmt'));
    const { rows, skipped } = prerankedGsea(scores, sets, { minSize: 5, maxSize: 500, permutations: 500, seed: 1 });
    assert.equal(skipped, 1, 'TOO_SMALL');
    const byName = new Map(rows.map((r) => [r.name, r]));
    const up = byName.get('UP_PROGRAM');
    const down = byName.get('DOWN_PROGRAM');
    const mixed = byName.get('MIXED');
    assert.ok(up && down && mixed);
    assert.ok(up.es > 0.9 && (up.nes ?? 0) > 1.5 && (up.p ?? 1) < 0.01, JSON.stringify(up));
    assert.ok(down.es < -0.9 && (down.nes ?? 0) < -1.5 && (down.p ?? 1) < 0.01, JSON.stringify(down));
    assert.ok((mixed.p ?? 0) > 0.05, `a spread-out set is not enriched: ${JSON.stringify(mixed)}`);
    for (const r of rows) assert.ok(r.fdr !== null && r.p !== null && r.fdr >= r.p && r.fdr <= 1);
    assert.deepEqual(
      up.leadingGenes.slice().sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('over-representation of selected genes, BH-adjusted', () => {
    const sets = mapGeneSets(genes, parseGeneSets(fixture('small.gmt'), 'small.gmt'));
    const { rows } = overRepresentation([0, 1, 2, 3, 4, 5, 50, 51], genes.length, sets, { minSize: 3, maxSize: 500 });
    assert.equal(rows[0]?.name, 'UP_PROGRAM');
    assert.equal(rows[0]?.overlap, 6);
    assert.ok((rows[0]?.fdr ?? 1) < 1e-4);
    assert.ok(Math.abs((rows[0]?.p ?? 0) - hypergeometricUpperTail(6, 60, 8, 8)) < 1e-15);
  });
});
