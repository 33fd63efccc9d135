// brain_model: safetensors IO, sharded checkpoints, strict key mapping, configs, KV cache, padding, heads.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/model/ava_reward_head.h"
#include "core/model/checkpoint.h"
#include "core/model/generation.h"
#include "core/model/model_config.h"
#include "core/model/model_factory.h"
#include "core/model/model_io.h"
#include "core/model/safetensors_io.h"
#include "nlohmann/json.hpp"

namespace brain::model {
namespace {
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("brain_model_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::shared_ptr<CausalLm> TinyModel(const std::string& preset, HeadKind head = HeadKind::kLanguageModel) {
  CreateModelOptions options;
  options.seed = 7;
  options.vocab_size = 97;
  options.head = head;
  auto model = CreatePresetModel(preset, options);
  EXPECT_TRUE(model.ok()) << model.status();
  (*model)->eval();
  return *model;
}

TEST(SafetensorsIoTest, RoundTripsEveryDtype) {
  TensorMap tensors = {{"f64", torch::randn({3, 2}, torch::kFloat64)},
                       {"f32", torch::randn({4})},
                       {"f16", torch::randn({2, 2}).to(torch::kHalf)},
                       {"bf16", torch::randn({5}).to(torch::kBFloat16)},
                       {"i64", torch::tensor({-(int64_t(1) << 40), int64_t(3)})},
                       {"i32", torch::tensor({-7, 9}, torch::kInt32)},
                       {"i8", torch::tensor({-128, 127}, torch::kInt8)},
                       {"u8", torch::tensor({0, 255}, torch::kUInt8)},
                       {"bool", torch::tensor({true, false, true})},
                       {"scalar", torch::tensor(2.5)},
                       {"empty", torch::zeros({0, 3})}};
  const std::string path = TempDir("dtypes") + "/t.safetensors";
  ASSERT_TRUE(SaveSafetensors(path, tensors).ok());
  auto loaded = LoadSafetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const auto& got = loaded->at(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, t)) << name;
  }
}

TEST(SafetensorsIoTest, TruncatedFileIsAnErrorNamingTheFile) {
  const std::string path = TempDir("trunc") + "/t.safetensors";
  ASSERT_TRUE(SaveSafetensors(path, {{"w", torch::randn({64})}}).ok());
  fs::resize_file(path, fs::file_size(path) - 3);
  auto loaded = LoadSafetensors(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(std::string(loaded.status().message()).find(path + ": tensor 'w'"), std::string::npos)
      << loaded.status();
}

TEST(CheckpointTest, ShardsThroughTheIndex) {
  const std::string dir = TempDir("sharded");
  TensorMap tensors;
  for (int i = 0; i < 5; ++i) tensors["layer." + std::to_string(i)] = torch::full({100}, float(i));
  ASSERT_TRUE(SaveCheckpointTensors(dir, tensors, /*max_shard_bytes=*/900).ok());
  std::ifstream index_file(dir + "/" + kSafetensorsIndexFile);
  ASSERT_TRUE(index_file.good());
  const auto index = nlohmann::json::parse(index_file);
  EXPECT_EQ(index["metadata"]["total_size"].get<int64_t>(), 5 * 400);
  EXPECT_EQ(index["weight_map"]["layer.0"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.4"], "model-00003-of-00003.safetensors");
  auto loaded = LoadCheckpointTensors(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 5u);
  EXPECT_EQ(loaded->at("layer.3")[0].item<float>(), 3.0f);

  // An index that names a key its shard lacks, or a shard outside the directory, is an error.
  auto bad = index;
  bad["weight_map"]["ghost"] = "model-00001-of-00003.safetensors";
  std::ofstream(dir + "/" + kSafetensorsIndexFile) << bad.dump();
  auto ghost = LoadCheckpointTensors(dir);
  ASSERT_FALSE(ghost.ok());
  EXPECT_NE(std::string(ghost.status().message()).find("'ghost'"), std::string::npos);
  bad = index;
  bad["weight_map"]["layer.0"] = "../evil.safetensors";
  std::ofstream(dir + "/" + kSafetensorsIndexFile) << bad.dump();
  EXPECT_FALSE(LoadCheckpointTensors(dir).ok());
}

TEST(CheckpointTest, StrictLoadListsEveryProblemAtOnce) {
  auto model = TinyModel("gpt2-tiny");
  TensorMap tensors;
  for (const auto& p : model->named_parameters()) tensors[p.key()] = p.value().detach().clone();
  tensors.erase("transformer.ln_f.bias");
  tensors["transformer.extra.weight"] = torch::zeros({1});
  tensors["transformer.wpe.weight"] = torch::zeros({3, 64});
  auto status = LoadStateDict(
      *model, tensors, [](const std::string& k) { return std::optional<std::string>(k); }, "ckpt");
  ASSERT_FALSE(status.ok());
  const std::string msg(status.message());
  EXPECT_NE(msg.find("missing keys: transformer.ln_f.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys: transformer.extra.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape mismatches: transformer.wpe.weight (checkpoint [3, 64], model [512, 64])"),
            std::string::npos)
      << msg;
}

TEST(ModelConfigTest, ErrorsNameTheFileAndField) {
  auto missing = ParseModelConfig(nlohmann::json{{"model_type", "gpt2"}, {"n_embd", 8}}, "cfg.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("cfg.json: field 'n_layer': missing"),
            std::string::npos);
  auto wrong = ParseModelConfig(nlohmann::json{{"model_type", "llama"}, {"hidden_size", "big"}}, "c.json");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(std::string(wrong.status().message()).find("'hidden_size': must be an integer"),
            std::string::npos);
  auto type = ParseModelConfig(nlohmann::json{{"model_type", "bert"}}, "c.json");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(std::string(type.status().message()).find("'model_type'"), std::string::npos);
}

TEST(ModelIoTest, SavedModelsReloadIdentically) {
  for (const char* preset : {"gpt2-tiny", "llama-tiny"}) {
    auto model = TinyModel(preset);
    const std::string dir = TempDir(std::string("reload_") + preset);
    ASSERT_TRUE(SaveModel(*model, dir).ok());
    auto loaded = LoadModel(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    for (const auto& p : model->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), (*loaded)->named_parameters()[p.key()])) << p.key();
    }
  }
}

// Left- and right-padded batches (and each row alone, unpadded) give the same outputs on real tokens.
TEST(CausalLmTest, PaddingInvariance) {
  for (const char* preset : {"gpt2-tiny", "llama-tiny"}) {
    auto model = TinyModel(preset);
    torch::NoGradGuard no_grad;
    const int64_t t = 7;
    const std::vector<int64_t> lengths = {7, 4, 1};
    auto ids = torch::randint(1, 97, {3, t}, torch::kLong);
    auto left_ids = torch::zeros({3, t}, torch::kLong), right_ids = torch::zeros({3, t}, torch::kLong);
    auto left_mask = torch::zeros({3, t}, torch::kLong), right_mask = torch::zeros({3, t}, torch::kLong);
    for (int64_t r = 0; r < 3; ++r) {
      const int64_t n = lengths[r];
      left_ids[r].narrow(0, t - n, n).copy_(ids[r].narrow(0, 0, n));
      left_mask[r].narrow(0, t - n, n).fill_(1);
      right_ids[r].narrow(0, 0, n).copy_(ids[r].narrow(0, 0, n));
      right_mask[r].narrow(0, 0, n).fill_(1);
    }
    const auto left = model->Logits(model->Forward(left_ids, left_mask));
    const auto right = model->Logits(model->Forward(right_ids, right_mask));
    EXPECT_TRUE(torch::isfinite(left).all().item<bool>()) << preset << ": pad rows must stay finite";
    for (int64_t r = 0; r < 3; ++r) {
      const int64_t n = lengths[r];
      const auto alone_ids = ids[r].narrow(0, 0, n).unsqueeze(0);
      const auto alone = model->Logits(model->Forward(alone_ids, torch::ones_like(alone_ids)))[0];
      EXPECT_TRUE(torch::allclose(left[r].narrow(0, t - n, n), alone, 1e-5, 1e-5)) << preset << " row " << r;
      EXPECT_TRUE(torch::allclose(right[r].narrow(0, 0, n), alone, 1e-5, 1e-5)) << preset << " row " << r;
    }
  }
}

// Inference logits take oneDNN's inner product (cpu_inference_linear.h) for one row and many, with
// leading dimensions; autograd takes torch::linear. All must equal hidden·Wᵀ computed in fp64.
TEST(CausalLmTest, LogitsMatchAnFp64HeadOnEveryPath) {
  auto config = PresetConfig("gpt2-tiny");
  ASSERT_TRUE(config.ok());
  config->hidden_size = 512;
  config->num_layers = 1;
  config->num_heads = 8;
  config->num_kv_heads = 8;
  config->head_dim = 64;
  config->intermediate_size = 4 * config->hidden_size;
  config->vocab_size = 5003;
  config->bos_token_id = 5002;
  config->eos_token_ids = {5002};
  auto created = CreateModel(*config);
  created->InitializeWeights(3);
  auto& model = *created;
  const int64_t d = model.config().hidden_size;
  const auto w64 = model.LmHeadWeight().detach().to(torch::kFloat64);
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{64, d}, {2, 3, d}, {1, d}, {2, d}, {200, d}}) {
    const auto hidden = torch::randn(shape);
    const auto expect = torch::matmul(hidden.to(torch::kFloat64), w64.t());
    torch::Tensor got;
    {
      torch::NoGradGuard no_grad;
      got = model.Logits(hidden);
    }
    ASSERT_EQ(got.sizes(), expect.sizes());
    EXPECT_LT((got.to(torch::kFloat64) - expect).abs().max().item<double>(), 1e-4) << hidden.sizes();
    const auto with_grad = model.Logits(hidden.clone().requires_grad_(true));
    EXPECT_LT((with_grad.detach().to(torch::kFloat64) - expect).abs().max().item<double>(), 1e-4) << hidden.sizes();
  }
}

// Prefill + one-token steps through the KV cache == one full forward, for a left-padded batch.
TEST(KvCacheTest, IncrementalDecodeMatchesFullRecompute) {
  for (const char* preset : {"gpt2-tiny", "llama-tiny"}) {
    auto model = TinyModel(preset);
    torch::NoGradGuard no_grad;
    const int64_t t = 9, prompt = 5;
    auto ids = torch::randint(1, 97, {2, t}, torch::kLong);
    auto mask = torch::ones({2, t}, torch::kLong);
    mask[1].narrow(0, 0, 3).zero_();  // row 1 is left-padded by 3
    const auto full = model->Logits(model->Forward(ids, mask));
    KvCache cache(model->config(), 2, t, torch::TensorOptions().dtype(torch::kFloat32));
    auto pieces = std::vector<torch::Tensor>{
        model->Logits(model->Forward(ids.narrow(1, 0, prompt), mask.narrow(1, 0, prompt), {}, &cache))};
    for (int64_t i = prompt; i < t; ++i) {
      pieces.push_back(model->Logits(model->Forward(ids.narrow(1, i, 1), mask.narrow(1, i, 1), {}, &cache)));
    }
    EXPECT_EQ(cache.filled(), t);
    EXPECT_EQ(cache.row_lengths()[1].item<int64_t>(), t - 3);
    const auto incremental = torch::cat(pieces, 1);
    const auto real = mask.to(torch::kBool);
    EXPECT_LT((incremental.index({real}) - full.index({real})).abs().max().item<float>(), 1e-5) << preset;
  }
}

TEST(GenerationTest, GreedyTokensAreTheArgmaxOfFullRecompute) {
  auto model = TinyModel("llama-tiny");
  torch::NoGradGuard no_grad;
  auto ids = torch::randint(1, 97, {1, 4}, torch::kLong);
  const auto generated = GreedyGenerate(*model, ids, torch::ones_like(ids), 6, /*stop_at_eos=*/false);
  auto seq = ids;
  for (int i = 0; i < 6; ++i) {
    const auto next = model->Logits(model->Forward(seq, torch::ones_like(seq))).select(1, -1).argmax(-1);
    EXPECT_EQ(generated[0][i].item<int64_t>(), next[0].item<int64_t>()) << "step " << i;
    seq = torch::cat({seq, next.unsqueeze(1)}, 1);
  }
}

TEST(HeadsTest, ScoreReadsTheLastRealToken) {
  auto model = TinyModel("gpt2-tiny", HeadKind::kSequenceClassification);
  torch::NoGradGuard no_grad;
  auto ids = torch::randint(1, 97, {2, 5}, torch::kLong);
  auto mask = torch::ones({2, 5}, torch::kLong);
  mask[1].narrow(0, 3, 2).zero_();  // right-padded: last real index 2
  const auto hidden = model->Forward(ids, mask);
  const auto scores = model->Score(hidden, mask);
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{2, 1}));
  const auto w = model->named_parameters()["score.weight"];
  EXPECT_NEAR(scores[1][0].item<float>(), (hidden[1][2] * w[0]).sum().item<float>(), 1e-5);
  EXPECT_NEAR(scores[0][0].item<float>(), (hidden[0][4] * w[0]).sum().item<float>(), 1e-5);
}

TEST(HeadsTest, AvaRewardHeadStartsAtThePriorAndClampsLogSigma) {
  AvaRewardHead head(8);
  auto out = head->forward(torch::randn({2, 3, 8}));
  EXPECT_TRUE(torch::equal(out.mu, torch::zeros({2, 3})));
  EXPECT_TRUE(torch::equal(out.log_sigma, torch::zeros({2, 3})));
  torch::NoGradGuard no_grad;
  head->proj->bias.copy_(torch::tensor({1.0f, 40.0f}));
  out = head->forward(torch::zeros({1, 8}));
  EXPECT_FLOAT_EQ(out.mu.item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out.log_sigma.item<float>(), 5.0f);
}

TEST(AttentionTest, ColumnWeightsMatchANaiveComputation) {
  auto q = torch::randn({1, 2, 3, 4}), k = torch::randn({1, 2, 3, 4});
  auto valid = torch::tensor({{true, true, true}});
  const auto w = AttentionColumnWeights(q, k, BuildAttentionMask(valid, 0), valid);
  // Naive: per head softmax over j <= i of q_i.k_j / 2, averaged over heads, then over queries.
  std::vector<double> expected(3, 0.0);
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 3; ++i) {
      std::vector<double> e;
      double z = 0;
      for (int j = 0; j <= i; ++j) {
        e.push_back(std::exp((q[0][h][i] * k[0][h][j]).sum().item<double>() / 2.0));
        z += e.back();
      }
      for (int j = 0; j <= i; ++j) expected[j] += e[j] / z / 2.0 / 3.0;
    }
  }
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(w[0][j].item<double>(), expected[j], 1e-5);
}

TEST(ModelFactoryTest, PresetsHaveTheDocumentedShapes) {
  auto gpt2 = PresetConfig("gpt2-124m");
  ASSERT_TRUE(gpt2.ok());
  EXPECT_EQ(gpt2->hidden_size, 768);
  EXPECT_EQ(gpt2->num_layers, 12);
  EXPECT_EQ(gpt2->vocab_size, 50257);
  auto llama = PresetConfig("llama-tiny");
  ASSERT_TRUE(llama.ok());
  EXPECT_LT(llama->num_kv_heads, llama->num_heads);
  EXPECT_FALSE(llama->tie_word_embeddings);
  auto bad = PresetConfig("gpt5");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("gpt2-tiny"), std::string::npos);
}

}  // namespace
}  // namespace brain::model
