// The addon's normalFill (native/blas/src/normal.c) on one training step's noise, against another
// build of the addon in the same process, calls alternated (ABBA) so both see the same load:
//   node --import tsx bench/normal-fill.ts [--against PATH/cellshift_blas.node] [--length 204800] [--rounds 400]
// The build under test is the one the lab loads (CELLSHIFT_NATIVE_ADDON=path overrides it);
// --against is e.g. a saved copy of an older build. Without --against it times the build alone
// against Rng.fillNormal's JavaScript. Both sides draw from the same generator each round and
// must agree bit for bit, spare and state included (it stops if not). Per call: wall, and CPU of the whole
// process (all threads), medians and best rounds, with the load average.
import { Rng } from '../src-main/node/data/random.js';
import { loadAddon, type NativeBinding } from '../src-main/node/ml/native/addon.js';
import { requireAddon } from '../src-main/node/platform/native-addon.js';
import { median, uptime } from './stats.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const length = Number(option('length') ?? 1024 * 200);
const rounds = Number(option('rounds') ?? 400);
const against = option('against');

type Fill = (out: Float32Array, state: Int32Array) => number | undefined;
/** One side: fills out from rng as Rng.fillNormal does, with the addon's normalFill or in JavaScript. */
type Draw = (out: Float32Array, rng: Rng) => void;

const loaded = loadAddon();
if (!loaded.ok) throw new Error(loaded.why);
if (!loaded.binding.normalFill) throw new Error('this build of the addon has no normalFill');
const underTest: Fill = loaded.binding.normalFill;
const viaAddon =
  (fill: Fill): Draw =>
  (out, rng) =>
    rng.fillNormal(out, fill);

let reference: Draw = (out, rng) => rng.fillNormal(out);
let referenceName = 'Rng.fillNormal (JavaScript)';
if (against) {
  const other = requireAddon<NativeBinding>('cellshift_blas', against);
  if (!other.ok) throw new Error(other.why);
  if (!other.binding.normalFill) throw new Error(`${against} has no normalFill`);
  reference = viaAddon(other.binding.normalFill);
  referenceName = against;
}

const sides = [
  {
    name: `normalFill (${loaded.path})`,
    draw: viaAddon(underTest),
    wall: [] as number[],
    cpu: [] as number[],
    out: new Float32Array(length),
  },
  { name: referenceName, draw: reference, wall: [] as number[], cpu: [] as number[], out: new Float32Array(length) },
];

console.log(`normalFill of ${length} normals, ${rounds} rounds (ABBA); ${uptime()}`);
for (let round = 0; round < rounds + 20; round++) {
  const order = round % 4 === 0 || round % 4 === 3 ? [0, 1] : [1, 0];
  const rngs = [new Rng(round).fork('bench-normal'), new Rng(round).fork('bench-normal')];
  for (const s of order) {
    const side = sides[s] as (typeof sides)[number];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    side.draw(side.out, rngs[s] as Rng);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (round >= 20) {
      // the first rounds warm up (pool threads, page faults), untimed
      side.wall.push(wall);
      side.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]];
  const [ra, rb] = rngs as [Rng, Rng];
  // same float32 bits, same spare, same generator state after
  const same =
    Buffer.compare(Buffer.from(a.out.buffer), Buffer.from(b.out.buffer)) === 0 &&
    Object.is(ra.normal(), rb.normal()) &&
    ra.nextUint32() === rb.nextUint32();
  if (!same) throw new Error(`round ${round}: the two sides drew different numbers`);
}
for (const side of sides) {
  console.log(
    `  ${side.name}: wall median ${median(side.wall).toFixed(3)} ms, best ${Math.min(...side.wall).toFixed(3)} ms; ` +
      `CPU median ${median(side.cpu).toFixed(3)} ms`,
  );
}
const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]];
console.log(
  `  ratio (reference ÷ under test): wall median ${(median(b.wall) / median(a.wall)).toFixed(2)}×, best ${(Math.min(...b.wall) / Math.min(...a.wall)).toFixed(2)}×; all bit-identical; ${uptime()}`,
);
