// Loading a tokenizer from a model directory (tokenizer.json or vocab.json + merges.txt, plus the
// special-token names of tokenizer_config.json).
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "core/tokenizer/load_util.h"
#include "core/tokenizer/tokenizer.h"

namespace brain::tokenizer {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// tokenizer_config.json names special tokens as "<s>" or {"content": "<s>", ...}.
absl::Status ApplyTokenizerConfig(const std::string& path, Tokenizer* tokenizer) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<nlohmann::json> config = internal::ParseJson(*text, path);
  if (!config.ok()) return config.status();
  if (!config->is_object()) return internal::FieldError(path, "(root)", "expected an object");
  SpecialTokenIds ids{tokenizer->bos_id(), tokenizer->eos_id(), tokenizer->pad_id()};
  for (auto [key, slot] :
       {std::pair{"bos_token", &ids.bos}, {"eos_token", &ids.eos}, {"pad_token", &ids.pad}}) {
    auto it = config->find(key);
    if (it == config->end() || it->is_null()) continue;
    const nlohmann::json* name = &*it;
    if (name->is_object()) {
      auto content = name->find("content");
      if (content == name->end()) return internal::FieldError(path, key, "object without \"content\"");
      name = &*content;
    }
    if (!name->is_string()) return internal::FieldError(path, key, "expected a string or {\"content\": ...}");
    std::optional<int32_t> id = tokenizer->TokenToId(name->get<std::string>());
    if (!id) {
      return internal::FieldError(
          path, key, absl::StrCat("token \"", name->get<std::string>(), "\" is not in the vocabulary"));
    }
    *slot = id;
  }
  tokenizer->set_special_ids(ids);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromDirectory(const std::string& dir) {
  const std::string json_path = absl::StrCat(dir, "/tokenizer.json");
  const std::string vocab_path = absl::StrCat(dir, "/vocab.json");
  const std::string merges_path = absl::StrCat(dir, "/merges.txt");
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer;
  if (FileExists(json_path)) {
    tokenizer = FromTokenizerJson(json_path);
  } else if (FileExists(vocab_path) || FileExists(merges_path)) {
    tokenizer = FromVocabMerges(vocab_path, merges_path);
  } else {
    return absl::NotFoundError(
        absl::StrCat(dir, ": no tokenizer found (expected tokenizer.json, or vocab.json and merges.txt)"));
  }
  if (!tokenizer.ok()) return tokenizer.status();
  const std::string config_path = absl::StrCat(dir, "/tokenizer_config.json");
  if (FileExists(config_path)) {
    if (absl::Status s = ApplyTokenizerConfig(config_path, tokenizer->get()); !s.ok()) return s;
  }
  return tokenizer;
}

}  // namespace brain::tokenizer
