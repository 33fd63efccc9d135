// Token-length rules for prompts and responses: side-aware prompt truncation and EOS-terminated responses.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/config.pb.h"

namespace brain::data {

// Keeps at most `max_tokens` ids: LEFT (and UNSPECIFIED, the default) drops ids from the start, keeping
// the end next to the response; RIGHT drops ids from the end. max_tokens <= 0 leaves `ids` unchanged.
void TruncatePrompt(std::vector<int32_t>& ids, int max_tokens, config::TruncationSide side);

// Makes a response of at most `max_tokens` ids *including* the EOS id, which is always the last one:
// the content is cut on the right (its start is kept) to max_tokens - 1 ids, then EOS is appended.
// max_tokens <= 0 keeps all content ids (EOS is still appended).
void FinishResponse(std::vector<int32_t>& ids, int max_tokens, int32_t eos_id);

}  // namespace brain::data
