// Tokenizer throughput driver: encodes every line of a text file, single-threaded, and prints JSON with
// bytes, tokens and the best CPU time of several passes (run by tokenizer_benchmark.py).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/tokenizer/tokenizer.h"

namespace {

// CPU time of this process: robust on a machine shared with other jobs (wall time is not).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR TEXT_FILE [PASSES]\n", argv[0]);
    return 2;
  }
  auto tok = brain::tokenizer::Tokenizer::FromDirectory(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tok.status().message()).c_str());
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  const int passes = argc > 3 ? std::atoi(argv[3]) : 3;
  double best = 1e30;
  size_t tokens = 0;
  std::vector<int32_t> ids;
  for (int pass = 0; pass < passes; ++pass) {
    tokens = 0;
    const double start = CpuSeconds();
    for (absl::string_view line : lines) {
      ids.clear();
      (*tok)->EncodeTo(line, &ids);
      tokens += ids.size();
    }
    const double seconds = CpuSeconds() - start;
    best = std::min(best, seconds);
  }
  std::printf("{\"bytes\": %zu, \"lines\": %zu, \"tokens\": %zu, \"seconds\": %.6f}\n", text.size(),
              lines.size(), tokens, best);
  return 0;
}
