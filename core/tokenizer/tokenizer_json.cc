// Loading a Hugging Face tokenizer.json (BPE model, added tokens, pre-tokenizer, ByteLevel decoder).
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/tokenizer/load_util.h"
#include "core/tokenizer/tokenizer.h"

namespace brain::tokenizer {
namespace {

using internal::FieldError;
using internal::TypeName;
using nlohmann::json;

// Reading fields of one JSON object, with errors "SOURCE: field PATH: reason".
class Fields {
 public:
  Fields(const std::string& source, const json& object, std::string path)
      : source_(source), object_(object), path_(std::move(path)) {}

  std::string Path(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }
  const json* Find(absl::string_view key) const {
    auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }
  absl::Status Error(absl::string_view key, absl::string_view reason) const {
    return FieldError(source_, Path(key), reason);
  }
  absl::Status WrongType(absl::string_view key, absl::string_view want) const {
    return Error(key, absl::StrCat("expected ", want, ", got ", TypeName(*Find(key))));
  }
  // A boolean field; absent or null gives `fallback`.
  absl::StatusOr<bool> Bool(absl::string_view key, bool fallback) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_boolean()) return WrongType(key, "a boolean");
    return v->get<bool>();
  }
  // A string field; absent or null gives nullopt.
  absl::StatusOr<std::optional<std::string>> OptString(absl::string_view key) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return std::optional<std::string>();
    if (!v->is_string()) return WrongType(key, "a string");
    return std::optional<std::string>(v->get<std::string>());
  }

 private:
  const std::string& source_;
  const json& object_;
  std::string path_;
};

absl::StatusOr<BpeModel> LoadModel(const std::string& source, const json& model) {
  Fields f(source, model, "model");
  if (auto type = f.OptString("type"); !type.ok()) {
    return type.status();
  } else if (*type && **type != "BPE") {
    return f.Error("type", absl::StrCat("unsupported model type \"", **type, "\" (only BPE is supported)"));
  }
  if (const json* d = f.Find("dropout"); d != nullptr && !d->is_null()) {
    if (!d->is_number()) return f.WrongType("dropout", "null or a number");
    if (d->get<double>() != 0.0) return f.Error("dropout", "BPE dropout is not supported (must be null)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    absl::StatusOr<std::optional<std::string>> v = f.OptString(key);
    if (!v.ok()) return v.status();
    if (*v && !(*v)->empty()) return f.Error(key, "unsupported for byte-level BPE (must be null)");
  }
  absl::StatusOr<bool> byte_fallback = f.Bool("byte_fallback", false);
  if (!byte_fallback.ok()) return byte_fallback.status();
  if (*byte_fallback) return f.Error("byte_fallback", "byte fallback is not supported (must be false)");
  BpeOptions options;
  absl::StatusOr<bool> ignore_merges = f.Bool("ignore_merges", false);
  absl::StatusOr<bool> fuse_unk = f.Bool("fuse_unk", false);
  absl::StatusOr<std::optional<std::string>> unk = f.OptString("unk_token");
  if (!ignore_merges.ok()) return ignore_merges.status();
  if (!fuse_unk.ok()) return fuse_unk.status();
  if (!unk.ok()) return unk.status();
  options.ignore_merges = *ignore_merges;
  options.fuse_unk = *fuse_unk;
  options.unk_token = *unk;

  const json* vocab = f.Find("vocab");
  if (vocab == nullptr) return f.Error("vocab", "missing");
  if (!vocab->is_object()) return f.WrongType("vocab", "an object of token -> id");
  std::vector<std::pair<std::string, int64_t>> entries;
  entries.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer()) {
      return FieldError(source, absl::StrCat("model.vocab[\"", it.key(), "\"]"),
                        absl::StrCat("expected an integer id, got ", TypeName(it.value())));
    }
    entries.emplace_back(it.key(), it.value().get<int64_t>());
  }
  absl::StatusOr<BpeModel> bpe = BpeModel::Create(std::move(entries), options);
  if (!bpe.ok()) return FieldError(source, "model.vocab", bpe.status().message());

  const json* merges = f.Find("merges");
  if (merges == nullptr) return f.Error("merges", "missing");
  if (!merges->is_array()) return f.WrongType("merges", "an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    const std::string field = absl::StrCat("model.merges[", i, "]");
    std::string left, right;
    if (m.is_string()) {
      std::vector<std::string> parts = absl::StrSplit(m.get<std::string>(), ' ');
      if (parts.size() != 2) {
        return FieldError(source, field, "expected \"LEFT RIGHT\" (two tokens separated by one space)");
      }
      left = std::move(parts[0]), right = std::move(parts[1]);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>(), right = m[1].get<std::string>();
    } else {
      return FieldError(
          source, field,
          absl::StrCat("expected a string \"LEFT RIGHT\" or a pair [LEFT, RIGHT], got ", TypeName(m)));
    }
    if (absl::Status s = bpe->AddMerge(left, right); !s.ok()) return FieldError(source, field, s.message());
  }
  return bpe;
}

absl::StatusOr<std::vector<AddedToken>> LoadAddedTokens(const std::string& source, const json& root) {
  std::vector<AddedToken> out;
  auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return out;
  if (!it->is_array())
    return FieldError(source, "added_tokens", absl::StrCat("expected an array, got ", TypeName(*it)));
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string path = absl::StrCat("added_tokens[", i, "]");
    if (!t.is_object())
      return FieldError(source, path, absl::StrCat("expected an object, got ", TypeName(t)));
    Fields f(source, t, path);
    AddedToken token;
    const json* id = f.Find("id");
    if (id == nullptr || !id->is_number_integer()) return f.Error("id", "expected an integer id");
    const int64_t id_value = id->get<int64_t>();
    if (id_value < 0 || id_value > BpeModel::kMaxId) {
      return f.Error("id", absl::StrCat("id ", id_value, " is outside [0, ", BpeModel::kMaxId, "]"));
    }
    token.id = static_cast<int32_t>(id_value);
    absl::StatusOr<std::optional<std::string>> content = f.OptString("content");
    if (!content.ok()) return content.status();
    if (!*content || (*content)->empty()) return f.Error("content", "expected a non-empty string");
    token.content = **content;
    absl::StatusOr<bool> special = f.Bool("special", false);
    absl::StatusOr<bool> lstrip = f.Bool("lstrip", false);
    absl::StatusOr<bool> rstrip = f.Bool("rstrip", false);
    absl::StatusOr<bool> single_word = f.Bool("single_word", false);
    for (const auto* s : {&special, &lstrip, &rstrip, &single_word}) {
      if (!s->ok()) return s->status();
    }
    if (*single_word) return f.Error("single_word", "single_word added tokens are not supported");
    token.special = *special, token.lstrip = *lstrip, token.rstrip = *rstrip;
    out.push_back(std::move(token));
  }
  return out;
}

// One pre-tokenizer (ByteLevel or Split) as a stage.
absl::StatusOr<PreTokenizerStage> LoadStage(const std::string& source, const json& p,
                                            const std::string& path) {
  if (!p.is_object()) return FieldError(source, path, absl::StrCat("expected an object, got ", TypeName(p)));
  Fields f(source, p, path);
  absl::StatusOr<std::optional<std::string>> type = f.OptString("type");
  if (!type.ok()) return type.status();
  if (!*type) return f.Error("type", "missing");
  PreTokenizerStage stage;
  if (**type == "ByteLevel") {
    absl::StatusOr<bool> prefix = f.Bool("add_prefix_space", false);
    absl::StatusOr<bool> use_regex = f.Bool("use_regex", true);
    if (!prefix.ok()) return prefix.status();
    if (!use_regex.ok()) return use_regex.status();
    stage.add_prefix_space = *prefix;
    stage.pattern = *use_regex ? SplitPattern::kGpt2 : SplitPattern::kNone;
    return stage;
  }
  if (**type == "Split") {
    const json* pattern = f.Find("pattern");
    if (pattern == nullptr || !pattern->is_object()) return f.Error("pattern", "expected {\"Regex\": ...}");
    auto regex = pattern->find("Regex");
    if (regex == pattern->end() || !regex->is_string()) {
      return f.Error("pattern", "only {\"Regex\": ...} patterns are supported");
    }
    std::optional<SplitPattern> known = RecognizePattern(regex->get<std::string>());
    if (!known) {
      return f.Error("pattern.Regex", absl::StrCat("unsupported split regex \"", regex->get<std::string>(),
                                                   "\" (supported: the GPT-2, Llama-3 and Qwen2 patterns)"));
    }
    absl::StatusOr<std::optional<std::string>> behavior = f.OptString("behavior");
    if (!behavior.ok()) return behavior.status();
    if (*behavior && **behavior != "Isolated") {
      return f.Error("behavior",
                     absl::StrCat("unsupported split behavior \"", **behavior, "\" (only Isolated)"));
    }
    absl::StatusOr<bool> invert = f.Bool("invert", false);
    if (!invert.ok()) return invert.status();
    if (*invert) return f.Error("invert", "inverted splits are not supported");
    stage.pattern = *known;
    return stage;
  }
  return f.Error("type", absl::StrCat("unsupported pre-tokenizer \"", **type,
                                      "\" (supported: ByteLevel, Split, "
                                      "Sequence of those)"));
}

absl::StatusOr<PreTokenizer> LoadPreTokenizer(const std::string& source, const json& root) {
  auto it = root.find("pre_tokenizer");
  if (it == root.end() || it->is_null()) return PreTokenizer();
  std::vector<PreTokenizerStage> stages;
  if (it->is_object() && it->value("type", json()) == "Sequence") {
    auto list = it->find("pretokenizers");
    if (list == it->end() || !list->is_array()) {
      return FieldError(source, "pre_tokenizer.pretokenizers", "expected an array");
    }
    if (list->size() > PreTokenizer::kMaxStages) {
      return FieldError(source, "pre_tokenizer.pretokenizers",
                        absl::StrCat("at most ", PreTokenizer::kMaxStages, " pre-tokenizers are supported"));
    }
    for (size_t i = 0; i < list->size(); ++i) {
      absl::StatusOr<PreTokenizerStage> stage =
          LoadStage(source, (*list)[i], absl::StrCat("pre_tokenizer.pretokenizers[", i, "]"));
      if (!stage.ok()) return stage.status();
      stages.push_back(*stage);
    }
  } else {
    absl::StatusOr<PreTokenizerStage> stage = LoadStage(source, *it, "pre_tokenizer");
    if (!stage.ok()) return stage.status();
    stages.push_back(*stage);
  }
  return PreTokenizer(std::move(stages));
}

absl::Status CheckNormalizerAndDecoder(const std::string& source, const json& root) {
  auto norm = root.find("normalizer");
  if (norm != root.end() && !norm->is_null()) {
    return FieldError(source, "normalizer", "normalizers are not supported (must be null)");
  }
  auto dec = root.find("decoder");
  if (dec == root.end() || dec->is_null())
    return FieldError(source, "decoder", "missing (expected ByteLevel)");
  if (!dec->is_object() || dec->value("type", json()) != "ByteLevel") {
    return FieldError(source, "decoder", "unsupported decoder (expected {\"type\": \"ByteLevel\"})");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromTokenizerJson(const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  return FromTokenizerJsonText(*text, path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromTokenizerJsonText(absl::string_view text,
                                                                            const std::string& source) {
  absl::StatusOr<json> root = internal::ParseJson(text, source);
  if (!root.ok()) return root.status();
  if (!root->is_object())
    return FieldError(source, "(root)", absl::StrCat("expected an object, got ", TypeName(*root)));
  auto model = root->find("model");
  if (model == root->end() || !model->is_object())
    return FieldError(source, "model", "missing or not an object");
  if (absl::Status s = CheckNormalizerAndDecoder(source, *root); !s.ok()) return s;
  absl::StatusOr<BpeModel> bpe = LoadModel(source, *model);
  if (!bpe.ok()) return bpe.status();
  absl::StatusOr<std::vector<AddedToken>> added = LoadAddedTokens(source, *root);
  if (!added.ok()) return added.status();
  absl::StatusOr<PreTokenizer> pre = LoadPreTokenizer(source, *root);
  if (!pre.ok()) return pre.status();
  return std::make_unique<Tokenizer>(*std::move(bpe), *std::move(pre), *std::move(added));
}

}  // namespace brain::tokenizer
