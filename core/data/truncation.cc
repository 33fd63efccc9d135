// Prompt truncation and EOS-terminated responses.
#include "core/data/truncation.h"

#include <algorithm>

namespace brain::data {

void TruncatePrompt(std::vector<int32_t>& ids, int max_tokens, config::TruncationSide side) {
  if (max_tokens <= 0 || static_cast<int64_t>(ids.size()) <= max_tokens) return;
  const size_t excess = ids.size() - static_cast<size_t>(max_tokens);
  if (side == config::RIGHT) {
    ids.resize(static_cast<size_t>(max_tokens));
  } else {
    ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(excess));
  }
}

void FinishResponse(std::vector<int32_t>& ids, int max_tokens, int32_t eos_id) {
  if (max_tokens > 0) {
    const size_t content = static_cast<size_t>(std::max(0, max_tokens - 1));
    if (ids.size() > content) ids.resize(content);
  }
  ids.push_back(eos_id);
}

}  // namespace brain::data
