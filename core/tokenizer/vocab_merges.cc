// Loading GPT-2's vocab.json + merges.txt.
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/tokenizer/load_util.h"
#include "core/tokenizer/tokenizer.h"

namespace brain::tokenizer {

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocabMerges(const std::string& vocab_path,
                                                                      const std::string& merges_path) {
  absl::StatusOr<std::string> vocab = internal::ReadFile(vocab_path);
  if (!vocab.ok()) return vocab.status();
  absl::StatusOr<std::string> merges = internal::ReadFile(merges_path);
  if (!merges.ok()) return merges.status();
  return FromVocabMergesText(*vocab, vocab_path, *merges, merges_path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocabMergesText(absl::string_view vocab_json,
                                                                          const std::string& vocab_source,
                                                                          absl::string_view merges_text,
                                                                          const std::string& merges_source) {
  absl::StatusOr<nlohmann::json> vocab = internal::ParseJson(vocab_json, vocab_source);
  if (!vocab.ok()) return vocab.status();
  if (!vocab->is_object()) {
    return internal::FieldError(vocab_source, "(root)",
                                absl::StrCat("expected an object of token -> id, got ", vocab->type_name()));
  }
  std::vector<std::pair<std::string, int64_t>> entries;
  entries.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer()) {
      return internal::FieldError(vocab_source, absl::StrCat("[\"", it.key(), "\"]"),
                                  absl::StrCat("expected an integer id, got ", it.value().type_name()));
    }
    entries.emplace_back(it.key(), it.value().get<int64_t>());
  }
  absl::StatusOr<BpeModel> bpe = BpeModel::Create(std::move(entries), BpeOptions{});
  if (!bpe.ok()) return absl::InvalidArgumentError(absl::StrCat(vocab_source, ": ", bpe.status().message()));

  // One merge per line, "LEFT RIGHT"; a leading "#version" line and blank lines are skipped.
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(merges_text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_number == 1 && absl::StartsWith(line, "#version"))) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(merges_source, ":", line_number,
                                                     ": expected \"LEFT RIGHT\" (two tokens separated by one "
                                                     "space), got \"",
                                                     absl::CHexEscape(line.substr(0, 80)), "\""));
    }
    if (absl::Status s = bpe->AddMerge(parts[0], parts[1]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(merges_source, ":", line_number, ": ", s.message()));
    }
  }
  std::vector<AddedToken> added;
  if (std::optional<int32_t> eot = bpe->TokenToId("<|endoftext|>")) {
    added.push_back(AddedToken{"<|endoftext|>", *eot, /*special=*/true});
  }
  std::vector<PreTokenizerStage> stages = {{SplitPattern::kGpt2, /*add_prefix_space=*/false}};
  return std::make_unique<Tokenizer>(*std::move(bpe), PreTokenizer(std::move(stages)), std::move(added));
}

}  // namespace brain::tokenizer
