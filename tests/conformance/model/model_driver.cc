// model_driver: the C++ side of the model conformance tests (driven by model_conformance.py).
//   forward DIR IN OUT            IN: TAG.input_ids, TAG.attention_mask per batch -> OUT: TAG.logits (or
//                                 TAG.score for sequence-classification models)
//   generate DIR IN OUT N         greedy with the KV cache, no EOS stop -> OUT: generated [B, N]
//   create PRESET DIR SEED VOCAB HEAD [SHARD_BYTES]   HEAD: lm | score
//   copy IN OUT                   safetensors read then written back (all dtypes)
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/model/checkpoint.h"
#include "core/model/generation.h"
#include "core/model/model_factory.h"
#include "core/model/model_io.h"
#include "core/model/safetensors_io.h"

namespace bm = brain::model;

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "model_driver: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Forward(const std::string& dir, const std::string& in, const std::string& out) {
  auto model = bm::LoadModel(dir);
  if (!model.ok()) return Fail(model.status());
  auto inputs = bm::LoadSafetensors(in);
  if (!inputs.ok()) return Fail(inputs.status());
  torch::NoGradGuard no_grad;
  bm::TensorMap result;
  for (const auto& [key, ids] : *inputs) {
    const std::string suffix = ".input_ids";
    if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string tag = key.substr(0, key.size() - suffix.size());
    const auto mask = inputs->at(tag + ".attention_mask");
    const auto hidden = (*model)->Forward(ids, mask);
    if ((*model)->config().head == bm::HeadKind::kSequenceClassification) {
      result[tag + ".score"] = (*model)->Score(hidden, mask);
    } else {
      result[tag + ".logits"] = (*model)->Logits(hidden);
    }
  }
  auto s = bm::SaveSafetensors(out, result);
  return s.ok() ? 0 : Fail(s);
}

int Generate(const std::string& dir, const std::string& in, const std::string& out, int64_t n) {
  auto model = bm::LoadModel(dir);
  if (!model.ok()) return Fail(model.status());
  auto inputs = bm::LoadSafetensors(in);
  if (!inputs.ok()) return Fail(inputs.status());
  const auto generated = bm::GreedyGenerate(**model, inputs->at("input_ids"), inputs->at("attention_mask"), n,
                                            /*stop_at_eos=*/false);
  auto s = bm::SaveSafetensors(out, {{"generated", generated}});
  return s.ok() ? 0 : Fail(s);
}

int Create(const std::vector<std::string>& args) {
  bm::CreateModelOptions options;
  options.seed = std::stoull(args[2]);
  options.vocab_size = std::stoll(args[3]);
  options.head = args[4] == "score" ? bm::HeadKind::kSequenceClassification : bm::HeadKind::kLanguageModel;
  auto model = bm::CreatePresetModel(args[0], options);
  if (!model.ok()) return Fail(model.status());
  const int64_t shard = args.size() > 5 ? std::stoll(args[5]) : 0;
  auto s = bm::SaveModel(**model, args[1], shard);
  return s.ok() ? 0 : Fail(s);
}

int Copy(const std::string& in, const std::string& out) {
  auto tensors = bm::LoadSafetensors(in);
  if (!tensors.ok()) return Fail(tensors.status());
  auto s = bm::SaveSafetensors(out, *tensors);
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  torch::set_num_threads(1);
  try {
    if (args.size() == 4 && args[0] == "forward") return Forward(args[1], args[2], args[3]);
    if (args.size() == 5 && args[0] == "generate")
      return Generate(args[1], args[2], args[3], std::stoll(args[4]));
    if (args.size() >= 6 && args[0] == "create") return Create({args.begin() + 1, args.end()});
    if (args.size() == 3 && args[0] == "copy") return Copy(args[1], args[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_driver: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: model_driver forward|generate|create|copy ... (see the source)\n");
  return 2;
}
