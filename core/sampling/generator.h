// GenerateSamples: n samples per prompt with continuous batching over a KV cache, exact proposal logq.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/causal_lm.h"
#include "core/sampling/counter_rng.h"
#include "core/sampling/sampling_options.h"

namespace brain::tokenizer {
class Tokenizer;
}  // namespace brain::tokenizer

namespace brain::sampling {

struct Prompt {
  int64_t prompt_id = 0;
  std::vector<int64_t> token_ids;  // non-empty
};

enum class FinishReason { kEos, kStop, kLength };
const char* FinishReasonName(FinishReason reason);  // "eos", "stop", "length"

struct Sample {
  int64_t prompt_id = 0;
  int64_t sample_index = 0;
  std::vector<int64_t> token_ids;  // the response; ends with the EOS/stop token when it stopped on one
  std::vector<float> token_logq;   // log q(token) under the tempered, truncated distribution drawn from
  double logq = 0;                 // their sum (accumulated in double)
  FinishReason finish_reason = FinishReason::kLength;
};

struct GenerateProgress {
  int64_t samples_done = 0;
  int64_t samples_total = 0;
  int64_t tokens = 0;       // generated so far
  double elapsed_s = 0;
};

struct GenerateStats {
  int64_t prompts_prefilled = 0;
  int64_t prefill_tokens = 0;     // prompt tokens run through the model (once per prompt)
  int64_t generated_tokens = 0;
  int64_t decode_steps = 0;       // batched one-token forwards
  int64_t row_steps = 0;          // rows in those forwards
  int64_t wasted_row_steps = 0;   // of which rows that held no running sample
  int64_t refills = 0, compactions = 0;
  double prefill_s = 0, decode_s = 0, sampling_s = 0, total_s = 0;
};

struct GenerateOptions {
  SamplingOptions sampling;
  SeedContext seed;
  // Needed when sampling.stop_strings is non-empty: a response stops once its decoded text contains one.
  const tokenizer::Tokenizer* tokenizer = nullptr;
  int64_t prefill_batch_size = 0;  // prompts per prefill forward; 0 = sampling.batch_size
  // Which of each prompt's n samples to draw, increasing, in [0, n); empty = all. A subset draws exactly
  // those samples of the full set (seeds key on the sample index): e.g. one rank's share of every group.
  std::vector<int64_t> sample_indices;
  std::function<void(const GenerateProgress&)> progress;  // called at most every progress_interval_s
  double progress_interval_s = 5;
};

// Draws `n` samples for every prompt from `model` (frozen; run under c10::InferenceMode). Each prompt
// is prefilled once; its keys/values are copied into the rows of its samples. Token `step` of sample
// (prompt_id, i) uses CounterUniform(seed, prompt_id, i, step), so results do not depend on batch size,
// refill policy, ranks or order. Returns samples sorted by (prompt_id, sample_index). Prompt ids must be
// unique. Errors: bad options, empty prompt, prompt + max_new_tokens beyond the model's positions.
absl::StatusOr<std::vector<Sample>> GenerateSamples(model::CausalLm& model, const std::vector<Prompt>& prompts,
                                                    int64_t n, const GenerateOptions& options,
                                                    GenerateStats* stats = nullptr);

}  // namespace brain::sampling
