// Tokenised training examples read from JSONL (prompts, demonstrations, preference pairs) and the
// bad-line report that comes with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brain::data {

// Every example carries two identities:
//  - id: the line's "id" field (a string, or an integer written in decimal) when present, else the
//    decimal form of `index`; unique within a file;
//  - index: the 0-based position of the example among the file's valid lines.

struct PromptExample {
  std::string id;
  int64_t index = 0;
  std::string text;                 // the prompt as read (untruncated)
  std::vector<int32_t> prompt_ids;  // truncated to max_prompt_tokens
  // When data.reference_field is set: the reference response (BRAIn's SIGMOID likelihood); ends with EOS.
  std::optional<std::vector<int32_t>> reference_ids;
};

struct DemonstrationExample {
  std::string id;
  int64_t index = 0;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> response_ids;  // ends with EOS; at most max_response_tokens ids in all
};

struct PreferenceExample {
  std::string id;
  int64_t index = 0;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> chosen_ids;                    // ends with EOS
  std::vector<int32_t> rejected_ids;                  // ends with EOS
  std::optional<double> margin;                       // when data.margin_field is set
  std::optional<std::vector<int32_t>> reference_ids;  // when data.reference_field is set; ends with EOS
};

// What SKIP_AND_COUNT skipped. (Under FAIL the first bad line is returned as the error instead.)
struct BadLineReport {
  static constexpr int kMaxMessages = 10;
  int64_t skipped = 0;
  std::vector<std::string> messages;  // the first kMaxMessages "path:line: reason" messages
};

template <typename Example>
struct Dataset {
  std::vector<Example> examples;
  BadLineReport report;
};

}  // namespace brain::data
