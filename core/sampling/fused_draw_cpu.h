// The CPU draw for temperature-only sampling: one row of logits at a time, no [B, V] temporaries.
#pragma once

#include <cstdint>
#include <vector>

namespace brain::sampling::internal {

// Rows of `logits` ([rows, vocab] fp32, contiguous) tempered by 1/temperature (> 0), with `stop_ids`
// masked in the rows where ban[r] is true (ban may be null), drawn by inversion in vocabulary order:
// token[r] is the first token whose cumulative probability exceeds uniforms[r] (the last token of the
// support if rounding never lets it). logq[r] is the token's log-probability under that distribution.
// Each row is tempered into a per-thread buffer (kept in cache), normalised, then walked in blocks whose
// sums skip whole stretches of the CDF; rows run in parallel over LibTorch's intra-op threads.
void FusedDrawCpu(const float* logits, int64_t rows, int64_t vocab, double temperature,
                  const std::vector<int64_t>& stop_ids, const bool* ban, const double* uniforms,
                  int64_t* tokens, float* logq);

}  // namespace brain::sampling::internal
