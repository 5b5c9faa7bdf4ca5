// Adding a model family = one registry row + its module file (+ the factory line the compiler
// asks for). Proven on a scratch copy of the sources, edited only there: the new family shows up
// in the CLI help and flags, the Train form, and a study, which trains it to completion.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

const ROW = `  {
    id: 'toy-vae',
    label: 'Toy VAE',
    environmentAware: false,
    priorShift: 'none',
    config: { toyWeight: numberSetting(z.number().min(0).default(0.25), { integer: false, min: 0 }, 'Toy weight', 'toy-weight W', 'a setting only the toy family reads') },
  },
`;

/** Inserts `text` before (or after) the first `marker` in a file of the copy; fails if the marker moved. */
function insert(file: string, marker: string, text: string, where: 'before' | 'after'): void {
  const source = readFileSync(file, 'utf8');
  const at = source.indexOf(marker);
  assert.ok(at >= 0, `${file} no longer contains ${JSON.stringify(marker)}; update this test's edit`);
  const cut = where === 'before' ? at : at + marker.length;
  writeFileSync(file, source.slice(0, cut) + text + source.slice(cut));
}

function run(cwd: string, args: string[]): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd, encoding: 'utf8', timeout: 240_000 });
  assert.equal(result.status, 0, `node ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

describe('a model family added in one place', () => {
  let copy: string;

  before(() => {
    copy = mkdtempSync(join(tmpdir(), 'cellshift-family-'));
    for (const part of ['src-main', 'src-renderer/src', 'package.json', 'tsconfig.json']) {
      cpSync(join(repo, part), join(copy, part), { recursive: true });
    }
    symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
    const modules = join(copy, 'src-main/node/ml/modules');
    insert(join(copy, 'src-main/shared/api/model-families.ts'), '] as const satisfies readonly ModelFamilyRow[];', ROW, 'before');
    writeFileSync(
      join(modules, 'toy-vae.ts'),
      "import { VaeModule } from './vae.js';\n\n/** A plain VAE under another name. */\nexport class ToyVaeModule extends VaeModule {}\n",
    );
    insert(join(modules, 'index.ts'), "import { VaeModule } from './vae.js';\n", "import { ToyVaeModule } from './toy-vae.js';\n", 'after');
    insert(
      join(modules, 'index.ts'),
      '  vae: (c, d, r) => new VaeModule(c, d, r),\n',
      "  'toy-vae': (c, d, r) => new ToyVaeModule(c, d, r),\n",
      'after',
    );
  });

  after(() => rmSync(copy, { recursive: true, force: true }));

  it('is offered by the CLI, with its own flag', () => {
    const help = run(copy, ['src-main/node/cli/main.ts', 'train', '--help']);
    assert.match(help, /--model FAMILY .*\btoy-vae\b/);
    assert.match(help, /--toy-weight W\s+a setting only the toy family reads \(default 0\.25; toy-vae only\)/);
  });

  it('is in the Train form with its setting, and a study trains it', async () => {
    writeFileSync(
      join(copy, 'probe.ts'),
      `import { join } from 'node:path';
import { StudyOptions } from './src-main/shared/api/studies.js';
import { TrainingConfig } from './src-main/shared/api/training.js';
import { closeLab, openLab } from './src-main/node/lab/open.js';
import { runStudy } from './src-main/node/lab/studies.js';
import { familyOptions, formConfig, formFields, startingValues } from './src-renderer/src/lib/train-form.js';

const config = TrainingConfig.parse(formConfig('toy-vae', { ...startingValues(), toyWeight: 0.5 }, { kind: 'none' }));
const lab = await openLab({ databasePath: join(process.cwd(), 'lab.db'), carrier: 'cli', seedDemo: false });
const study = await runStudy(lab, 'nonlinear-5', StudyOptions.parse({ quick: true, epochs: 1, trials: 1 }));
await closeLab(lab);
console.log(JSON.stringify({
  families: familyOptions(),
  toyFields: formFields('toy-vae').map((f) => f.key),
  vaeFields: formFields('vae').map((f) => f.key),
  model: config.model,
  runs: study.runs.map((r) => ({ family: r.family, status: r.status })),
  series: study.figures[0]?.series.map((s) => s.label),
}));
`,
    );
    const probe = JSON.parse(run(copy, ['probe.ts']).trim().split('\n').at(-1) ?? '{}');
    assert.ok(
      probe.families.some((f: { id: string; label: string }) => f.id === 'toy-vae' && f.label === 'Toy VAE'),
      'offered in the family select',
    );
    assert.ok(probe.toyFields.includes('toyWeight'), 'its setting is a field when it is chosen');
    assert.ok(!probe.vaeFields.includes('toyWeight'), 'and only then');
    assert.equal(probe.model.family, 'toy-vae');
    assert.equal(probe.model.toyWeight, 0.5);
    assert.deepEqual(
      probe.runs.find((r: { family: string }) => r.family === 'toy-vae'),
      { family: 'toy-vae', status: 'completed' },
    );
    assert.ok(probe.series.includes('toy-vae'), 'plotted with the other families');
  });
});
