// The synthetic drug panel's structure–activity design: a drug's structural effect is a function
// of its fingerprint alone, moves only the latents whose motif bits it carries, and saturates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src-main/node/data/random.js';
import { designDrugEffects } from '../../src-main/node/lab/import/synthetic-drugs.js';

function randomFingerprints(rng: Rng, drugs: number, bits: number, density: number): Uint8Array[] {
  return Array.from({ length: drugs }, () => Uint8Array.from({ length: bits }, () => (rng.next() < density ? 1 : 0)));
}

describe('synthetic drug effects from fingerprints', () => {
  const rng = new Rng(7);
  const fingerprints = randomFingerprints(rng, 60, 256, 0.06);
  // Drug 60 is drug 0 again under another name; drug 61 carries no bit at all.
  fingerprints.push(Uint8Array.from(fingerprints[0] as Uint8Array), new Uint8Array(256));
  const design = designDrugEffects(fingerprints, 8, new Rng(1), { motifsPerLatent: 3, effectScale: 3 });

  it('draws motifs from bits shared by at least two drugs and at most half of them, one latent per bit', () => {
    assert.equal(design.motifs.length, 24);
    assert.equal(new Set(design.motifs.map((m) => m.bit)).size, 24);
    for (const m of design.motifs) {
      const carriers = fingerprints.filter((fp) => fp[m.bit]).length;
      assert.ok(carriers >= 2 && carriers <= fingerprints.length / 2, `bit ${m.bit} carried by ${carriers}`);
    }
    for (let latent = 0; latent < 8; latent++) assert.equal(design.motifs.filter((m) => m.latent === latent).length, 3);
  });

  it('gives identical structures identical structural effects, and no motif no effect', () => {
    assert.deepEqual(design.structural[60], design.structural[0]);
    assert.ok(design.structural[61]?.every((v) => v === 0));
  });

  it('moves exactly the latents whose motifs a drug carries, by 3·tanh of the motif weights', () => {
    fingerprints.forEach((fp, k) => {
      for (let latent = 0; latent < 8; latent++) {
        const carried = design.motifs.filter((m) => m.latent === latent && fp[m.bit]);
        const expected = carried.length === 0 ? 0 : 3 * Math.tanh(carried.reduce((s, m) => s + m.weight, 0));
        assert.ok(Math.abs((design.structural[k]?.[latent] ?? Number.NaN) - expected) < 1e-12);
        assert.ok(Math.abs(expected) < 3);
      }
    });
    const moved = design.structural.map((s) => s.filter((v) => v !== 0).length);
    assert.ok(moved.reduce((a, b) => a + b, 0) / moved.length < 4, 'sparse: most drugs move few of the 8 latents');
  });

  it('adds one off-target offset per drug that the structure does not determine', () => {
    assert.equal(design.offTarget.length, fingerprints.length);
    assert.ok(design.offTarget.every((o) => o.latent >= 0 && o.latent < 8 && Number.isFinite(o.value)));
    assert.notDeepEqual(design.offTarget[60], design.offTarget[0]);
  });
});
