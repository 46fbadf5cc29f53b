/** Seeded randomness for the data path: a mulberry32 generator, seed derivation and a Fisher–Yates shuffle. */

/**
 * Turns a number or string into an unsigned 32-bit seed. Strings are hashed (FNV-1a) so that a run may be seeded
 * by a name; non-integer numbers are rejected because silently truncating 0.5 and 0.7 to the same seed is a trap.
 */
export function toSeed(seed) {
  if (typeof seed === 'string') {
    let hash = 0x811c9dc5;
    for (let i = 0; i < seed.length; i++) {
      hash ^= seed.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return hash >>> 0;
  }
  if (!Number.isInteger(seed)) {
    throw new Error(`a seed must be an integer or a string, got ${seed}`);
  }
  return seed >>> 0;
}

/** murmur3's finaliser: every input bit flips about half the output bits. */
function mix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Mixes a base seed with salts (epoch, purpose, ...) into a new seed. Adding or xoring the salt into the seed
 * would make (seed 1, epoch 2) and (seed 2, epoch 1) share an order; mixing before each salt keeps them apart.
 */
export function deriveSeed(seed, ...salts) {
  let h = mix32(toSeed(seed));
  for (const salt of salts) h = mix32(Math.imul(h, 0x9e3779b1) ^ toSeed(salt));
  return h;
}

/** Returns a function yielding floats in [0, 1), reproducible for a seed (mulberry32: tiny, fast, good enough). */
export function createRandom(seed) {
  let state = toSeed(seed);
  return function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy of `items` (the input is left alone). `seedOrRandom` is a seed or a function from createRandom. */
export function shuffled(items, seedOrRandom) {
  const random = typeof seedOrRandom === 'function' ? seedOrRandom : createRandom(seedOrRandom);
  const out = Array.from(items);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const held = out[i];
    out[i] = out[j];
    out[j] = held;
  }
  return out;
}
