// Renders resources/icon.svg to resources/icon.png (1024×1024), the source electron-builder turns
// into the platform icons (.icns, .ico, the Linux sizes); it does not accept SVG. Run it after
// editing the SVG; the PNG is committed so packaging needs no browser.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const size = 1024;
const resources = join(import.meta.dirname, '..', 'resources');
const svg = readFileSync(join(resources, 'icon.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
try {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(
    `<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`,
  );
  writeFileSync(join(resources, 'icon.png'), await page.screenshot({ omitBackground: true }));
} finally {
  await browser.close();
}
console.log(`wrote resources/icon.png (${size}×${size})`);
