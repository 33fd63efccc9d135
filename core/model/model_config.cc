// HF config.json <-> ModelConfig for the GPT-2 and Llama families.
#include "core/model/model_config.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace brain::model {
namespace {

using nlohmann::json;

#define BRAIN_RETURN_IF_ERROR(expr)                    \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

absl::Status FieldError(const std::string& file, const std::string& field, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": field '", field, "': ", reason));
}

// Reads an integer field; `required` fields must be present, optional ones keep `*out` when absent/null.
absl::Status GetInt(const json& j, const std::string& field, bool required, int64_t* out,
                    const std::string& file) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    return required ? FieldError(file, field, "missing") : absl::OkStatus();
  }
  if (!it->is_number_integer()) return FieldError(file, field, "must be an integer, got " + it->dump());
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status GetDouble(const json& j, const std::string& field, double* out, const std::string& file) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return FieldError(file, field, "must be a number, got " + it->dump());
  *out = it->get<double>();
  return absl::OkStatus();
}

absl::Status GetBool(const json& j, const std::string& field, bool* out, const std::string& file) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return FieldError(file, field, "must be true or false, got " + it->dump());
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status GetString(const json& j, const std::string& field, std::string* out, const std::string& file) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return FieldError(file, field, "must be a string, got " + it->dump());
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetOptionalId(const json& j, const std::string& field, std::optional<int64_t>* out,
                           const std::string& file) {
  int64_t v = -1;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (it->is_array()) {  // Llama-3 style lists: the first id is the canonical one
    if (it->empty() || !(*it)[0].is_number_integer()) return FieldError(file, field, "bad id list");
    *out = (*it)[0].get<int64_t>();
    return absl::OkStatus();
  }
  if (auto s = GetInt(j, field, false, &v, file); !s.ok()) return s;
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseGpt2(const json& j, ModelConfig& c, const std::string& file) {
  BRAIN_RETURN_IF_ERROR(GetInt(j, "n_embd", true, &c.hidden_size, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "n_layer", true, &c.num_layers, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "n_head", true, &c.num_heads, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "n_positions", true, &c.max_positions, file));
  c.num_kv_heads = c.num_heads;
  c.intermediate_size = 4 * c.hidden_size;
  BRAIN_RETURN_IF_ERROR(GetInt(j, "n_inner", false, &c.intermediate_size, file));
  BRAIN_RETURN_IF_ERROR(GetDouble(j, "layer_norm_epsilon", &c.norm_eps, file));
  c.activation = "gelu_new";
  BRAIN_RETURN_IF_ERROR(GetString(j, "activation_function", &c.activation, file));
  bool flag = true;
  BRAIN_RETURN_IF_ERROR(GetBool(j, "scale_attn_weights", &flag, file));
  if (!flag) return FieldError(file, "scale_attn_weights", "only true is supported");
  flag = false;
  BRAIN_RETURN_IF_ERROR(GetBool(j, "scale_attn_by_inverse_layer_idx", &flag, file));
  if (flag) return FieldError(file, "scale_attn_by_inverse_layer_idx", "only false is supported");
  c.tie_word_embeddings = true;
  BRAIN_RETURN_IF_ERROR(GetBool(j, "tie_word_embeddings", &c.tie_word_embeddings, file));
  if (!c.tie_word_embeddings)
    return FieldError(file, "tie_word_embeddings", "GPT-2 requires tied embeddings");
  return absl::OkStatus();
}

absl::Status ParseLlama(const json& j, ModelConfig& c, const std::string& file) {
  BRAIN_RETURN_IF_ERROR(GetInt(j, "hidden_size", true, &c.hidden_size, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "num_hidden_layers", true, &c.num_layers, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "num_attention_heads", true, &c.num_heads, file));
  BRAIN_RETURN_IF_ERROR(GetInt(j, "intermediate_size", true, &c.intermediate_size, file));
  c.max_positions = 2048;
  BRAIN_RETURN_IF_ERROR(GetInt(j, "max_position_embeddings", false, &c.max_positions, file));
  c.num_kv_heads = c.num_heads;
  BRAIN_RETURN_IF_ERROR(GetInt(j, "num_key_value_heads", false, &c.num_kv_heads, file));
  c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  BRAIN_RETURN_IF_ERROR(GetInt(j, "head_dim", false, &c.head_dim, file));
  c.norm_eps = 1e-6;
  BRAIN_RETURN_IF_ERROR(GetDouble(j, "rms_norm_eps", &c.norm_eps, file));
  c.activation = "silu";
  BRAIN_RETURN_IF_ERROR(GetString(j, "hidden_act", &c.activation, file));
  c.tie_word_embeddings = false;
  BRAIN_RETURN_IF_ERROR(GetBool(j, "tie_word_embeddings", &c.tie_word_embeddings, file));
  BRAIN_RETURN_IF_ERROR(GetBool(j, "attention_bias", &c.attention_bias, file));
  BRAIN_RETURN_IF_ERROR(GetBool(j, "mlp_bias", &c.mlp_bias, file));
  // transformers >= 5 nests RoPE settings in rope_parameters; older files use rope_theta/rope_scaling.
  BRAIN_RETURN_IF_ERROR(GetDouble(j, "rope_theta", &c.rope_theta, file));
  for (const char* field : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return FieldError(file, field, "must be an object");
    BRAIN_RETURN_IF_ERROR(GetDouble(*it, "rope_theta", &c.rope_theta, file));
    std::string type = "default";
    BRAIN_RETURN_IF_ERROR(GetString(*it, "type", &type, file));
    BRAIN_RETURN_IF_ERROR(GetString(*it, "rope_type", &type, file));
    if (type != "default") return FieldError(file, field, "rope_type '" + type + "' is not supported");
  }
  int64_t tp = 1;
  BRAIN_RETURN_IF_ERROR(GetInt(j, "pretraining_tp", false, &tp, file));
  if (tp != 1) return FieldError(file, "pretraining_tp", "only 1 is supported");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateModelConfig(const ModelConfig& c, const std::string& file) {
  const std::pair<const char*, int64_t> sizes[] = {
      {"hidden_size", c.hidden_size}, {"num_layers", c.num_layers},
      {"num_heads", c.num_heads},     {"num_kv_heads", c.num_kv_heads},
      {"head_dim", c.head_dim},       {"intermediate_size", c.intermediate_size},
      {"vocab_size", c.vocab_size},   {"max_positions", c.max_positions},
      {"num_labels", c.num_labels}};
  for (const auto& [name, value] : sizes) {
    if (value <= 0) return FieldError(file, name, absl::StrCat("must be > 0 (got ", value, ")"));
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    return FieldError(file, "num_key_value_heads",
                      absl::StrCat(c.num_kv_heads, " does not divide ", c.num_heads, " attention heads"));
  }
  if (c.family == ModelFamily::kGpt2 && c.hidden_size != c.num_heads * c.head_dim) {
    return FieldError(file, "n_head", absl::StrCat(c.num_heads, " does not divide n_embd ", c.hidden_size));
  }
  if (c.head_dim % 2 != 0 && c.family == ModelFamily::kLlama) {
    return FieldError(file, "head_dim", "must be even for rotary embeddings");
  }
  if (!(c.norm_eps > 0)) return FieldError(file, "norm eps", "must be > 0");
  if (!(c.rope_theta > 0)) return FieldError(file, "rope_theta", "must be > 0");
  for (const char* act : {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu"}) {
    if (c.activation == act) return absl::OkStatus();
  }
  return FieldError(file, "activation", "unsupported activation '" + c.activation + "'");
}

absl::StatusOr<ModelConfig> ParseModelConfig(const json& j, const std::string& file) {
  if (!j.is_object()) return absl::InvalidArgumentError(file + ": not a JSON object");
  ModelConfig c;
  auto type_it = j.find("model_type");
  if (type_it == j.end() || !type_it->is_string()) return FieldError(file, "model_type", "missing");
  const std::string type = type_it->get<std::string>();
  if (type == "gpt2") {
    c.family = ModelFamily::kGpt2;
    BRAIN_RETURN_IF_ERROR(ParseGpt2(j, c, file));
    c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  } else if (type == "llama") {
    c.family = ModelFamily::kLlama;
    BRAIN_RETURN_IF_ERROR(ParseLlama(j, c, file));
  } else {
    return FieldError(file, "model_type", "'" + type + "' is not supported (gpt2, llama)");
  }
  BRAIN_RETURN_IF_ERROR(GetInt(j, "vocab_size", true, &c.vocab_size, file));
  BRAIN_RETURN_IF_ERROR(GetOptionalId(j, "bos_token_id", &c.bos_token_id, file));
  BRAIN_RETURN_IF_ERROR(GetOptionalId(j, "pad_token_id", &c.pad_token_id, file));
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    for (const auto& id : it->is_array() ? *it : json::array({*it})) {
      if (!id.is_number_integer()) return FieldError(file, "eos_token_id", "must be an integer or a list");
      c.eos_token_ids.push_back(id.get<int64_t>());
    }
  }
  if (auto it = j.find("architectures");
      it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
    if (absl::EndsWith((*it)[0].get<std::string>(), "ForSequenceClassification")) {
      c.head = HeadKind::kSequenceClassification;
    }
  }
  // HF derives num_labels from id2label (and does not write num_labels itself).
  c.num_labels = c.head == HeadKind::kSequenceClassification ? 2 : 1;
  if (auto it = j.find("id2label"); it != j.end() && it->is_object()) c.num_labels = it->size();
  BRAIN_RETURN_IF_ERROR(GetInt(j, "num_labels", false, &c.num_labels, file));
  BRAIN_RETURN_IF_ERROR(ValidateModelConfig(c, file));
  return c;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  json j = json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(path + ": not valid JSON");
  return ParseModelConfig(j, path);
}

json ModelConfigToJson(const ModelConfig& c) {
  json j;
  const bool cls = c.head == HeadKind::kSequenceClassification;
  if (c.family == ModelFamily::kGpt2) {
    j["model_type"] = "gpt2";
    j["architectures"] = {cls ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel"};
    j["n_embd"] = c.hidden_size;
    j["n_layer"] = c.num_layers;
    j["n_head"] = c.num_heads;
    j["n_inner"] = c.intermediate_size;
    j["n_positions"] = c.max_positions;
    j["layer_norm_epsilon"] = c.norm_eps;
    j["activation_function"] = c.activation;
    for (const char* p : {"attn_pdrop", "embd_pdrop", "resid_pdrop"}) j[p] = 0.0;
  } else {
    j["model_type"] = "llama";
    j["architectures"] = {cls ? "LlamaForSequenceClassification" : "LlamaForCausalLM"};
    j["hidden_size"] = c.hidden_size;
    j["num_hidden_layers"] = c.num_layers;
    j["num_attention_heads"] = c.num_heads;
    j["num_key_value_heads"] = c.num_kv_heads;
    j["head_dim"] = c.head_dim;
    j["intermediate_size"] = c.intermediate_size;
    j["max_position_embeddings"] = c.max_positions;
    j["rms_norm_eps"] = c.norm_eps;
    j["hidden_act"] = c.activation;
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
    j["rope_theta"] = c.rope_theta;
    j["rope_parameters"] = {{"rope_theta", c.rope_theta}, {"rope_type", "default"}};
  }
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["initializer_range"] = 0.02;
  j["dtype"] = "float32";
  j["bos_token_id"] = c.bos_token_id ? json(*c.bos_token_id) : json(nullptr);
  j["pad_token_id"] = c.pad_token_id ? json(*c.pad_token_id) : json(nullptr);
  if (c.eos_token_ids.empty()) {
    j["eos_token_id"] = nullptr;
  } else {
    j["eos_token_id"] = c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids);
  }
  if (cls) {
    json id2label = json::object();
    json label2id = json::object();
    for (int64_t i = 0; i < c.num_labels; ++i) {
      id2label[std::to_string(i)] = absl::StrCat("LABEL_", i);
      label2id[absl::StrCat("LABEL_", i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j;
}

absl::Status SaveModelConfig(const ModelConfig& config, const std::string& path) {
  std::ofstream out(path);
  if (!out) return absl::PermissionDeniedError(path + ": cannot create");
  out << ModelConfigToJson(config).dump(2) << "\n";
  if (!out) return absl::DataLossError(path + ": write failed");
  return absl::OkStatus();
}

}  // namespace brain::model
