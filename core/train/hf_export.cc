// HF directory export.
#include "core/train/hf_export.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/model/model_io.h"

namespace brain::train {

absl::Status ExportHfDirectory(model::CausalLm& model, const std::string& tokenizer_dir, const std::string& out_dir) {
  namespace fs = std::filesystem;
  const std::string tmp = out_dir + ".tmp";
  std::error_code error;
  fs::remove_all(tmp, error);
  fs::create_directories(tmp, error);
  if (error) return absl::InternalError(absl::StrCat(tmp, ": cannot create: ", error.message()));
  if (auto status = model::SaveModel(model, tmp); !status.ok()) return status;
  for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                           "special_tokens_map.json"}) {
    const fs::path from = fs::path(tokenizer_dir) / name;
    if (!fs::exists(from)) continue;
    fs::copy_file(from, fs::path(tmp) / name, fs::copy_options::overwrite_existing, error);
    if (error) return absl::InternalError(absl::StrCat(from.string(), ": cannot copy: ", error.message()));
  }
  fs::remove_all(out_dir, error);
  fs::rename(tmp, out_dir, error);
  if (error) return absl::InternalError(absl::StrCat(out_dir, ": cannot move the export in place: ", error.message()));
  return absl::OkStatus();
}

}  // namespace brain::train
