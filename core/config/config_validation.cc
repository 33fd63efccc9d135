// Semantic checks of an ExperimentConfig. Each rule reports the field path and a reason.
#include "core/config/config_validation.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brain::config {
namespace {

class Checks {
 public:
  explicit Checks(std::vector<ConfigIssue>* out) : out_(out) {}

  void Fail(const std::string& path, const std::string& why) { out_->push_back({path, why}); }

  void Positive(const std::string& path, double v) {
    if (!(v > 0) || !std::isfinite(v)) Fail(path, absl::StrFormat("must be > 0 (got %g)", v));
  }
  void NonNegative(const std::string& path, double v) {
    if (!(v >= 0) || !std::isfinite(v)) Fail(path, absl::StrFormat("must be >= 0 (got %g)", v));
  }
  void AtLeast(const std::string& path, long long v, long long lo) {
    if (v < lo) Fail(path, absl::StrFormat("must be >= %d (got %d)", lo, v));
  }
  // lo <= v < hi (hi_inclusive: lo <= v <= hi).
  void InRange(const std::string& path, double v, double lo, double hi, bool hi_inclusive) {
    const bool ok = v >= lo && (hi_inclusive ? v <= hi : v < hi);
    if (!ok) {
      Fail(path, absl::StrFormat("must be in [%g, %g%s (got %g)", lo, hi, hi_inclusive ? "]" : ")", v));
    }
  }
  template <typename Enum>
  void Specified(const std::string& path, Enum v) {
    if (static_cast<int>(v) == 0) Fail(path, "must not be *_UNSPECIFIED");
  }
  void Model(const std::string& path, bool present, const ModelSource& m, bool required) {
    if (!present || (!m.has_path() && !m.has_preset())) {
      if (required) Fail(path, "missing required model: set path (an HF directory) or preset");
      return;
    }
    if (m.has_path() && m.has_preset()) Fail(path, "set either path or preset, not both");
    if (m.has_path() && m.path().empty()) Fail(path + ".path", "must not be empty");
  }

 private:
  std::vector<ConfigIssue>* out_;
};

void CheckModels(const ExperimentConfig& c, Checks& k) {
  const ModelsConfig& m = c.models();
  const bool needs_reward = c.has_brain();
  k.Model("models.policy", m.has_policy(), m.policy(), /*required=*/true);
  k.Model("models.reference", m.has_reference(), m.reference(), /*required=*/false);
  k.Model("models.reward", m.has_reward(), m.reward(), needs_reward);
  k.Specified("models.dtype", m.dtype());
  k.AtLeast("models.max_seq_len", m.max_seq_len(), 2);
}

void CheckData(const ExperimentConfig& c, Checks& k) {
  const DataConfig& d = c.data();
  if (!c.has_data() || !d.has_train_path() || d.train_path().empty()) {
    k.Fail("data.train_path", "missing required training data path (a JSONL file)");
  }
  k.AtLeast("data.max_prompt_tokens", d.max_prompt_tokens(), 1);
  k.AtLeast("data.max_response_tokens", d.max_response_tokens(), 1);
  k.Specified("data.prompt_truncation", d.prompt_truncation());
  k.Specified("data.bad_lines", d.bad_lines());
}

// The longest sequence a run builds must fit models.max_seq_len. Prompts are cut to data.max_prompt_tokens;
// data responses (SFT, reward model, DPO, AVA, and BRAIn's reference responses) to data.max_response_tokens
// (EOS included); BRAIn samples at most sampling.max_new_tokens (EOS included) after the prompt, and the
// generator needs prompt + max_new_tokens positions. `brain align` never reads data responses except the
// reference_field, so max_response_tokens is not held against a BRAIn config without one.
void CheckSequenceBudget(const ExperimentConfig& c, Checks& k) {
  const DataConfig& d = c.data();
  const int64_t max_seq_len = c.models().max_seq_len();
  auto fits = [&](const char* second, int64_t second_value) {
    const int64_t total = static_cast<int64_t>(d.max_prompt_tokens()) + second_value;
    if (total > max_seq_len) {
      k.Fail("models.max_seq_len", absl::StrFormat("data.max_prompt_tokens (%d) + %s (%d) = %d exceeds "
                                                   "models.max_seq_len (%d)",
                                                   d.max_prompt_tokens(), second, second_value, total, max_seq_len));
    }
  };
  switch (c.algorithm_case()) {
    case ExperimentConfig::ALGORITHM_NOT_SET:
      return;
    case ExperimentConfig::kBrain:
      fits("sampling.max_new_tokens", c.sampling().max_new_tokens());
      if (!d.reference_field().empty()) fits("data.max_response_tokens", d.max_response_tokens());
      return;
    default:  // SFT, reward model, DPO, AVA: prompt + data response, teacher-forced
      fits("data.max_response_tokens", d.max_response_tokens());
  }
}

void CheckAlgorithm(const ExperimentConfig& c, Checks& k) {
  switch (c.algorithm_case()) {
    case ExperimentConfig::ALGORITHM_NOT_SET:
      k.Fail("algorithm", "no algorithm chosen: set one of sft, reward_model, dpo, brain, ava");
      break;
    case ExperimentConfig::kSft:
      break;
    case ExperimentConfig::kRewardModel:
      if (c.reward_model().use_data_margin() && c.data().margin_field().empty()) {
        k.Fail("reward_model.use_data_margin", "needs data.margin_field");
      }
      break;
    case ExperimentConfig::kDpo: {
      const DpoConfig& d = c.dpo();
      k.Positive("dpo.beta", d.beta());
      k.InRange("dpo.label_smoothing", d.label_smoothing(), 0.0, 0.5, /*hi_inclusive=*/false);
      k.Specified("dpo.loss", d.loss());
      break;
    }
    case ExperimentConfig::kBrain: {
      const BrainConfig& b = c.brain();
      k.AtLeast("brain.num_samples", b.num_samples(), 2);
      k.Specified("brain.likelihood", b.likelihood());
      k.Positive("brain.tau", b.tau());
      k.Specified("brain.alpha_mode", b.alpha_mode());
      k.Specified("brain.baseline", b.baseline());
      k.Positive("brain.beta_pol", b.beta_pol());
      if (b.beta_pol() != 1.0 && b.baseline() != BrainConfig::SELF_NORMALIZED) {
        k.Fail("brain.beta_pol", "beta_pol != 1 requires baseline SELF_NORMALIZED (spec §3.3)");
      }
      if (b.likelihood() == BrainConfig::SIGMOID && c.data().reference_field().empty()) {
        k.Fail("brain.likelihood", "SIGMOID needs data.reference_field (the reference response)");
      }
      k.AtLeast("brain.num_rounds", b.num_rounds(), 1);
      k.AtLeast("brain.prompts_per_round", b.prompts_per_round(), 1);
      k.AtLeast("brain.steps_per_round", b.steps_per_round(), 0);
      k.AtLeast("brain.proposal_refresh_every", b.proposal_refresh_every(), 1);
      k.Specified("brain.placement", b.placement());
      break;
    }
    case ExperimentConfig::kAva: {
      const AvaConfig& a = c.ava();
      k.Specified("ava.mode", a.mode());
      k.Specified("ava.q_form", a.q_form());
      k.Positive("ava.alpha", a.alpha());
      k.NonNegative("ava.beta", a.beta());
      k.NonNegative("ava.lambda", a.lambda());
      k.InRange("ava.gamma", a.gamma(), 0.0, 1.0, /*hi_inclusive=*/true);
      k.Specified("ava.reward_index", a.reward_index());
      k.Specified("ava.reward_weights", a.reward_weights());
      k.Specified("ava.kl_td_on", a.kl_td_on());
      k.Specified("ava.cer", a.cer());
      k.NonNegative("ava.eta", a.eta());
      k.Specified("ava.normalization", a.normalization());
      if (a.has_rejected_logprob_floor() && a.rejected_logprob_floor() > 0) {
        k.Fail("ava.rejected_logprob_floor", "is a log-probability: must be <= 0");
      }
      break;
    }
  }
}

void CheckOptimizer(const OptimizerConfig& o, Checks& k) {
  k.Positive("optimizer.learning_rate", o.learning_rate());
  k.NonNegative("optimizer.weight_decay", o.weight_decay());
  k.InRange("optimizer.adam_beta1", o.adam_beta1(), 0.0, 1.0, false);
  k.InRange("optimizer.adam_beta2", o.adam_beta2(), 0.0, 1.0, false);
  k.Positive("optimizer.adam_epsilon", o.adam_epsilon());
  k.NonNegative("optimizer.max_grad_norm", o.max_grad_norm());
  k.Specified("optimizer.schedule", o.schedule());
  k.AtLeast("optimizer.warmup_steps", o.warmup_steps(), 0);
  k.AtLeast("optimizer.max_steps", o.max_steps(), 0);
  k.AtLeast("optimizer.micro_batch_size", o.micro_batch_size(), 1);
  k.AtLeast("optimizer.gradient_accumulation_steps", o.gradient_accumulation_steps(), 1);
  k.InRange("optimizer.min_lr_ratio", o.min_lr_ratio(), 0.0, 1.0, true);
  k.NonNegative("optimizer.outlier_factor", o.outlier_factor());
}

void CheckSampling(const SamplingConfig& s, Checks& k) {
  k.Positive("sampling.temperature", s.temperature());
  k.AtLeast("sampling.top_k", s.top_k(), 0);
  if (!(s.top_p() > 0 && s.top_p() <= 1)) {
    k.Fail("sampling.top_p", absl::StrFormat("must be in (0, 1] (got %g)", s.top_p()));
  }
  k.AtLeast("sampling.max_new_tokens", s.max_new_tokens(), 1);
  k.AtLeast("sampling.min_new_tokens", s.min_new_tokens(), 0);
  if (s.min_new_tokens() > s.max_new_tokens()) {
    k.Fail("sampling.min_new_tokens", absl::StrFormat("must be <= max_new_tokens (%d > %d)",
                                                      s.min_new_tokens(), s.max_new_tokens()));
  }
  for (int i = 0; i < s.stop_token_ids_size(); ++i) {
    k.AtLeast(absl::StrCat("sampling.stop_token_ids[", i, "]"), s.stop_token_ids(i), 0);
  }
  k.AtLeast("sampling.batch_size", s.batch_size(), 1);
}

void CheckRuntime(const ExperimentConfig& c, Checks& k) {
  const DistributedConfig& d = c.distributed();
  if (d.sharding_stage() != 0 && d.sharding_stage() != 1 && d.sharding_stage() != 3) {
    k.Fail("distributed.sharding_stage", absl::StrFormat("must be 0, 1 or 3 (got %d)", d.sharding_stage()));
  }
  k.Specified("distributed.backend", d.backend());
  k.Positive("distributed.collective_timeout_s", d.collective_timeout_s());
  k.Positive("distributed.bucket_mb", d.bucket_mb());
  k.Positive("distributed.first_bucket_mb", d.first_bucket_mb());
  k.AtLeast("distributed.threads_per_rank", d.threads_per_rank(), 0);
  k.AtLeast("checkpoint.every_steps", c.checkpoint().every_steps(), 0);
  k.AtLeast("checkpoint.keep_last", c.checkpoint().keep_last(), 1);
  k.AtLeast("logging.every_steps", c.logging().every_steps(), 1);
  if (c.output_dir().empty()) k.Fail("output_dir", "must not be empty");
}

}  // namespace

std::vector<ConfigIssue> ValidateConfig(const ExperimentConfig& config) {
  std::vector<ConfigIssue> issues;
  Checks k(&issues);
  CheckModels(config, k);
  CheckData(config, k);
  CheckAlgorithm(config, k);
  CheckOptimizer(config.optimizer(), k);
  CheckSampling(config.sampling(), k);
  CheckRuntime(config, k);
  CheckSequenceBudget(config, k);
  return issues;
}

}  // namespace brain::config
