// `brain score`: adds r(x, y) under a reward model (and log p(y | x) under a prior) to JSONL samples,
// data-parallel over MPI ranks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_io.h"
#include "core/sampling/teacher_forcing.h"
#include "core/tokenizer/tokenizer.h"
#include "distributed/data_partition.h"
#include "distributed/world.h"
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

// Batches of `batch_size` consecutive records, dealt to ranks round-robin: a record's batch (so its
// padding and every float it goes through) does not depend on the rank count.
std::vector<int64_t> MyRecords(size_t count, int64_t batch_size, int rank, int size) {
  const int64_t batches = (static_cast<int64_t>(count) + batch_size - 1) / batch_size;
  std::vector<int64_t> order(batches);
  for (int64_t b = 0; b < batches; ++b) order[b] = b;
  std::vector<int64_t> mine;
  for (const int64_t b : distributed::RankShare(order, rank, size)) {
    for (int64_t i = b * batch_size; i < std::min<int64_t>(count, (b + 1) * batch_size); ++i) mine.push_back(i);
  }
  return mine;
}

// Collects each rank's `per_record` doubles for its records (MyRecords order) at rank 0, by record.
std::vector<double> GatherByRecord(const distributed::World& w, const std::vector<double>& mine, size_t count,
                                   int64_t batch_size, int per_record) {
  std::vector<int> offsets;  // in bytes
  const std::string bytes = w.GatherToMain(
      std::string_view(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double)), &offsets);
  std::vector<double> out;
  if (!w.is_main()) return out;
  std::vector<double> all(bytes.size() / sizeof(double));
  std::memcpy(all.data(), bytes.data(), bytes.size());
  out.assign(count * per_record, 0.0);
  for (int r = 0; r < w.size(); ++r) {
    const size_t first = offsets[r] / sizeof(double);
    const auto records = MyRecords(count, batch_size, r, w.size());
    for (size_t j = 0; j < records.size(); ++j) {
      for (int k = 0; k < per_record; ++k) out[records[j] * per_record + k] = all[first + j * per_record + k];
    }
  }
  return out;
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
  auto world_or = distributed::World::Create();
  if (!world_or.ok()) return fail(std::string(world_or.status().message()));
  const distributed::World& w = **world_or;
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
  std::shared_ptr<model::CausalLm> prior;
  if (args.Has("prior")) {
    auto loaded = model::LoadModel(args.Get("prior"));
    if (!loaded.ok()) return fail(std::string(loaded.status().message()));
    prior = std::move(*loaded);
    prior->eval();
    for (const auto* seqs : {&prompts, &responses}) {
      if (auto s = CheckVocab(*seqs, *prior, "prior", line_numbers, in_path); !s.ok()) {
        return fail(std::string(s.message()));
      }
    }
  }
  // This rank's batches, one forward each (per model), with a progress line on rank 0.
  const auto mine = MyRecords(records.size(), batch_size, w.rank(), w.size());
  const int per_record = prior ? 2 : 1;
  std::vector<double> values;
  const auto start = std::chrono::steady_clock::now();
  auto last_progress = start;
  for (size_t begin = 0; begin < mine.size(); begin += batch_size) {
    const size_t end = std::min(mine.size(), begin + static_cast<size_t>(batch_size));
    std::vector<sampling::TokenIds> p, r;
    for (size_t j = begin; j < end; ++j) {
      p.push_back(prompts[mine[j]]);
      r.push_back(responses[mine[j]]);
    }
    const auto rewards = sampling::RewardScores(**reward, p, r, batch_size);
    std::vector<double> logprobs;
    if (prior) logprobs = sampling::SequenceLogprobs(*prior, p, r, batch_size);
    for (size_t j = 0; j < rewards.size(); ++j) {
      values.push_back(rewards[j]);
      if (prior) values.push_back(logprobs[j]);
    }
    const auto now = std::chrono::steady_clock::now();
    if (w.is_main() && (std::chrono::duration<double>(now - last_progress).count() >= 5 || end == mine.size())) {
      last_progress = now;
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double rate = elapsed > 0 ? end / elapsed : 0;
      std::fprintf(stderr, "brain score: rank 0: %zu/%zu responses, %.1f responses/s, ETA %.0f s\n", end,
                   mine.size(), rate, rate > 0 ? (mine.size() - end) / rate : 0.0);
    }
  }
  const auto gathered = GatherByRecord(w, values, records.size(), batch_size, per_record);
  if (!w.is_main()) return kExitOk;
  const std::string out_path = args.Get("out");
  std::ofstream out(out_path, std::ios::trunc);
  if (!out) return fail(out_path + ": cannot open for writing");
  for (size_t i = 0; i < records.size(); ++i) {
    records[i]["reward"] = gathered[i * per_record];
    if (prior) records[i]["prior_logprob"] = gathered[i * per_record + 1];
    out << records[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  out.close();
  if (!out) return fail(out_path + ": write failed");
  std::fprintf(stderr, "brain score: scored %zu responses -> %s on %d rank%s\n", records.size(), out_path.c_str(),
               w.size(), w.size() == 1 ? "" : "s");
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
      "x, y_<t) under the prior, no temperature). Batched, inference mode. Under mpirun the batches of\n"
      "--batch-size consecutive records are dealt to the ranks and rank 0 writes the output in input\n"
      "order, identical for any rank count.";
  cmd.usage = "[mpirun -np N] brain score --reward-model DIR [--prior DIR] --in FILE.jsonl --out FILE.jsonl";
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
