// The pure parts of figure and table export: provenance entries, PNG chunks, SVG metadata,
// CSV comments, PDF strings. The browser parts (rendering, saving) are covered by e2e/export.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { pdfTextString } from '../../src-renderer/src/lib/export/pdf-strings.js';
import {
  readPngChunks,
  readPngDpi,
  readPngSize,
  readPngText,
  textChunk,
  withPngMetadata,
  writePng,
} from '../../src-renderer/src/lib/export/png.js';
import {
  buildProvenance,
  captionLines,
  csvCommentLines,
  exportFileName,
  type ProvenanceInput,
  pdfProperties,
  pngTextEntries,
  provenanceValue,
} from '../../src-renderer/src/lib/export/provenance.js';
import { readSvgProvenance, withSvgMetadata } from '../../src-renderer/src/lib/export/svg-metadata.js';
import { csvWithProvenance } from '../../src-renderer/src/lib/export/table.js';

const HASH = 'a3'.repeat(32);
const input: ProvenanceInput = {
  title: 'Loss (held-out = unseen environments)',
  app: { name: 'CellShift', version: '0.1.0' },
  runs: [{ id: 'run_abc', name: 'env-vae #1', model: 'env-vae', seed: 7, backend: 'native-blas', datasetId: 'ds_1' }],
  datasets: [{ id: 'ds_1', name: 'Demo: μ-shift', contentHash: HASH }],
  extra: { checkpoint_epoch: 4, unused: null },
  exportedAt: new Date('2026-11-27T10:00:00Z'),
};

/** A 3×2 8-bit greyscale PNG built by hand, so the chunk code is checked against real bytes. */
function tinyPng(): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, 3);
  view.setUint32(4, 2);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const raw = Uint8Array.from([0, 10, 20, 30, 0, 40, 50, 60]);
  return writePng([
    { type: 'IHDR', data: ihdr },
    { type: 'IDAT', data: new Uint8Array(deflateSync(raw)) },
    { type: 'IEND', data: new Uint8Array(0) },
  ]);
}

describe('provenance', () => {
  const p = buildProvenance(input);

  it('lists run, model, dataset with its hash, seed, backend, app version and time, in order', () => {
    assert.deepEqual(
      p.entries.map(([k]) => k),
      [
        'title',
        'run_id',
        'run_name',
        'model_family',
        'seed',
        'backend',
        'dataset',
        'dataset_id',
        'dataset_content_hash',
        'checkpoint_epoch',
        'app',
        'app_version',
        'exported_at',
      ],
    );
    assert.equal(provenanceValue(p, 'dataset_content_hash'), HASH);
    assert.equal(provenanceValue(p, 'seed'), '7');
    assert.equal(provenanceValue(p, 'exported_at'), '2026-11-27T10:00:00.000Z');
  });

  it('keeps several runs aligned and says "unknown" rather than guessing', () => {
    const two = buildProvenance({
      ...input,
      app: null,
      runs: [...input.runs, { id: 'run_def', name: 'b', model: 'vae', seed: 1, backend: null, datasetId: 'ds_2' }],
    });
    assert.equal(provenanceValue(two, 'run_id'), 'run_abc, run_def');
    assert.equal(provenanceValue(two, 'backend'), 'native-blas, unknown');
    assert.equal(provenanceValue(two, 'dataset_content_hash'), `${HASH}, unknown`);
    assert.equal(provenanceValue(two, 'app_version'), 'unknown');
  });

  it('a table of one dataset carries the dataset without run fields', () => {
    const table = buildProvenance({ ...input, runs: [], extra: {} });
    assert.equal(provenanceValue(table, 'run_id'), undefined);
    assert.equal(provenanceValue(table, 'dataset'), 'Demo: μ-shift');
  });

  it('renders a caption, PDF properties and CSV comments from the same entries', () => {
    const caption = captionLines(p);
    assert.match(caption[0] ?? '', /^Run run_abc \(env-vae #1\) · model env-vae · seed 7 · backend native-blas$/);
    assert.ok(caption[1]?.includes(HASH));
    assert.equal(caption[2], 'checkpoint epoch 4');
    assert.match(caption[3] ?? '', /^CellShift 0\.1\.0 · exported 2026-11-27/);
    const pdf = pdfProperties(p);
    assert.match(pdf.subject, /run run_abc \(env-vae, seed 7, backend native-blas\); dataset Demo: μ-shift sha256 a3a3/);
    assert.match(pdf.keywords, /run_id=run_abc; .*dataset_content_hash=a3a3/);
    assert.equal(pdf.creator, 'CellShift 0.1.0');
    assert.equal(csvCommentLines(p)[1], '# run_id: run_abc');
  });

  it('flattens line breaks so every format stays one entry per line', () => {
    const q = buildProvenance({ ...input, title: 'two\nlines' });
    assert.equal(provenanceValue(q, 'title'), 'two lines');
  });

  it('makes portable file names', () => {
    assert.equal(
      exportFileName('Loss (held-out = unseen environments)', 'png', 'run_abc'),
      'loss-held-out-unseen-environments-run_abc.png',
    );
    assert.equal(exportFileName('μ̄ₑ: mean shift', 'svg'), 'mu-e-mean-shift.svg');
    assert.equal(exportFileName('log σ̄ₑ: spread change', 'pdf', 'run_1'), 'log-sigma-e-spread-change-run_1.pdf');
    assert.equal(exportFileName('///', 'csv'), 'figure.csv');
  });
});

describe('PNG metadata', () => {
  const p = buildProvenance(input);

  it('inserts pHYs and text chunks after IHDR with valid CRCs, pixels untouched', () => {
    const original = tinyPng();
    const out = withPngMetadata(original, { dpi: 300, text: pngTextEntries(p) });
    const chunks = readPngChunks(out);
    assert.equal(chunks[0]?.type, 'IHDR');
    assert.equal(chunks[1]?.type, 'pHYs');
    assert.equal(chunks.at(-1)?.type, 'IEND');
    assert.deepEqual(chunks.find((c) => c.type === 'IDAT')?.data, readPngChunks(original).find((c) => c.type === 'IDAT')?.data);
    // Every CRC checked against zlib's, independently of the code that wrote it.
    let offset = 8;
    const view = new DataView(out.buffer);
    for (const chunk of chunks) {
      const typeAndData = out.subarray(offset + 4, offset + 8 + chunk.data.length);
      assert.equal(view.getUint32(offset + 8 + chunk.data.length), crc32(typeAndData), `CRC of ${chunk.type}`);
      offset += 12 + chunk.data.length;
    }
    assert.deepEqual(readPngSize(out), { width: 3, height: 2 });
    assert.ok(Math.abs((readPngDpi(out) ?? 0) - 300) < 0.01);
  });

  it('reads the provenance back: Latin-1 as tEXt, other text as UTF-8 iTXt', () => {
    const out = withPngMetadata(tinyPng(), { dpi: 150, text: pngTextEntries(p) });
    const text = readPngText(out);
    assert.equal(text['cellshift.run_id'], 'run_abc');
    assert.equal(text['cellshift.dataset'], 'Demo: μ-shift');
    assert.equal(text.Software, 'CellShift 0.1.0');
    assert.match(text.Description ?? '', /^title: Loss[\s\S]*\nrun_id: run_abc\n/);
    const types = readPngChunks(out).map((c) => c.type);
    assert.ok(types.includes('tEXt') && types.includes('iTXt'));
  });

  it('replaces an existing pHYs instead of adding a second one', () => {
    const once = withPngMetadata(tinyPng(), { dpi: 96, text: [] });
    const twice = withPngMetadata(once, { dpi: 600, text: [] });
    assert.equal(readPngChunks(twice).filter((c) => c.type === 'pHYs').length, 1);
    assert.ok(Math.abs((readPngDpi(twice) ?? 0) - 600) < 0.01);
  });

  it('refuses what is not a PNG and keywords PNG does not allow', () => {
    assert.throws(() => readPngChunks(new TextEncoder().encode('<svg/>')), /Not a PNG/);
    assert.throws(() => textChunk('', 'x'), /Invalid PNG text keyword/);
    assert.throws(() => textChunk('x'.repeat(80), 'x'), /Invalid PNG text keyword/);
  });
});

describe('SVG, CSV and PDF metadata', () => {
  const p = buildProvenance(input);

  it('puts title, desc and namespaced entries first in the SVG, escaped', () => {
    const svg = withSvgMetadata('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>', {
      ...p,
      title: 'a < b & "c"',
    });
    assert.match(svg, /^<\?xml [^>]*\?>\n<svg [^>]*><title>a &lt; b &amp; &quot;c&quot;<\/title><desc>title: /);
    assert.match(svg, /<metadata><cs:provenance xmlns:cs="urn:cellshift:provenance:1"><cs:entry key="title">/);
    assert.ok(svg.endsWith('<rect/></svg>'));
    const read = readSvgProvenance(svg);
    assert.equal(read.run_id, 'run_abc');
    assert.equal(read.dataset_content_hash, HASH);
    assert.throws(() => withSvgMetadata('<html></html>', p), /Not an SVG/);
  });

  it('writes CSV with # provenance lines, then the quoted table', () => {
    const csv = csvWithProvenance(
      {
        header: ['gene', 'delta', 'seen'],
        rows: [
          ['A,1', -0.5, true],
          ['B', null, false],
        ],
      },
      p,
    );
    const lines = csv.split('\r\n');
    assert.equal(lines[0], '# title: Loss (held-out = unseen environments)');
    assert.ok(lines.includes('# run_id: run_abc'));
    assert.ok(lines.includes(`# dataset_content_hash: ${HASH}`));
    const header = lines.findIndex((l) => !l.startsWith('#'));
    assert.deepEqual(lines.slice(header), ['gene,delta,seen', '"A,1",-0.5,true', 'B,,false', '']);
  });

  it('encodes non-ASCII PDF strings as UTF-16BE with a byte-order mark', () => {
    assert.equal(pdfTextString('run_abc'), 'run_abc');
    const encoded = pdfTextString('μ');
    assert.deepEqual(
      [...encoded].map((c) => c.charCodeAt(0)),
      [0xfe, 0xff, 0x03, 0xbc],
    );
  });
});
