// sampling_bench: tokens/s of brain::sampling::GenerateSamples on a model directory, with the phase split
// and the share of decode rows that held no running sample. Prints one JSON line (read by
// compare_generate.py, which times transformers' generate() on the same model in the same run).
#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/numbers.h"
#include "core/model/host_allocator.h"
#include "core/model/model_factory.h"
#include "core/model/model_io.h"
#include "core/sampling/generator.h"

namespace {

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return fallback;
}

int64_t IntFlag(int argc, char** argv, const std::string& name, int64_t fallback) {
  int64_t v = fallback;
  const std::string s = Flag(argc, argv, name, "");
  if (!s.empty() && !absl::SimpleAtoi(s, &v)) {
    std::fprintf(stderr, "--%s: expected an integer\n", name.c_str());
    std::exit(2);
  }
  return v;
}

// Best wall time of 10 calls after one warm-up, in milliseconds.
template <typename F>
double BestMs(F&& f) {
  f();
  double best = 1e30;
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

// Prompt token t of prompt i: the same formula compare_generate.py uses.
int64_t PromptToken(int64_t i, int64_t t) { return (i * 7919 + t * 104729 + 17) % 50000; }

int main(int argc, char** argv) {
  using namespace brain;
  model::TuneHostAllocator();  // as the brain executable does
  const std::string dir = Flag(argc, argv, "model", "");
  const std::string preset = Flag(argc, argv, "create-preset", "");
  const int64_t num_prompts = IntFlag(argc, argv, "prompts", 64);
  const int64_t n = IntFlag(argc, argv, "n", 8);
  const int64_t prompt_len = IntFlag(argc, argv, "prompt-len", 32);
  const int64_t new_tokens = IntFlag(argc, argv, "new-tokens", 128);
  const int64_t batch = IntFlag(argc, argv, "batch-size", 64);
  const int64_t threads = IntFlag(argc, argv, "threads", 0);
  const int64_t stop_ids = IntFlag(argc, argv, "stop-ids", 0);  // > 0: that many stop ids (early finishes)
  double refill = 0.125, top_p = 1.0, temperature = 1.0;
  (void)absl::SimpleAtod(Flag(argc, argv, "refill-fraction", "0.125"), &refill);
  (void)absl::SimpleAtod(Flag(argc, argv, "top-p", "1.0"), &top_p);
  (void)absl::SimpleAtod(Flag(argc, argv, "temperature", "1.0"), &temperature);
  if (threads > 0) torch::set_num_threads(static_cast<int>(threads));
  if (!preset.empty()) {  // write a random model of this preset to --model first
    model::CreateModelOptions options;
    options.seed = 1;
    auto created = model::CreatePresetModel(preset, options);
    if (!created.ok() || !model::SaveModel(**created, dir).ok()) {
      std::fprintf(stderr, "cannot create %s in %s\n", preset.c_str(), dir.c_str());
      return 1;
    }
    return 0;
  }
  auto loaded = model::LoadModel(dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  auto& m = **loaded;
  m.eval();
  std::vector<sampling::Prompt> prompts;
  for (int64_t i = 0; i < num_prompts; ++i) {
    sampling::Prompt p;
    p.prompt_id = i;
    for (int64_t t = 0; t < prompt_len; ++t) p.token_ids.push_back(PromptToken(i, t));
    prompts.push_back(p);
  }
  sampling::GenerateOptions g;
  g.sampling.max_new_tokens = new_tokens;
  g.sampling.batch_size = batch;
  g.sampling.refill_fraction = refill;
  g.sampling.top_p = top_p;
  g.sampling.temperature = temperature;
  for (int64_t s = 0; s < stop_ids; ++s) g.sampling.stop_token_ids.push_back(1000 + 97 * s);
  g.seed = {42, 0};
  sampling::GenerateStats stats;
  const std::clock_t cpu_start = std::clock();  // process CPU time (all threads): less load-sensitive
  auto samples = sampling::GenerateSamples(m, prompts, n, g, &stats);
  const double cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  if (!samples.ok()) {
    std::fprintf(stderr, "%s\n", std::string(samples.status().message()).c_str());
    return 1;
  }
  // The decode step's LM head as the model computes it (vocab-major for <= 128 rows) against
  // torch::linear on the same 64 rows, best of 10 after a warm-up, in this run.
  double lm_head_ms = 0, linear_ms = 0;
  {
    c10::InferenceMode guard;
    const auto hidden = torch::randn({std::min<int64_t>(batch, 64), m.config().hidden_size});
    const auto weight = m.LmHeadWeight();
    lm_head_ms = BestMs([&] { m.Logits(hidden); });
    linear_ms = BestMs([&] { torch::linear(hidden, weight); });
  }
  nlohmann::json out;
  out["tokens"] = stats.generated_tokens;
  out["seconds"] = stats.total_s;
  out["tokens_per_s"] = stats.generated_tokens / stats.total_s;
  out["cpu_s"] = cpu_s;
  out["tokens_per_cpu_s"] = stats.generated_tokens / cpu_s;
  out["prefill_s"] = stats.prefill_s;
  out["decode_s"] = stats.decode_s;
  out["sampling_s"] = stats.sampling_s;
  out["decode_steps"] = stats.decode_steps;
  out["wasted_row_fraction"] = stats.row_steps > 0 ? double(stats.wasted_row_steps) / stats.row_steps : 0.0;
  out["refills"] = stats.refills;
  out["compactions"] = stats.compactions;
  out["threads"] = torch::get_num_threads();
  out["lm_head_ms"] = lm_head_ms;
  out["linear_lm_head_ms"] = linear_ms;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
