// GenerateSamples: prefill once per prompt, copy its keys/values into its samples' rows, decode with
// per-row finishing, refill free rows from the queue (continuous batching), compact the tail.
#include "core/sampling/generator.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/model/kv_cache.h"
#include "core/sampling/teacher_forcing.h"
#include "core/sampling/token_distribution.h"
#include "core/tokenizer/tokenizer.h"

namespace brain::sampling {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class Engine {
 public:
  // `indices`: the sample indices drawn for every prompt (n_ = their count).
  Engine(model::CausalLm& model, const std::vector<Prompt>& prompts, std::vector<int64_t> indices,
         const GenerateOptions& options, GenerateStats* stats)
      : model_(model), config_(model.config()), prompts_(prompts), indices_(std::move(indices)),
        n_(static_cast<int64_t>(indices_.size())), opt_(options), so_(options.sampling), stats_(*stats),
        total_(static_cast<int64_t>(prompts.size()) * n_) {
    const auto param = model.parameters().front();
    cache_opts_ = torch::TensorOptions().dtype(param.scalar_type()).device(param.device());
    long_opts_ = torch::TensorOptions().dtype(torch::kLong).device(param.device());
    stop_ids_ = StopTokenIds(config_, so_);
    eos_.insert(config_.eos_token_ids.begin(), config_.eos_token_ids.end());
    for (const auto& p : prompts) max_prompt_ = std::max<int64_t>(max_prompt_, p.token_ids.size());
    for (const auto& s : so_.stop_strings) max_stop_bytes_ = std::max<int64_t>(max_stop_bytes_, s.size());
    uses_left_.assign(prompts.size(), n_);
    prefill_batch_ = options.prefill_batch_size > 0 ? options.prefill_batch_size
                                                    : std::max<int64_t>(1, (so_.batch_size + n_ - 1) / n_);
  }

  std::vector<Sample> Run();

 private:
  void Prefill(int64_t first);
  void Refill(const std::vector<int64_t>& free_rows, bool fresh);
  void Compact(const std::vector<int64_t>& keep, const std::vector<int64_t>& empty, int64_t extra);
  bool HitStopString(const Sample& s) const;
  int64_t Slack() const { return 2 * (max_prompt_ + so_.max_new_tokens) + 1; }

  model::CausalLm& model_;
  const model::ModelConfig& config_;
  const std::vector<Prompt>& prompts_;
  const std::vector<int64_t> indices_;
  const int64_t n_;
  const GenerateOptions& opt_;
  const SamplingOptions& so_;
  GenerateStats& stats_;
  const int64_t total_;
  torch::TensorOptions cache_opts_, long_opts_;
  std::vector<int64_t> stop_ids_;
  std::set<int64_t> eos_;
  int64_t max_prompt_ = 0, max_stop_bytes_ = 0, prefill_batch_ = 1;

  std::vector<Sample> out_;
  // Prompt index -> the prefill cache holding its keys/values and its row there (shared by a chunk).
  std::map<int64_t, std::pair<std::shared_ptr<model::KvCache>, int64_t>> pool_;
  std::map<int64_t, torch::Tensor> prompt_logits_;  // prompt index -> [V] fp32
  std::vector<int64_t> uses_left_;
  int64_t next_work_ = 0, done_ = 0, prefilled_upto_ = 0;

  std::unique_ptr<model::KvCache> cache_;
  std::vector<int64_t> row_work_;  // work id (prompt index * n + sample index) or -1
  torch::Tensor logits_;           // [rows, V] fp32: the next-token logits of each row
};

void Engine::Prefill(int64_t first) {
  const auto t0 = Clock::now();
  const int64_t count = std::min<int64_t>(prefill_batch_, prompts_.size() - first);
  int64_t width = 0;
  for (int64_t i = 0; i < count; ++i) width = std::max<int64_t>(width, prompts_[first + i].token_ids.size());
  auto ids = torch::zeros({count, width}, torch::kLong);
  auto mask = torch::zeros({count, width}, torch::kLong);
  std::vector<int64_t> last(count);
  for (int64_t i = 0; i < count; ++i) {
    const auto& t = prompts_[first + i].token_ids;
    const int64_t lp = static_cast<int64_t>(t.size());
    ids[i].narrow(0, 0, lp).copy_(torch::tensor(t, torch::kLong));
    mask[i].narrow(0, 0, lp).fill_(1);
    last[i] = lp - 1;
    stats_.prefill_tokens += lp;
  }
  auto cache = std::make_shared<model::KvCache>(config_, count, width, cache_opts_);
  const auto hidden = model_.Forward(ids.to(long_opts_.device()), mask.to(long_opts_.device()), {}, cache.get());
  const auto rows = torch::arange(count, long_opts_);
  const auto logits =
      model_.Logits(hidden.index({rows, torch::tensor(last, torch::kLong).to(long_opts_.device())}))
          .to(torch::kFloat32);
  for (int64_t i = 0; i < count; ++i) {
    pool_[first + i] = {cache, i};
    prompt_logits_[first + i] = logits[i];
  }
  prefilled_upto_ = first + count;
  stats_.prompts_prefilled += count;
  stats_.prefill_s += Since(t0);
}

void Engine::Compact(const std::vector<int64_t>& keep, const std::vector<int64_t>& empty, int64_t extra) {
  cache_->ResetRows(empty);
  bool identity = keep.size() == row_work_.size();
  for (size_t i = 0; identity && i < keep.size(); ++i) identity = keep[i] == static_cast<int64_t>(i);
  if (!identity) cache_->KeepRows(keep);
  cache_->Pack(extra);
  std::vector<int64_t> work;
  for (const int64_t r : keep) work.push_back(row_work_[r]);
  row_work_ = std::move(work);
  logits_ = logits_.index_select(0, torch::tensor(keep, torch::kLong).to(logits_.device()));
  ++stats_.compactions;
}

void Engine::Refill(const std::vector<int64_t>& free_rows, bool fresh) {
  std::vector<int64_t> rows, used;
  int64_t width = 0;
  for (const int64_t r : free_rows) {
    if (next_work_ >= total_) break;
    const int64_t w = next_work_++;
    const int64_t p = w / n_;
    if (p >= prefilled_upto_) Prefill(p);
    row_work_[r] = w;
    rows.push_back(r);
    used.push_back(p);
  }
  if (rows.empty()) return;
  // Slots the copies append: one step per prefill chunk, as wide as its longest prompt used here.
  std::map<const model::KvCache*, int64_t> chunk_width;
  for (const int64_t p : used) {
    auto& w = chunk_width[pool_.at(p).first.get()];
    w = std::max<int64_t>(w, prompts_[p].token_ids.size());
  }
  for (const auto& [chunk, w] : chunk_width) width += w;
  const auto t0 = Clock::now();
  if (fresh) {
    cache_->Reset();
  } else if (cache_->filled() + width + 1 > cache_->capacity()) {
    std::vector<int64_t> all, empty;
    for (int64_t r = 0; r < static_cast<int64_t>(row_work_.size()); ++r) {
      all.push_back(r);
      if (row_work_[r] < 0 || std::find(rows.begin(), rows.end(), r) != rows.end()) empty.push_back(r);
    }
    Compact(all, empty, width + Slack());
  }
  // Rows whose prompts come from the same prefill chunk are copied in one step.
  cache_->ResetRows(rows);
  std::vector<bool> copied(rows.size(), false);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (copied[i]) continue;
    const auto& source = pool_.at(used[i]).first;
    std::vector<int64_t> source_rows, dest_rows;
    for (size_t j = i; j < rows.size(); ++j) {
      if (copied[j] || pool_.at(used[j]).first != source) continue;
      copied[j] = true;
      source_rows.push_back(pool_.at(used[j]).second);
      dest_rows.push_back(rows[j]);
    }
    cache_->CopyRowsFrom(*source, source_rows, dest_rows);
  }
  std::vector<torch::Tensor> first_logits;
  for (const int64_t p : used) first_logits.push_back(prompt_logits_.at(p));
  logits_.index_copy_(0, torch::tensor(rows, torch::kLong).to(logits_.device()), torch::stack(first_logits));
  for (const int64_t p : used) {
    if (--uses_left_[p] == 0) {
      pool_.erase(p);
      prompt_logits_.erase(p);
    }
  }
  ++stats_.refills;
  stats_.prefill_s += Since(t0);
}

bool Engine::HitStopString(const Sample& s) const {
  if (so_.stop_strings.empty() || opt_.tokenizer == nullptr) return false;
  const int64_t take = std::min<int64_t>(s.token_ids.size(), max_stop_bytes_ + 1);
  std::vector<int32_t> tail(s.token_ids.end() - take, s.token_ids.end());
  const auto text = opt_.tokenizer->Decode(tail);
  if (!text.ok()) return false;
  for (const auto& stop : so_.stop_strings) {
    if (absl::StrContains(*text, stop)) return true;
  }
  return false;
}

std::vector<Sample> Engine::Run() {
  out_.resize(total_);
  for (int64_t w = 0; w < total_; ++w) {
    out_[w].prompt_id = prompts_[w / n_].prompt_id;
    out_[w].sample_index = indices_[w % n_];
  }
  const auto start = Clock::now();
  auto last_progress = start;
  int64_t rows = std::min<int64_t>(so_.batch_size, total_);
  // What one wave of rows from one prefill chunk needs (static waves reuse it; every refill resets it).
  // Continuous batching grows it, with Slack(), at the first refill that finds it full: allocating that
  // up front tripled the cache (1.8 GB instead of 0.6 GB for gpt2-124m at 64 rows, zeroed at start).
  cache_ = std::make_unique<model::KvCache>(config_, rows, max_prompt_ + so_.max_new_tokens + 1, cache_opts_);
  row_work_.assign(rows, -1);
  logits_ = torch::zeros({rows, config_.vocab_size}, torch::TensorOptions().dtype(torch::kFloat32)
                                                          .device(long_opts_.device()));
  const int64_t threshold =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(so_.refill_fraction * static_cast<double>(rows))));
  while (true) {
    std::vector<int64_t> free_rows, active;
    for (int64_t r = 0; r < static_cast<int64_t>(row_work_.size()); ++r) {
      (row_work_[r] < 0 ? free_rows : active).push_back(r);
    }
    if (next_work_ < total_ && !free_rows.empty() &&
        (static_cast<int64_t>(free_rows.size()) >= threshold || active.empty())) {
      Refill(free_rows, /*fresh=*/active.empty());
      free_rows.clear();
      active.clear();
      for (int64_t r = 0; r < static_cast<int64_t>(row_work_.size()); ++r) {
        (row_work_[r] < 0 ? free_rows : active).push_back(r);
      }
    }
    if (active.empty()) break;

    // Draw one token for every running row.
    const auto ts = Clock::now();
    const int64_t na = static_cast<int64_t>(active.size());
    std::vector<double> uniforms(na);
    std::vector<int64_t> ban_rows;  // rows still below min_new_tokens
    for (int64_t i = 0; i < na; ++i) {
      const Sample& s = out_[row_work_[active[i]]];
      const int64_t step = static_cast<int64_t>(s.token_ids.size());
      uniforms[i] = CounterUniform(opt_.seed, s.prompt_id, s.sample_index, step);
      if (step < so_.min_new_tokens) ban_rows.push_back(i);
    }
    auto ban = torch::zeros({na}, torch::kBool);
    if (!ban_rows.empty()) ban.index_fill_(0, torch::tensor(ban_rows, torch::kLong), true);
    const auto active_idx = torch::tensor(active, torch::kLong).to(logits_.device());
    const bool all_rows = na == static_cast<int64_t>(row_work_.size());
    const auto drawn = SampleTokens(all_rows ? logits_ : logits_.index_select(0, active_idx), so_, stop_ids_,
                                    ban.to(logits_.device()), torch::tensor(uniforms, torch::kFloat64));
    const auto tokens = drawn.tokens.cpu();
    const auto lq = drawn.logq.to(torch::kFloat32).cpu();
    const auto tok_a = tokens.accessor<int64_t, 1>();
    const auto lq_a = lq.accessor<float, 1>();
    std::vector<int64_t> feed(row_work_.size(), 0);
    std::vector<int64_t> still;
    for (int64_t i = 0; i < na; ++i) {
      const int64_t r = active[i];
      Sample& s = out_[row_work_[r]];
      s.token_ids.push_back(tok_a[i]);
      s.token_logq.push_back(lq_a[i]);
      s.logq += lq_a[i];
      ++stats_.generated_tokens;
      bool finished = true;
      if (eos_.count(tok_a[i]) > 0) {
        s.finish_reason = FinishReason::kEos;
      } else if (std::find(stop_ids_.begin(), stop_ids_.end(), tok_a[i]) != stop_ids_.end() || HitStopString(s)) {
        s.finish_reason = FinishReason::kStop;
      } else if (static_cast<int64_t>(s.token_ids.size()) >= so_.max_new_tokens) {
        s.finish_reason = FinishReason::kLength;
      } else {
        finished = false;
      }
      if (finished) {
        row_work_[r] = -1;
        ++done_;
      } else {
        feed[r] = tok_a[i];
        still.push_back(r);
      }
    }
    stats_.sampling_s += Since(ts);
    if (opt_.progress && Since(last_progress) >= opt_.progress_interval_s) {
      last_progress = Clock::now();
      opt_.progress({done_, total_, stats_.generated_tokens, Since(start)});
    }
    if (still.empty()) continue;
    const auto td = Clock::now();
    int64_t batch = static_cast<int64_t>(row_work_.size());
    // The queue is drained and at most half the rows run: drop the finished rows.
    if (next_work_ >= total_ && static_cast<int64_t>(still.size()) * 2 <= batch) {
      std::vector<int64_t> kept_feed;
      for (const int64_t r : still) kept_feed.push_back(feed[r]);
      Compact(still, {}, so_.max_new_tokens + 1);
      feed = kept_feed;
      still.clear();
      batch = static_cast<int64_t>(row_work_.size());
      for (int64_t r = 0; r < batch; ++r) still.push_back(r);
    } else if (cache_->filled() + 1 > cache_->capacity()) {
      std::vector<int64_t> all, empty;
      for (int64_t r = 0; r < batch; ++r) {
        all.push_back(r);
        if (row_work_[r] < 0) empty.push_back(r);
      }
      Compact(all, empty, Slack());
    }
    std::vector<int64_t> running(batch, 0);
    for (const int64_t r : still) running[r] = 1;
    const auto mask = torch::tensor(running, torch::kLong).view({batch, 1});
    const auto input = torch::tensor(feed, torch::kLong).view({batch, 1});
    const auto hidden = model_.Forward(input.to(long_opts_.device()), mask.to(long_opts_.device()), {}, cache_.get());
    logits_ = model_.Logits(hidden.select(1, 0)).to(torch::kFloat32);
    ++stats_.decode_steps;
    stats_.row_steps += batch;
    stats_.wasted_row_steps += batch - static_cast<int64_t>(still.size());
    stats_.decode_s += Since(td);
  }
  stats_.total_s += Since(start);
  if (opt_.progress) opt_.progress({done_, total_, stats_.generated_tokens, Since(start)});
  std::sort(out_.begin(), out_.end(), [](const Sample& a, const Sample& b) {
    return a.prompt_id != b.prompt_id ? a.prompt_id < b.prompt_id : a.sample_index < b.sample_index;
  });
  return std::move(out_);
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEos: return "eos";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
  }
  return "length";
}

absl::StatusOr<std::vector<Sample>> GenerateSamples(model::CausalLm& model, const std::vector<Prompt>& prompts,
                                                    int64_t n, const GenerateOptions& options,
                                                    GenerateStats* stats) {
  if (auto status = ValidateSamplingOptions(options.sampling); !status.ok()) return status;
  if (n < 1) return absl::InvalidArgumentError(absl::StrCat("n: must be >= 1 (got ", n, ")"));
  if (!options.sampling.stop_strings.empty() && options.tokenizer == nullptr) {
    return absl::InvalidArgumentError("sampling.stop_strings: needs a tokenizer");
  }
  std::set<int64_t> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& p = prompts[i];
    if (p.token_ids.empty()) return absl::InvalidArgumentError(absl::StrCat("prompt ", p.prompt_id, ": empty"));
    if (!ids.insert(p.prompt_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("prompt id ", p.prompt_id, ": duplicated"));
    }
    const int64_t need = static_cast<int64_t>(p.token_ids.size()) + options.sampling.max_new_tokens;
    if (need > model.config().max_positions) {
      return absl::InvalidArgumentError(absl::StrCat("prompt ", p.prompt_id, ": ", p.token_ids.size(),
                                                     " tokens + max_new_tokens ", options.sampling.max_new_tokens,
                                                     " exceed the model's ", model.config().max_positions,
                                                     " positions"));
    }
    for (const auto t : p.token_ids) {
      if (t < 0 || t >= model.config().vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("prompt ", p.prompt_id, ": token id ", t,
                                                       " outside the vocabulary [0, ", model.config().vocab_size, ")"));
      }
    }
  }
  std::vector<int64_t> indices = options.sample_indices;
  if (indices.empty()) {
    for (int64_t i = 0; i < n; ++i) indices.push_back(i);
  }
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] < 0 || indices[k] >= n || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(absl::StrCat("sample_indices: must increase within [0, ", n, "); entry ", k,
                                                     " is ", indices[k]));
    }
  }
  if (prompts.empty()) return std::vector<Sample>{};
  c10::InferenceMode guard;
  GenerateStats local;
  Engine engine(model, prompts, std::move(indices), options, stats != nullptr ? stats : &local);
  return engine.Run();
}

}  // namespace brain::sampling
