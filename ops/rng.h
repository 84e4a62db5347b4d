/* rng.h — the random generator of the random ops (random.c) and of Dropout's training mode
 * (shape.c).
 *
 * Counter-based: the value drawn for element i of a node is a pure function of the node's key
 * and i (SplitMix64's mixing function applied to key + (i + 1) * golden-ratio increment, i.e.
 * the SplitMix64 sequence started at the key). No state is carried between elements, so any
 * thread may compute any element and the results do not depend on the thread count or on the
 * order of evaluation; nor between runs, so a node gives the same values on every run.
 *
 * The key comes from the node's `seed` attribute when it has one. Without it, the key is
 * derived from the node (its name, op type and output position in the graph) — never from
 * the time or any global state — so unseeded random ops are deterministic too: the same
 * model gives the same values in every session and run, while distinct nodes differ. (The
 * output position is the loader's value index, so unseeded values may change between onyx
 * versions; seeded ones depend only on the seed. Draws that go through libm — normal values'
 * log/cos, Multinomial's exp — may differ in the last bits between C libraries.) */
#ifndef ONYX_OPS_RNG_H
#define ONYX_OPS_RNG_H

#include "op.h"

#define OX_RNG_GAMMA 0x9E3779B97F4A7C15u /* 2^64 / golden ratio, SplitMix64's increment */

/* SplitMix64's finaliser: a bijection of 64-bit words that mixes every input bit into every
 * output bit. */
static inline uint64_t ox_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* The 64 random bits of draw number `counter` under `key`. */
static inline uint64_t ox_rng_bits(uint64_t key, uint64_t counter)
{
    return ox_rng_mix(key + (counter + 1) * OX_RNG_GAMMA);
}

/* A double uniform in [0, 1): the draw's top 53 bits. */
static inline double ox_rng_unit(uint64_t key, uint64_t counter)
{
    return (double)(ox_rng_bits(key, counter) >> 11) * 0x1.0p-53;
}

/* The key for an explicit seed, given as the bits of a 64-bit word. */
static inline uint64_t ox_rng_key_seeded(uint64_t seed_bits)
{
    return ox_rng_mix(seed_bits ^ 0x5EED5EED5EED5EEDu);
}

/* FNV-1a over a string, continuing from h. */
static inline uint64_t ox_rng_hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3u;
    return h;
}

/* The key of a node without a seed: its name and op type, and the graph position of its first
 * output (value indices are fixed by the model file, and tell apart unnamed nodes). */
static inline uint64_t ox_rng_key_unseeded(const ox_node *n)
{
    uint64_t h = ox_rng_hash_str(0xCBF29CE484222325u, n->name);
    h = ox_rng_hash_str(h ^ 0xFF, n->op_type);
    uint64_t pos = n->n_out > 0 && n->out[0] >= 0 ? (uint64_t)n->out[0] : 0;
    return ox_rng_mix(h ^ ox_rng_mix(pos + OX_RNG_GAMMA));
}

#endif
