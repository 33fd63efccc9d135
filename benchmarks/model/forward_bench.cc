// forward_bench: brain's forward throughput (tokens/s) on one HF model directory; driven by
// forward_benchmark.py.
//   forward_bench DIR BATCH SEQ ITERS THREADS logits|hidden   -> prints {"tokens_per_s": X, "seconds": Y}
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/model/model_io.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: forward_bench DIR BATCH SEQ ITERS THREADS logits|hidden\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t batch = std::stoll(argv[2]), seq = std::stoll(argv[3]), iters = std::stoll(argv[4]);
  torch::set_num_threads(std::stoi(argv[5]));
  const bool logits = std::string(argv[6]) == "logits";
  auto model = brain::model::LoadModel(dir);
  if (!model.ok()) {
    std::fprintf(stderr, "forward_bench: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  torch::InferenceMode inference;
  torch::manual_seed(0);
  const auto ids = torch::randint(0, (*model)->config().vocab_size, {batch, seq}, torch::kLong);
  const auto mask = torch::ones_like(ids);
  auto step = [&] {
    auto hidden = (*model)->Forward(ids, mask);
    if (logits) hidden = (*model)->Logits(hidden);
    return hidden.sum().item<float>();
  };
  step();  // warm-up
  step();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"tokens_per_s\": %.3f, \"seconds\": %.4f}\n", double(batch * seq * iters) / seconds,
              seconds);
  return 0;
}
