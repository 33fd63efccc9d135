// `brain sample`: n responses per prompt with exact proposal log-probs, data-parallel over MPI ranks.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_io.h"
#include "core/sampling/generator.h"
#include "core/tokenizer/tokenizer.h"
#include "distributed/data_partition.h"
#include "distributed/world.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

struct PromptLine {
  int64_t id = 0;
  std::string text;
};

// One JSON object per non-empty line: {"prompt": "...", "id": 7}; id defaults to the line's index
// among the prompts (0-based). Errors name FILE:LINE.
absl::StatusOr<std::vector<PromptLine>> ReadPrompts(const std::string& path, const std::string& field) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<PromptLine> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto where = absl::StrCat(path, ":", number, ": ");
    const auto value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object()) {
      return absl::InvalidArgumentError(where + "expected a JSON object");
    }
    const auto text = value.find(field);
    if (text == value.end() || !text->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "missing string field \"", field, "\""));
    }
    PromptLine p{static_cast<int64_t>(out.size()), text->get<std::string>()};
    if (const auto id = value.find("id"); id != value.end()) {
      if (!id->is_number_integer()) return absl::InvalidArgumentError(where + "\"id\" must be an integer");
      p.id = id->get<int64_t>();
    }
    for (const auto& q : out) {
      if (q.id == p.id) return absl::InvalidArgumentError(absl::StrCat(where, "duplicate id ", p.id));
    }
    out.push_back(std::move(p));
  }
  return out;
}

template <typename T>
bool ParseNumber(const ParsedArgs& args, const std::string& name, T* out, std::string* error) {
  if (!args.Has(name)) return true;
  if (!absl::SimpleAtoi(args.Get(name), out)) {
    *error = absl::StrCat("--", name, ": expected an integer, got '", args.Get(name), "'");
    return false;
  }
  return true;
}

bool ParseDouble(const ParsedArgs& args, const std::string& name, double* out, std::string* error) {
  if (!args.Has(name)) return true;
  if (!absl::SimpleAtod(args.Get(name), out)) {
    *error = absl::StrCat("--", name, ": expected a number, got '", args.Get(name), "'");
    return false;
  }
  return true;
}

int Run(const ParsedArgs& args) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "brain sample: %s\n", message.c_str());
    return kExitFailure;
  };
  sampling::GenerateOptions gen;
  sampling::SamplingOptions& so = gen.sampling;
  int64_t n = 4;
  std::string error;
  int64_t round = 0;
  if (!ParseNumber(args, "n", &n, &error) || !ParseNumber(args, "seed", &gen.seed.run_seed, &error) ||
      !ParseNumber(args, "round", &round, &error) || !ParseDouble(args, "temperature", &so.temperature, &error) ||
      !ParseNumber(args, "top-k", &so.top_k, &error) || !ParseDouble(args, "top-p", &so.top_p, &error) ||
      !ParseNumber(args, "max-new-tokens", &so.max_new_tokens, &error) ||
      !ParseNumber(args, "min-new-tokens", &so.min_new_tokens, &error) ||
      !ParseNumber(args, "batch-size", &so.batch_size, &error) ||
      !ParseDouble(args, "refill-fraction", &so.refill_fraction, &error)) {
    std::fprintf(stderr, "brain sample: %s\n", error.c_str());
    return kExitUsage;
  }
  if (!args.Has("seed")) gen.seed.run_seed = 1234;
  gen.seed.round = round;
  if (n < 1) {
    std::fprintf(stderr, "brain sample: --n: must be >= 1 (got %lld)\n", static_cast<long long>(n));
    return kExitUsage;
  }
  for (const auto& id : args.GetAll("stop-token-id")) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(id, &v) || v < 0) {
      std::fprintf(stderr, "brain sample: --stop-token-id: expected a token id, got '%s'\n", id.c_str());
      return kExitUsage;
    }
    so.stop_token_ids.push_back(v);
  }
  so.stop_strings = args.GetAll("stop");
  if (auto status = sampling::ValidateSamplingOptions(so); !status.ok()) {
    std::fprintf(stderr, "brain sample: %s\n", std::string(status.message()).c_str());
    return kExitUsage;
  }

  auto world_or = distributed::World::Create();
  if (!world_or.ok()) return fail(std::string(world_or.status().message()));
  const distributed::World& w = **world_or;
  const std::string model_dir = args.Get("model");
  auto tok = tokenizer::Tokenizer::FromDirectory(args.Get("tokenizer", model_dir));
  if (!tok.ok()) return fail(absl::StrCat(tok.status().message(), " (pass --tokenizer DIR)"));
  auto lines = ReadPrompts(args.Get("prompts"), args.Get("prompt-field", "prompt"));
  if (!lines.ok()) return fail(std::string(lines.status().message()));
  auto model = model::LoadModel(model_dir);
  if (!model.ok()) return fail(std::string(model.status().message()));
  (*model)->eval();
  gen.tokenizer = tok->get();

  // Strided share of the prompts (any split gives the same samples: the seeds are per sample).
  std::vector<int64_t> order(lines->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::vector<sampling::Prompt> prompts;
  std::vector<const PromptLine*> source;
  for (const int64_t i : distributed::RankShare(order, w.rank(), w.size())) {
    const PromptLine& line = (*lines)[i];
    sampling::Prompt p;
    p.prompt_id = line.id;
    for (const int32_t id : (*tok)->Encode(line.text)) p.token_ids.push_back(id);
    prompts.push_back(std::move(p));
    source.push_back(&line);
  }
  if (w.is_main()) {
    gen.progress = [&](const sampling::GenerateProgress& p) {
      const double rate = p.elapsed_s > 0 ? p.samples_done / p.elapsed_s : 0;
      const double eta = rate > 0 ? (p.samples_total - p.samples_done) / rate : 0;
      std::fprintf(stderr, "brain sample: rank 0: %lld/%lld samples, %.1f samples/s, %.0f tokens/s, ETA %.0f s\n",
                   static_cast<long long>(p.samples_done), static_cast<long long>(p.samples_total), rate,
                   p.elapsed_s > 0 ? p.tokens / p.elapsed_s : 0.0, eta);
    };
  }
  sampling::GenerateStats stats;
  auto samples = sampling::GenerateSamples(**model, prompts, n, gen, &stats);
  int ok = samples.ok() ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, w.comm());
  if (!samples.ok()) return fail(absl::StrCat("rank ", w.rank(), ": ", samples.status().message()));
  if (!all_ok) return fail("another rank failed");

  // Records "prompt_id \t sample_index \t json \n", merged and ordered at rank 0.
  std::string mine;
  for (const auto& s : *samples) {
    const auto it = std::find_if(prompts.begin(), prompts.end(),
                                 [&](const sampling::Prompt& p) { return p.prompt_id == s.prompt_id; });
    const PromptLine& line = *source[it - prompts.begin()];
    std::vector<int32_t> ids(s.token_ids.begin(), s.token_ids.end());
    auto text = (*tok)->Decode(ids);
    nlohmann::json j;
    j["prompt_id"] = s.prompt_id;
    j["sample_index"] = s.sample_index;
    j["prompt"] = line.text;
    j["prompt_token_ids"] = it->token_ids;
    j["text"] = text.ok() ? *text : std::string();
    j["token_ids"] = s.token_ids;
    j["token_logq"] = s.token_logq;
    j["logq"] = s.logq;
    j["finish_reason"] = sampling::FinishReasonName(s.finish_reason);
    absl::StrAppend(&mine, s.prompt_id, "\t", s.sample_index, "\t",
                    j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "\n");
  }
  double local[3] = {static_cast<double>(stats.generated_tokens), stats.prefill_s, stats.decode_s};
  double sums[3] = {0, 0, 0};
  MPI_Reduce(local, sums, 3, MPI_DOUBLE, MPI_SUM, 0, w.comm());
  const std::string all = w.GatherToMain(mine);
  if (!w.is_main()) return kExitOk;
  std::vector<std::tuple<int64_t, int64_t, std::string>> records;
  size_t pos = 0;
  while (pos < all.size()) {
    const size_t end = all.find('\n', pos);
    const std::string rec = all.substr(pos, end - pos);
    pos = end + 1;
    const size_t t1 = rec.find('\t'), t2 = rec.find('\t', t1 + 1);
    int64_t pid = 0, si = 0;
    if (!absl::SimpleAtoi(rec.substr(0, t1), &pid) || !absl::SimpleAtoi(rec.substr(t1 + 1, t2 - t1 - 1), &si)) {
      return fail("internal error: malformed gathered record");
    }
    records.emplace_back(pid, si, rec.substr(t2 + 1));
  }
  std::sort(records.begin(), records.end());
  const std::string out_path = args.Get("out");
  std::ofstream out(out_path, std::ios::trunc);
  if (!out) return fail(out_path + ": cannot open for writing");
  for (const auto& r : records) out << std::get<2>(r) << "\n";
  out.close();
  if (!out) return fail(out_path + ": write failed");
  std::fprintf(stderr,
               "brain sample: wrote %zu samples (%zu prompts x %lld) to %s; %.0f tokens in %.1f s on %d rank%s "
               "(rank 0: prefill %.1f s, decode %.1f s, %.1f%% of decode rows idle)\n",
               records.size(), lines->size(), static_cast<long long>(n), out_path.c_str(), sums[0],
               stats.total_s, w.size(), w.size() == 1 ? "" : "s", stats.prefill_s, stats.decode_s,
               stats.row_steps > 0 ? 100.0 * stats.wasted_row_steps / stats.row_steps : 0.0);
  return kExitOk;
}

}  // namespace

Subcommand SampleCommand() {
  Subcommand cmd;
  cmd.name = "sample";
  cmd.summary = "draw n responses per prompt with exact proposal log-probs";
  cmd.description =
      "Batched KV-cache sampling (temperature, top-k, top-p, min/max new tokens, stop ids and strings)\n"
      "with continuous batching. Prompts: JSONL objects with a \"prompt\" string (--prompt-field) and an\n"
      "optional integer \"id\". Output JSONL, ordered by (prompt_id, sample_index): prompt_id,\n"
      "sample_index, prompt, prompt_token_ids, text, token_ids, token_logq, logq (the log-density\n"
      "under the tempered, truncated distribution actually sampled), finish_reason (eos|stop|length).\n"
      "Under mpirun the prompts are split over ranks; every sample depends only on (--seed, --round,\n"
      "prompt id, sample index), so the output is the same for any rank count or batch size.";
  cmd.usage = "[mpirun -np N] brain sample --model DIR --prompts FILE.jsonl --n N --out FILE.jsonl [flags]";
  cmd.options = {{"model", "DIR", "HF model directory", false, true},
                 {"prompts", "FILE", "JSONL prompts", false, true},
                 {"n", "N", "samples per prompt (default 4)"},
                 {"out", "FILE", "output JSONL", false, true},
                 {"tokenizer", "DIR", "tokenizer directory (default: the model directory)"},
                 {"prompt-field", "NAME", "prompt field of the input objects (default prompt)"},
                 {"seed", "N", "run seed (default 1234)"},
                 {"round", "N", "round number, part of every sample's seed (default 0)"},
                 {"temperature", "T", "sampling temperature; 0 = greedy (default 1)"},
                 {"top-k", "K", "keep the K most likely tokens; 0 = off (default)"},
                 {"top-p", "P", "nucleus mass in (0, 1]; 1 = off (default)"},
                 {"max-new-tokens", "N", "response length limit (default 128)"},
                 {"min-new-tokens", "N", "stop tokens are masked before N tokens (default 0)"},
                 {"stop", "STRING", "stop once the response text contains STRING", true},
                 {"stop-token-id", "ID", "extra stop token id (EOS always stops)", true},
                 {"batch-size", "N", "rows decoded together (default 32)"},
                 {"refill-fraction", "F", "refill finished rows once this fraction is free (default 0.125)"}};
  cmd.run = Run;
  return cmd;
}

}  // namespace brain::cli
