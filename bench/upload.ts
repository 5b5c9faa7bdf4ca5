// Uploads a large file through the loopback carrier into the inbox, as browser mode does, and
// prints throughput and peak RSS: the upload must stream, not sit in memory.
//   node --import tsx bench/upload.ts [MiB]   (default 512)
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { startServer } from '../src-main/node/server/server.js';
import { UPLOAD_PATH, UploadReply } from '../src-main/shared/api/files.js';

const mib = Number(process.argv[2] ?? 512);
const bytes = mib * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'cellshift-bench-upload-'));
try {
  const source = join(dir, 'big.gctx');
  const fd = openSync(source, 'w');
  const block = Buffer.alloc(8 * 1024 * 1024, 3);
  for (let written = 0; written < bytes; written += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - written));
  closeSync(fd);

  const service = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'browser', seedDemo: false, uploads: {} });
  const server = await startServer({ service, staticDir: join(dir, 'none') });
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${UPLOAD_PATH}?name=big.gctx`,
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': bytes },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    createReadStream(source).pipe(req);
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const parsed = UploadReply.parse(JSON.parse(reply));
  if (!parsed.ok) throw new Error(parsed.error.message);
  console.log(
    `uploaded ${mib} MiB in ${seconds.toFixed(2)} s (${(mib / seconds).toFixed(0)} MiB/s); ` +
      `RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - rssBefore) / 2 ** 20).toFixed(0)} MiB)`,
  );
  await server.close();
  await closeLab(service);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
