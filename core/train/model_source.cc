// Building models from config sources.
#include "core/train/model_source.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "core/model/model_factory.h"
#include "core/model/model_io.h"

namespace brain::train {
namespace {

const char* HeadName(model::HeadKind head) {
  return head == model::HeadKind::kSequenceClassification ? "a reward model (sequence classification)"
                                                          : "a language model";
}

// A reward model initialised from a language model: the same backbone, a fresh (seeded) score head.
std::shared_ptr<model::CausalLm> WithScoreHead(model::CausalLm& lm, uint64_t seed) {
  model::ModelConfig config = lm.config();
  config.head = model::HeadKind::kSequenceClassification;
  config.num_labels = 1;
  std::shared_ptr<model::CausalLm> reward = model::CreateModel(config);
  reward->InitializeWeights(seed);
  torch::NoGradGuard no_grad;
  auto source = lm.named_parameters();
  for (auto& item : reward->named_parameters()) {
    if (const torch::Tensor* from = source.find(item.key()); from != nullptr) item.value().copy_(*from);
  }
  return reward;
}

}  // namespace

absl::StatusOr<std::shared_ptr<model::CausalLm>> BuildModel(const config::ModelSource& source,
                                                            const std::string& field,
                                                            const ModelSourceOptions& options) {
  if (source.has_path() && !source.path().empty()) {
    auto loaded = model::LoadModel(source.path());
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(), absl::StrCat(field, ".path: ", loaded.status().message()));
    }
    if ((*loaded)->config().head == model::HeadKind::kLanguageModel &&
        options.head == model::HeadKind::kSequenceClassification) {
      return WithScoreHead(**loaded, options.seed);
    }
    if ((*loaded)->config().head != options.head) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".path: ", source.path(), " holds ",
                                                     HeadName((*loaded)->config().head), ", but ", field,
                                                     " must be ", HeadName(options.head)));
    }
    return loaded;
  }
  if (source.has_preset() && !source.preset().empty()) {
    model::CreateModelOptions create;
    create.seed = options.seed;
    create.head = options.head;
    if (options.vocab_size > 0) create.vocab_size = options.vocab_size;
    auto created = model::CreatePresetModel(source.preset(), create);
    if (!created.ok()) {
      return absl::Status(created.status().code(), absl::StrCat(field, ".preset: ", created.status().message()));
    }
    return created;
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": set path (an HF directory) or preset"));
}

std::string TokenizerDirectory(const config::ExperimentConfig& config) {
  if (config.models().has_tokenizer() && !config.models().tokenizer().empty()) return config.models().tokenizer();
  return config.models().policy().path();
}

}  // namespace brain::train
