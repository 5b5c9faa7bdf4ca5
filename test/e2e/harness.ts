// Starts the real app in browser mode (the built CLI, as a user would) on a temporary
// database, and Debian's Chromium through playwright-core.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

export const screenshotDir = join(process.cwd(), 'test-results', 'screenshots');

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`No Chromium found (tried ${candidates.join(', ')}); install it: apt-get install -y chromium`);
  return found;
}

export interface App {
  url: string;
  origin: string;
  token: string;
  dbPath: string;
  /** Stops the server and deletes its database's folder, unless `keepDatabase`. */
  stop(options?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * `args` are extra `cellshift serve` options, e.g. ['--allow-dir', DIR]; `dbPath` serves the
 * database another App left behind (its stop({ keepDatabase: true })), as a restarted app does.
 */
export async function startApp(options: { args?: string[]; dbPath?: string } = {}): Promise<App> {
  const cli = join(process.cwd(), 'dist', 'main', 'node', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error('dist/ is missing: run "npm run build" first (npm run test:e2e does)');
  const dir = options.dbPath ? dirname(options.dbPath) : mkdtempSync(join(tmpdir(), 'cellshift-e2e-'));
  const dbPath = options.dbPath ?? join(dir, 'lab.db');
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve', '--json', '--port', '0', '--db', dbPath, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const output = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const text = await new Promise<string>((resolve, reject) => {
    let json = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start within 30 s: ${stderr}`)), 30_000);
    output.on('line', (line) => {
      json += line;
      try {
        JSON.parse(json);
        clearTimeout(timer);
        resolve(json);
      } catch {
        // multi-line JSON still arriving
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const { url } = JSON.parse(text) as { url: string };
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token') ?? '',
    dbPath,
    stop: async ({ keepDatabase = false } = {}) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (!keepDatabase) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      // WebGL (the Latents scatter) through the software rasteriser: no GPU on CI machines.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function screenshot(page: Page, name: string, options: { fromTop?: boolean } = {}): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  // The views scroll inside <main>; show each from its top.
  if (options.fromTop !== false) await page.evaluate(() => document.querySelector('main')?.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface AppPage {
  app: App;
  browser: Browser;
  page: Page;
}

/**
 * The app, Chromium and one page on it, the page's console errors and uncaught exceptions pushed
 * to `consoleErrors` (a test asserts it stays empty). Waits for the demo dataset unless told not to.
 */
/** `serve` arguments for the structure-free demo, which the older e2e files were written against. */
export const SPARSE_DEMO = ['--demo', 'sparse'];

export async function openAppPage(
  consoleErrors: string[],
  pageOptions: BrowserContextOptions,
  options: { waitForDemo?: boolean; args?: string[]; dbPath?: string } = {},
): Promise<AppPage> {
  const app = await startApp({ ...(options.args ? { args: options.args } : {}), ...(options.dbPath ? { dbPath: options.dbPath } : {}) });
  const browser = await launchBrowser();
  const page = await browser.newPage(pageOptions);
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(app.url);
  if (options.waitForDemo !== false) await page.getByTestId('dataset-row').first().waitFor();
  return { app, browser, page };
}

/** Closes what openAppPage opened (either may be missing when before() failed). */
export async function closeAppPage({ app, browser }: { app?: App; browser?: Browser }): Promise<void> {
  await browser?.close();
  await app?.stop();
}

/** Opens a view from the activity bar and waits for the address to follow. */
export async function openView(page: Page, id: string): Promise<void> {
  await page.click(`nav a[data-view="${id}"]`);
  await page.waitForFunction((view) => window.location.hash === `#/${view}`, id);
}
