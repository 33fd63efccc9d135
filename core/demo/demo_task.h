// DemoTask: the built-in synthetic alignment task of `brain demo` (data, tokenizer, hidden gold reward).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace brain::demo {

// The task, in one paragraph: a prompt is a few random letters from 'a'..'l' followed by '>'; an SFT
// demonstration answers with letters mostly copied from the prompt (some random), then EOS. The hidden
// gold reward is the share of vowels (a, e, i) in the response, with a penalty for answers shorter than
// kMinGoodLength letters, so "EOS at once" is not a cheap win. The demonstrations are indifferent to the
// reward, so SFT scores about the vowel share of its inputs; BRAIn and DPO must learn from a reward
// model trained on gold-labelled preference pairs to raise it.
struct DemoTaskOptions {
  uint64_t seed = 7;
  int prompt_letters = 5;
  int response_letters = 6;  // length of a demonstration response (before EOS)
  double copy_probability = 0.7;
  int num_demonstrations = 1024;
  int num_pairs = 1024;
  int num_train_prompts = 512;
  int num_eval_prompts = 128;
  int num_eval_pairs = 256;
};

inline constexpr int kMinGoodLength = 3;

// Gold reward of a response (its text, without EOS), in [−1, 1].
double GoldReward(absl::string_view response);

// Writes the task into `dir`: tokenizer/ (vocab.json: one token per byte, id = byte value, plus
// <|endoftext|> = 256; merges.txt empty; tokenizer_config.json naming EOS), demonstrations.jsonl
// ({prompt, response}), pairs.jsonl and eval_pairs.jsonl ({prompt, chosen, rejected}, labelled by the
// gold reward, ties dropped), prompts.jsonl (training prompts for BRAIn) and eval_prompts.jsonl.
// Deterministic in the seed.
absl::Status WriteDemoTask(const std::string& dir, const DemoTaskOptions& options);

// The vocabulary size of the demo tokenizer (256 bytes + EOS); EOS is its last id.
inline constexpr int64_t kDemoVocabSize = 257;

}  // namespace brain::demo
