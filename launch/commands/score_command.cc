// `brain score`: adds r(x, y) under a reward model (and log p(y | x) under a prior) to JSONL samples.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_io.h"
#include "core/sampling/teacher_forcing.h"
#include "core/tokenizer/tokenizer.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

// Token ids of a record: the array field when present, else the tokenised text field.
absl::StatusOr<sampling::TokenIds> Ids(const nlohmann::json& rec, const char* ids_field, const char* text_field,
                                      const tokenizer::Tokenizer* tok) {
  if (const auto it = rec.find(ids_field); it != rec.end()) {
    if (!it->is_array()) return absl::InvalidArgumentError(absl::StrCat("\"", ids_field, "\" must be an array"));
    sampling::TokenIds ids;
    for (const auto& v : *it) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {
        return absl::InvalidArgumentError(absl::StrCat("\"", ids_field, "\" holds a non-id element"));
      }
      ids.push_back(v.get<int64_t>());
    }
    return ids;
  }
  const auto text = rec.find(text_field);
  if (text == rec.end() || !text->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("needs \"", ids_field, "\" or a string \"", text_field, "\""));
  }
  if (tok == nullptr) return absl::InvalidArgumentError(absl::StrCat("\"", text_field, "\" needs --tokenizer"));
  sampling::TokenIds ids;
  for (const int32_t id : tok->Encode(text->get<std::string>())) ids.push_back(id);
  return ids;
}

absl::Status CheckVocab(const std::vector<sampling::TokenIds>& seqs, const model::CausalLm& m, const std::string& what,
                        const std::vector<int64_t>& line_numbers, const std::string& path) {
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (const int64_t id : seqs[i]) {
      if (id >= m.config().vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line_numbers[i], ": token id ", id,
                                                       " outside the ", what, " vocabulary (", m.config().vocab_size,
                                                       ")"));
      }
    }
  }
  return absl::OkStatus();
}

int Run(const ParsedArgs& args) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "brain score: %s\n", message.c_str());
    return kExitFailure;
  };
  int64_t batch_size = 16;
  if (args.Has("batch-size") && (!absl::SimpleAtoi(args.Get("batch-size"), &batch_size) || batch_size < 1)) {
    std::fprintf(stderr, "brain score: --batch-size: expected a positive integer, got '%s'\n",
                 args.Get("batch-size").c_str());
    return kExitUsage;
  }
  const std::string in_path = args.Get("in");
  const std::string reward_dir = args.Get("reward-model");
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (auto t = tokenizer::Tokenizer::FromDirectory(args.Get("tokenizer", reward_dir)); t.ok()) {
    tok = std::move(*t);
  } else if (args.Has("tokenizer")) {
    return fail(std::string(t.status().message()));
  }
  std::ifstream in(in_path);
  if (!in) return fail(in_path + ": cannot open");
  std::vector<nlohmann::json> records;
  std::vector<sampling::TokenIds> prompts, responses;
  std::vector<int64_t> line_numbers;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = absl::StrCat(in_path, ":", number, ": ");
    auto rec = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (rec.is_discarded() || !rec.is_object()) return fail(where + "expected a JSON object");
    auto p = Ids(rec, "prompt_token_ids", "prompt", tok.get());
    if (!p.ok()) return fail(absl::StrCat(where, p.status().message()));
    auto r = Ids(rec, "token_ids", "text", tok.get());
    if (!r.ok()) return fail(absl::StrCat(where, r.status().message()));
    if (p->empty()) return fail(where + "empty prompt");
    prompts.push_back(std::move(*p));
    responses.push_back(std::move(*r));
    records.push_back(std::move(rec));
    line_numbers.push_back(number);
  }
  auto reward = model::LoadModel(reward_dir);
  if (!reward.ok()) return fail(std::string(reward.status().message()));
  if ((*reward)->config().head != model::HeadKind::kSequenceClassification) {
    return fail(reward_dir + ": not a reward model (needs a sequence-classification head)");
  }
  (*reward)->eval();
  if (auto s = CheckVocab(prompts, **reward, "reward model", line_numbers, in_path); !s.ok()) {
    return fail(std::string(s.message()));
  }
  if (auto s = CheckVocab(responses, **reward, "reward model", line_numbers, in_path); !s.ok()) {
    return fail(std::string(s.message()));
  }
  const auto rewards = sampling::RewardScores(**reward, prompts, responses, batch_size);
  std::optional<std::vector<double>> prior_logprobs;
  if (args.Has("prior")) {
    auto prior = model::LoadModel(args.Get("prior"));
    if (!prior.ok()) return fail(std::string(prior.status().message()));
    (*prior)->eval();
    for (const auto* seqs : {&prompts, &responses}) {
      if (auto s = CheckVocab(*seqs, **prior, "prior", line_numbers, in_path); !s.ok()) {
        return fail(std::string(s.message()));
      }
    }
    prior_logprobs = sampling::SequenceLogprobs(**prior, prompts, responses, batch_size);
  }
  const std::string out_path = args.Get("out");
  std::ofstream out(out_path, std::ios::trunc);
  if (!out) return fail(out_path + ": cannot open for writing");
  for (size_t i = 0; i < records.size(); ++i) {
    records[i]["reward"] = rewards[i];
    if (prior_logprobs) records[i]["prior_logprob"] = (*prior_logprobs)[i];
    out << records[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  out.close();
  if (!out) return fail(out_path + ": write failed");
  std::fprintf(stderr, "brain score: scored %zu responses -> %s\n", records.size(), out_path.c_str());
  return kExitOk;
}

}  // namespace

Subcommand ScoreCommand() {
  Subcommand cmd;
  cmd.name = "score";
  cmd.summary = "add reward and teacher-forced log-probs to sampled responses";
  cmd.description =
      "Reads JSONL records (as `brain sample` writes them: prompt_token_ids + token_ids, or prompt +\n"
      "text strings tokenised with --tokenizer) and writes each record back with \"reward\" (the reward\n"
      "model's score at the last response token) and, with --prior, \"prior_logprob\" (sum of log p(y_t |\n"
      "x, y_<t) under the prior, no temperature). Batched, inference mode, one process.";
  cmd.usage = "brain score --reward-model DIR [--prior DIR] --in FILE.jsonl --out FILE.jsonl";
  cmd.options = {{"reward-model", "DIR", "HF reward model directory", false, true},
                 {"prior", "DIR", "HF model for teacher-forced log-probs"},
                 {"in", "FILE", "input JSONL", false, true},
                 {"out", "FILE", "output JSONL", false, true},
                 {"tokenizer", "DIR", "tokenizer for text-only records (default: the reward model directory)"},
                 {"batch-size", "N", "sequences per forward (default 16)"}};
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
