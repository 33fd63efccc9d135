// SHA-256 block compression: the portable rounds and an SHA-NI version picked at run time.
#include "core/train/sha256_blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define BRAIN_SHA_NI 1
#endif

namespace brain::train {
namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4 §4.2.2).
alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

#ifdef BRAIN_SHA_NI
// The SHA-NI round instruction keeps the working words in two registers, lanes high to low: {a, b, e, f}
// and {c, d, g, h}. Each 4-round group consumes one 4-word slice X_g of the message schedule; slices
// 4..15 follow X_{g+4} = msg2(msg1(X_g, X_{g+1}) + X_{g+2..3} shifted by one word, X_{g+3}), which
// supplies W[t-16] + σ0(W[t-15]) (msg1), W[t-7] (the shifted pair) and σ1(W[t-2]) (msg2).
__attribute__((target("sha,sse4.1,ssse3"))) void BlocksShaNi(uint32_t state[8], const uint8_t* data,
                                                              size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  // state a..h in memory order → {a, b, e, f} and {c, d, g, h} (lane 3 first).
  const __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  const __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  const __m128i lanes_badc = _mm_shuffle_epi32(abcd, 0xB1);  // lanes (low→high) b a d c
  const __m128i lanes_hgfe = _mm_shuffle_epi32(efgh, 0x1B);  // lanes h g f e
  __m128i abef = _mm_alignr_epi8(lanes_badc, lanes_hgfe, 8);  // lanes f e b a
  __m128i cdgh = _mm_blend_epi16(lanes_hgfe, lanes_badc, 0xF0);  // lanes h g d c
  for (; blocks > 0; --blocks, data += 64) {
    const __m128i abef_in = abef, cdgh_in = cdgh;
    __m128i x[4];
    for (int g = 0; g < 16; ++g) {
      if (g < 4) {
        x[g] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), byte_swap);
      }
      __m128i msg = _mm_add_epi32(x[g % 4], _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * g)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);      // rounds 4g, 4g+1 (the low two words)
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(msg, 0x0E));  // rounds 4g+2, 4g+3
      if (g >= 3 && g < 15) {  // X_{g+1}; its slot holds msg1(X_{g-3}, X_{g-2}) since group g-2
        const __m128i shifted = _mm_alignr_epi8(x[g % 4], x[(g + 3) % 4], 4);  // W[4g-3 .. 4g]
        x[(g + 1) % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(x[(g + 1) % 4], shifted), x[g % 4]);
      }
      if (g >= 1 && g < 13) x[(g + 3) % 4] = _mm_sha256msg1_epu32(x[(g + 3) % 4], x[g % 4]);  // for X_{g+3}
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }
  // Back to a..h in memory order.
  const __m128i lanes_abef = _mm_shuffle_epi32(abef, 0x1B);  // lanes (low→high) a b e f
  const __m128i lanes_ghcd = _mm_shuffle_epi32(cdgh, 0xB1);  // lanes g h c d
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(lanes_abef, lanes_ghcd, 0xF0));  // a b c d
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(lanes_ghcd, lanes_abef, 8));  // e..h
}

bool CpuHasShaNi() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool ssse3_sse41 = (ecx & bit_SSSE3) && (ecx & bit_SSE4_1);
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ssse3_sse41 && (ebx & bit_SHA);
}
#endif

}  // namespace

void Sha256BlocksPortable(uint32_t state[8], const uint8_t* data, size_t blocks) {
  for (; blocks > 0; --blocks, data += 64) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) {
      w[t] = (uint32_t{data[4 * t]} << 24) | (uint32_t{data[4 * t + 1]} << 16) |
             (uint32_t{data[4 * t + 2]} << 8) | uint32_t{data[4 * t + 3]};
    }
    for (int t = 16; t < 64; ++t) {
      const uint32_t s0 = Rotr(w[t - 15], 7) ^ Rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      const uint32_t s1 = Rotr(w[t - 2], 17) ^ Rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; ++t) {
      const uint32_t big_s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = h + big_s1 + ch + kRound[t] + w[t];
      const uint32_t big_s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = big_s0 + maj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

Sha256BlocksFn Sha256BlocksAccelerated() {
#ifdef BRAIN_SHA_NI
  static const bool supported = CpuHasShaNi();
  return supported ? &BlocksShaNi : nullptr;
#else
  return nullptr;
#endif
}

Sha256BlocksFn Sha256BlocksBest() {
  static const Sha256BlocksFn best = Sha256BlocksAccelerated() ? Sha256BlocksAccelerated() : &Sha256BlocksPortable;
  return best;
}

}  // namespace brain::train
