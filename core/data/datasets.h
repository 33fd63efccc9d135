// Readers of the JSONL datasets: prompts, demonstrations (prompt, response) and preference pairs
// (prompt, chosen, rejected [, margin] [, reference]), tokenised and truncated by a DataConfig.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/examples.h"
#include "core/tokenizer/tokenizer.h"
#include "proto/config.pb.h"

namespace brain::data {

// Each line is a JSON object with the fields the config names (data.prompt_field, ...). Rules:
//  - text fields must be non-empty strings; an optional "id" is a string or an integer, unique per file;
//  - prompts: tokenised, then truncated to data.max_prompt_tokens on data.prompt_truncation's side;
//  - responses (response, chosen, rejected, reference): tokenised, content cut on the right to
//    data.max_response_tokens - 1 ids, then the tokenizer's EOS id appended (EOS counts in the limit);
//  - data.margin_field, when set (non-empty), names a finite number every pair must have;
//    data.reference_field, when set, a reference response (non-empty string, tokenised like a response)
//    every prompt line (ReadPrompts) and every pair must have.
// A bad line is "path:line: reason"; data.bad_lines picks fail (the first one is the error) or skip and
// count (Dataset::report). A bad config (empty field name, max_prompt_tokens < 1,
// max_response_tokens < 2) is InvalidArgument naming the field; a tokenizer without an EOS id is
// FailedPrecondition for the readers that build responses (ReadPrompts only with reference_field). A missing
// or unreadable file names the path.
absl::StatusOr<Dataset<PromptExample>> ReadPrompts(const std::string& path, const config::DataConfig& config,
                                                   const tokenizer::Tokenizer& tokenizer);
absl::StatusOr<Dataset<DemonstrationExample>> ReadDemonstrations(const std::string& path,
                                                                 const config::DataConfig& config,
                                                                 const tokenizer::Tokenizer& tokenizer);
absl::StatusOr<Dataset<PreferenceExample>> ReadPreferences(const std::string& path,
                                                           const config::DataConfig& config,
                                                           const tokenizer::Tokenizer& tokenizer);

// The same on in-memory JSONL text; `source` stands for the path in messages.
absl::StatusOr<Dataset<PromptExample>> ParsePrompts(absl::string_view text, const std::string& source,
                                                    const config::DataConfig& config,
                                                    const tokenizer::Tokenizer& tokenizer);
absl::StatusOr<Dataset<DemonstrationExample>> ParseDemonstrations(absl::string_view text,
                                                                  const std::string& source,
                                                                  const config::DataConfig& config,
                                                                  const tokenizer::Tokenizer& tokenizer);
absl::StatusOr<Dataset<PreferenceExample>> ParsePreferences(absl::string_view text, const std::string& source,
                                                            const config::DataConfig& config,
                                                            const tokenizer::Tokenizer& tokenizer);

}  // namespace brain::data
