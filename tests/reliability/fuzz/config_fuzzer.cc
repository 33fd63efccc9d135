// libFuzzer target: the experiment config loader (textproto + --set overrides + validation).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/config/config_loader.h"

// The input is "config text" optionally followed by "\0" and newline-separated `--set` overrides.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string text = input.substr(0, split);
  std::vector<std::string> overrides;
  if (split != std::string::npos) {
    for (absl::string_view line : absl::StrSplit(absl::string_view(input).substr(split + 1), '\n')) {
      if (!line.empty()) overrides.emplace_back(line);
      if (overrides.size() >= 8) break;
    }
  }
  auto config = brain::config::ParseConfig(text, "fuzz.textproto", overrides);
  (void)config;
  return 0;
}
