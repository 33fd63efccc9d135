// Sharded/single-file checkpoint IO and strict state-dict loading.
#include "core/model/checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace brain::model {
namespace fs = std::filesystem;

namespace {

absl::StatusOr<TensorMap> LoadSharded(const std::string& dir, const std::string& index_path) {
  std::ifstream in(index_path);
  if (!in) return absl::NotFoundError(index_path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto json = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError(index_path + ": not valid JSON");
  auto map_it = json.find("weight_map");
  if (!json.is_object() || map_it == json.end() || !map_it->is_object()) {
    return absl::InvalidArgumentError(index_path + ": field 'weight_map': missing or not an object");
  }
  std::map<std::string, std::vector<std::string>> keys_by_file;
  for (auto it = map_it->begin(); it != map_it->end(); ++it) {
    if (!it.value().is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map['", it.key(), "'] is not a string"));
    }
    const std::string file = it.value().get<std::string>();
    // Shards live next to the index; anything else (absolute paths, "..") is refused.
    if (file.empty() || fs::path(file).has_parent_path() || file == "..") {
      return absl::InvalidArgumentError(absl::StrCat(index_path, ": weight_map['", it.key(), "']: shard '",
                                                     file, "' is not a file name in ", dir));
    }
    keys_by_file[file].push_back(it.key());
  }
  TensorMap all;
  for (const auto& [file, keys] : keys_by_file) {
    const std::string path = (fs::path(dir) / file).string();
    auto shard = LoadSafetensors(path);
    if (!shard.ok()) return shard.status();
    for (const auto& key : keys) {
      auto it = shard->find(key);
      if (it == shard->end()) {
        return absl::DataLossError(absl::StrCat(index_path, ": '", key, "' is listed in ", file,
                                                " but that shard does not contain it"));
      }
      all[key] = it->second;
    }
  }
  return all;
}

}  // namespace

absl::StatusOr<TensorMap> LoadCheckpointTensors(const std::string& dir) {
  const fs::path index = fs::path(dir) / kSafetensorsIndexFile;
  if (fs::exists(index)) return LoadSharded(dir, index.string());
  const fs::path single = fs::path(dir) / kSafetensorsFile;
  if (!fs::exists(single)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": neither ", kSafetensorsFile, " nor ", kSafetensorsIndexFile, " found"));
  }
  return LoadSafetensors(single.string());
}

absl::Status SaveCheckpointTensors(const std::string& dir, const TensorMap& tensors,
                                   int64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(dir, ": cannot create directory: ", ec.message()));
  int64_t total = 0;
  std::vector<TensorMap> shards(1);
  int64_t shard_bytes = 0;
  for (const auto& [name, t] : tensors) {
    const int64_t bytes = t.numel() * t.element_size();
    if (max_shard_bytes > 0 && shard_bytes > 0 && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back()[name] = t;
    shard_bytes += bytes;
    total += bytes;
  }
  if (shards.size() == 1) return SaveSafetensors((fs::path(dir) / kSafetensorsFile).string(), tensors);
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    if (auto s = SaveSafetensors((fs::path(dir) / file).string(), shards[i]); !s.ok()) return s;
    for (const auto& [name, t] : shards[i]) weight_map[name] = file;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const std::string path = (fs::path(dir) / kSafetensorsIndexFile).string();
  std::ofstream out(path);
  out << index.dump(2) << "\n";
  if (!out) return absl::DataLossError(path + ": write failed");
  return absl::OkStatus();
}

absl::Status LoadStateDict(torch::nn::Module& module, const TensorMap& tensors, const KeyMapper& mapper,
                           const std::string& source) {
  auto params = module.named_parameters(/*recurse=*/true);
  std::map<std::string, torch::Tensor> mapped;
  std::vector<std::string> unexpected, mismatched;
  std::set<std::string> mismatched_params;
  for (const auto& [key, tensor] : tensors) {
    const auto name = mapper(key);
    if (!name) continue;
    const torch::Tensor* param = params.find(*name);
    if (param == nullptr) {
      unexpected.push_back(key);
    } else if (param->sizes() != tensor.sizes()) {
      mismatched.push_back(absl::StrCat(key, " (checkpoint ", c10::str(tensor.sizes()), ", model ",
                                        c10::str(param->sizes()), ")"));
      mismatched_params.insert(*name);
    } else {
      mapped[*name] = tensor;
    }
  }
  std::vector<std::string> missing;
  for (const auto& item : params) {
    if (!mapped.count(item.key()) && !mismatched_params.count(item.key())) {
      missing.push_back(item.key());
    }
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = absl::StrCat(source, ": checkpoint does not match the model");
    if (!missing.empty()) absl::StrAppend(&msg, "\n  missing keys: ", absl::StrJoin(missing, ", "));
    if (!unexpected.empty()) absl::StrAppend(&msg, "\n  unexpected keys: ", absl::StrJoin(unexpected, ", "));
    if (!mismatched.empty()) absl::StrAppend(&msg, "\n  shape mismatches: ", absl::StrJoin(mismatched, ", "));
    return absl::InvalidArgumentError(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& item : params) item.value().copy_(mapped.at(item.key()));
  return absl::OkStatus();
}

}  // namespace brain::model
