// The built-in synthetic task of `brain demo`.
#include "core/demo/demo_task.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/tokenizer/byte_level.h"
#include "nlohmann/json.hpp"

namespace brain::demo {
namespace {

constexpr char kFirstLetter = 'a';
constexpr int kLetters = 12;  // 'a'..'l'

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i'; }

char RandomLetter(std::mt19937_64& rng) {
  return static_cast<char>(kFirstLetter + std::uniform_int_distribution<int>(0, kLetters - 1)(rng));
}

std::string RandomPrompt(std::mt19937_64& rng, const DemoTaskOptions& options) {
  std::string prompt;
  for (int i = 0; i < options.prompt_letters; ++i) prompt += RandomLetter(rng);
  return prompt + ">";
}

// A demonstration: mostly letters of the prompt (in order, cycling), some random.
std::string Demonstration(std::mt19937_64& rng, const std::string& prompt, const DemoTaskOptions& options) {
  std::bernoulli_distribution copy(options.copy_probability);
  std::string response;
  for (int i = 0; i < options.response_letters; ++i) {
    response += copy(rng) ? prompt[i % options.prompt_letters] : RandomLetter(rng);
  }
  return response;
}

absl::Status WriteLines(const std::string& path, const std::vector<nlohmann::json>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line.dump() << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

absl::Status WriteTokenizer(const std::string& dir) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int byte = 0; byte < 256; ++byte) {
    vocab[tokenizer::BytesToByteLevel(std::string(1, static_cast<char>(byte)))] = byte;
  }
  vocab["<|endoftext|>"] = 256;
  std::ofstream(dir + "/vocab.json", std::ios::trunc) << vocab.dump() << "\n";
  std::ofstream(dir + "/merges.txt", std::ios::trunc) << "#version: 0.2\n";
  nlohmann::json config = {{"eos_token", "<|endoftext|>"},
                           {"bos_token", "<|endoftext|>"},
                           {"model_max_length", 64},
                           {"tokenizer_class", "GPT2Tokenizer"}};
  std::ofstream out(dir + "/tokenizer_config.json", std::ios::trunc);
  out << config.dump(2) << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(dir, ": cannot write the demo tokenizer"));
  return absl::OkStatus();
}

}  // namespace

double GoldReward(absl::string_view response) {
  if (response.empty()) return -1.0;
  int vowels = 0;
  for (char c : response) vowels += IsVowel(c) ? 1 : 0;
  const double share = static_cast<double>(vowels) / static_cast<double>(response.size());
  const int missing = std::max<int>(0, kMinGoodLength - static_cast<int>(response.size()));
  return share - 0.5 * missing;
}

absl::Status WriteDemoTask(const std::string& dir, const DemoTaskOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(dir + "/tokenizer", error);
  if (error) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", error.message()));
  if (auto status = WriteTokenizer(dir + "/tokenizer"); !status.ok()) return status;

  std::mt19937_64 rng(options.seed);
  std::vector<nlohmann::json> demonstrations, pairs, prompts, eval_prompts;
  for (int i = 0; i < options.num_demonstrations; ++i) {
    const std::string prompt = RandomPrompt(rng, options);
    demonstrations.push_back({{"prompt", prompt}, {"response", Demonstration(rng, prompt, options)}});
  }
  std::vector<nlohmann::json> eval_pairs;
  for (auto [lines, count] : {std::pair{&pairs, options.num_pairs}, std::pair{&eval_pairs, options.num_eval_pairs}}) {
    while (static_cast<int>(lines->size()) < count) {
      const std::string prompt = RandomPrompt(rng, options);
      std::string first = Demonstration(rng, prompt, options);
      std::string second = Demonstration(rng, prompt, options);
      const double r1 = GoldReward(first), r2 = GoldReward(second);
      if (r1 == r2) continue;
      if (r1 < r2) std::swap(first, second);
      lines->push_back({{"prompt", prompt}, {"chosen", first}, {"rejected", second}});
    }
  }
  for (int i = 0; i < options.num_train_prompts; ++i) prompts.push_back({{"prompt", RandomPrompt(rng, options)}});
  for (int i = 0; i < options.num_eval_prompts; ++i) {
    eval_prompts.push_back({{"prompt", RandomPrompt(rng, options)}});
  }
  for (auto [name, lines] : {std::pair{"demonstrations.jsonl", &demonstrations},
                             std::pair{"pairs.jsonl", &pairs}, std::pair{"eval_pairs.jsonl", &eval_pairs},
                             std::pair{"prompts.jsonl", &prompts},
                             std::pair{"eval_prompts.jsonl", &eval_prompts}}) {
    if (auto status = WriteLines(dir + "/" + name, *lines); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace brain::demo
