// LoadModel / SaveModel: HF directories <-> CausalLm.
#include "core/model/model_io.h"

#include <torch/torch.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/model/checkpoint.h"

namespace brain::model {
namespace fs = std::filesystem;

absl::StatusOr<std::shared_ptr<CausalLm>> LoadModel(const std::string& dir, const LoadOptions& options) {
  auto config = LoadModelConfig((fs::path(dir) / "config.json").string());
  if (!config.ok()) return config.status();
  auto tensors = LoadCheckpointTensors(dir);
  if (!tensors.ok()) return tensors.status();
  std::shared_ptr<CausalLm> model = CreateModel(*config);
  model->to(options.device, options.dtype);
  const CausalLm* raw = model.get();
  auto status = LoadStateDict(
      *model, *tensors, [raw](const std::string& k) { return raw->CanonicalKey(k); }, dir);
  if (!status.ok()) return status;
  model->eval();
  return model;
}

absl::Status SaveModel(CausalLm& model, const std::string& dir, int64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(dir, ": cannot create directory: ", ec.message()));
  if (auto s = SaveModelConfig(model.config(), (fs::path(dir) / "config.json").string()); !s.ok()) return s;
  TensorMap tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    tensors[item.key()] = item.value().detach();
  return SaveCheckpointTensors(dir, tensors, max_shard_bytes);
}

}  // namespace brain::model
