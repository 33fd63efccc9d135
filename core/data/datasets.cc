// JSONL dataset readers: field extraction, ids, tokenisation and truncation per line.
#include "core/data/datasets.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/data/jsonl_reader.h"
#include "core/data/truncation.h"

namespace brain::data {
namespace {

using nlohmann::json;

constexpr char kIdField[] = "id";

absl::Status CheckConfig(const config::DataConfig& config, bool responses) {
  const std::pair<const char*, const std::string*> names[] = {
      {"prompt_field", &config.prompt_field()},
      {"response_field", &config.response_field()},
      {"chosen_field", &config.chosen_field()},
      {"rejected_field", &config.rejected_field()},
  };
  for (const auto& [name, value] : names) {
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat("data.", name, ": must not be empty"));
  }
  if (config.max_prompt_tokens() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.max_prompt_tokens: must be >= 1 (got ", config.max_prompt_tokens(), ")"));
  }
  if (responses && config.max_response_tokens() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.max_response_tokens: must be >= 2 (one content token and EOS; got ",
                     config.max_response_tokens(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> EosId(const tokenizer::Tokenizer& tokenizer) {
  if (!tokenizer.eos_id().has_value()) {
    return absl::FailedPreconditionError("the tokenizer has no EOS token, which every response ends with");
  }
  return *tokenizer.eos_id();
}

// A required non-empty string field.
absl::StatusOr<std::string> GetText(const json& object, const std::string& field) {
  auto it = object.find(field);
  if (it == object.end()) return absl::InvalidArgumentError(absl::StrCat("missing field \"", field, "\""));
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", field, "\": expected a string, got ", it->type_name()));
  }
  std::string text = it->get<std::string>();
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": empty string"));
  return text;
}

// A required finite number.
absl::StatusOr<double> GetNumber(const json& object, const std::string& field) {
  auto it = object.find(field);
  if (it == object.end()) return absl::InvalidArgumentError(absl::StrCat("missing field \"", field, "\""));
  if (!it->is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", field, "\": expected a number, got ", it->type_name()));
  }
  const double value = it->get<double>();
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": not a finite number"));
  }
  return value;
}

// Assigns ids: the line's "id" (string or integer) or the index among valid lines; rejects duplicates.
class IdAssigner {
 public:
  absl::StatusOr<std::string> Id(const json& object, int64_t index) const {
    std::string id;
    auto it = object.find(kIdField);
    if (it == object.end()) {
      id = absl::StrCat(index);
    } else if (it->is_string()) {
      id = it->get<std::string>();
      if (id.empty()) return absl::InvalidArgumentError("field \"id\": empty string");
    } else if (it->is_number_integer()) {
      id = it->dump();
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("field \"id\": expected a string or an integer, got ", it->type_name()));
    }
    if (seen_.contains(id)) return absl::InvalidArgumentError(absl::StrCat("duplicate id \"", id, "\""));
    return id;
  }
  // Called once the line is known to be valid.
  void Commit(const std::string& id) { seen_.insert(id); }

 private:
  absl::flat_hash_set<std::string> seen_;
};

std::vector<int32_t> PromptIds(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                               const config::DataConfig& config) {
  std::vector<int32_t> ids = tokenizer.Encode(text);
  TruncatePrompt(ids, config.max_prompt_tokens(), config.prompt_truncation());
  return ids;
}

std::vector<int32_t> ResponseIds(const tokenizer::Tokenizer& tokenizer, const std::string& text,
                                 const config::DataConfig& config, int32_t eos) {
  std::vector<int32_t> ids = tokenizer.Encode(text);
  FinishResponse(ids, config.max_response_tokens(), eos);
  return ids;
}

// Runs the line loop, building examples with `make(object, index) -> StatusOr<Example>` and assigning ids.
template <typename Example, typename Make>
absl::StatusOr<Dataset<Example>> ParseWith(absl::string_view text, const std::string& source,
                                           const config::DataConfig& config, Make make) {
  Dataset<Example> dataset;
  IdAssigner ids;
  absl::Status status = ForEachJsonlObject(
      text, source, config.bad_lines(),
      [&](const json& object, int64_t /*line*/) -> absl::Status {
        const int64_t index = static_cast<int64_t>(dataset.examples.size());
        absl::StatusOr<std::string> id = ids.Id(object, index);
        if (!id.ok()) return id.status();
        absl::StatusOr<Example> example = make(object);
        if (!example.ok()) return example.status();
        example->id = *id;
        example->index = index;
        ids.Commit(*id);
        dataset.examples.push_back(*std::move(example));
        return absl::OkStatus();
      },
      &dataset.report);
  if (!status.ok()) return status;
  return dataset;
}

}  // namespace

absl::StatusOr<Dataset<PromptExample>> ParsePrompts(absl::string_view text, const std::string& source,
                                                    const config::DataConfig& config,
                                                    const tokenizer::Tokenizer& tokenizer) {
  const bool references = !config.reference_field().empty();
  if (absl::Status s = CheckConfig(config, /*responses=*/references); !s.ok()) return s;
  int32_t eos = 0;
  if (references) {
    absl::StatusOr<int32_t> id = EosId(tokenizer);
    if (!id.ok()) return id.status();
    eos = *id;
  }
  return ParseWith<PromptExample>(
      text, source, config, [&](const json& object) -> absl::StatusOr<PromptExample> {
        absl::StatusOr<std::string> prompt = GetText(object, config.prompt_field());
        if (!prompt.ok()) return prompt.status();
        PromptExample example;
        if (references) {
          absl::StatusOr<std::string> reference = GetText(object, config.reference_field());
          if (!reference.ok()) return reference.status();
          example.reference_ids = ResponseIds(tokenizer, *reference, config, eos);
        }
        example.prompt_ids = PromptIds(tokenizer, *prompt, config);
        example.text = *std::move(prompt);
        return example;
      });
}

absl::StatusOr<Dataset<DemonstrationExample>> ParseDemonstrations(absl::string_view text,
                                                                  const std::string& source,
                                                                  const config::DataConfig& config,
                                                                  const tokenizer::Tokenizer& tokenizer) {
  if (absl::Status s = CheckConfig(config, /*responses=*/true); !s.ok()) return s;
  absl::StatusOr<int32_t> eos = EosId(tokenizer);
  if (!eos.ok()) return eos.status();
  return ParseWith<DemonstrationExample>(
      text, source, config, [&](const json& object) -> absl::StatusOr<DemonstrationExample> {
        absl::StatusOr<std::string> prompt = GetText(object, config.prompt_field());
        if (!prompt.ok()) return prompt.status();
        absl::StatusOr<std::string> response = GetText(object, config.response_field());
        if (!response.ok()) return response.status();
        DemonstrationExample example;
        example.prompt_ids = PromptIds(tokenizer, *prompt, config);
        example.response_ids = ResponseIds(tokenizer, *response, config, *eos);
        return example;
      });
}

absl::StatusOr<Dataset<PreferenceExample>> ParsePreferences(absl::string_view text, const std::string& source,
                                                            const config::DataConfig& config,
                                                            const tokenizer::Tokenizer& tokenizer) {
  if (absl::Status s = CheckConfig(config, /*responses=*/true); !s.ok()) return s;
  absl::StatusOr<int32_t> eos = EosId(tokenizer);
  if (!eos.ok()) return eos.status();
  return ParseWith<PreferenceExample>(
      text, source, config, [&](const json& object) -> absl::StatusOr<PreferenceExample> {
        absl::StatusOr<std::string> prompt = GetText(object, config.prompt_field());
        if (!prompt.ok()) return prompt.status();
        absl::StatusOr<std::string> chosen = GetText(object, config.chosen_field());
        if (!chosen.ok()) return chosen.status();
        absl::StatusOr<std::string> rejected = GetText(object, config.rejected_field());
        if (!rejected.ok()) return rejected.status();
        PreferenceExample example;
        if (!config.margin_field().empty()) {
          absl::StatusOr<double> margin = GetNumber(object, config.margin_field());
          if (!margin.ok()) return margin.status();
          example.margin = *margin;
        }
        if (!config.reference_field().empty()) {
          absl::StatusOr<std::string> reference = GetText(object, config.reference_field());
          if (!reference.ok()) return reference.status();
          example.reference_ids = ResponseIds(tokenizer, *reference, config, *eos);
        }
        example.prompt_ids = PromptIds(tokenizer, *prompt, config);
        example.chosen_ids = ResponseIds(tokenizer, *chosen, config, *eos);
        example.rejected_ids = ResponseIds(tokenizer, *rejected, config, *eos);
        return example;
      });
}

absl::StatusOr<Dataset<PromptExample>> ReadPrompts(const std::string& path, const config::DataConfig& config,
                                                   const tokenizer::Tokenizer& tokenizer) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParsePrompts(*text, path, config, tokenizer);
}

absl::StatusOr<Dataset<DemonstrationExample>> ReadDemonstrations(const std::string& path,
                                                                 const config::DataConfig& config,
                                                                 const tokenizer::Tokenizer& tokenizer) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParseDemonstrations(*text, path, config, tokenizer);
}

absl::StatusOr<Dataset<PreferenceExample>> ReadPreferences(const std::string& path,
                                                           const config::DataConfig& config,
                                                           const tokenizer::Tokenizer& tokenizer) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParsePreferences(*text, path, config, tokenizer);
}

}  // namespace brain::data
