// Tokenizer: encoding (added tokens, pre-tokeniser, BPE) and decoding (ids -> bytes).
#include "core/tokenizer/tokenizer.h"

#include "absl/strings/str_cat.h"
#include "core/tokenizer/byte_level.h"

namespace brain::tokenizer {
namespace {

// What the ByteLevel decoder turns a token into: its mapped bytes, or (when some character is not a
// mapped byte, e.g. an added token with a plain space) the token's own UTF-8 bytes.
std::string DecodedBytes(absl::string_view token) {
  std::optional<std::string> bytes = ByteLevelToBytes(token);
  return bytes ? *std::move(bytes) : std::string(token);
}

std::optional<int32_t> FindSpecial(const std::vector<AddedToken>& added,
                                   std::initializer_list<const char*> names) {
  for (const char* name : names) {
    for (const AddedToken& t : added) {
      if (t.special && t.content == name) return t.id;
    }
  }
  return std::nullopt;
}

}  // namespace

Tokenizer::Tokenizer(BpeModel model, PreTokenizer pre_tokenizer, std::vector<AddedToken> added_tokens,
                     SpecialTokenIds special_ids)
    : model_(std::move(model)), pre_tokenizer_(std::move(pre_tokenizer)), special_ids_(special_ids) {
  int32_t limit = model_.id_limit();
  for (const AddedToken& t : added_tokens) limit = std::max(limit, t.id + 1);
  decoded_.resize(limit);
  kind_.assign(limit, Kind::kUnassigned);
  for (int32_t id = 0; id < model_.id_limit(); ++id) {
    if (std::optional<absl::string_view> token = model_.IdToToken(id)) {
      decoded_[id] = DecodedBytes(*token);
      kind_[id] = Kind::kModel;
    }
  }
  for (const AddedToken& t : added_tokens) {
    decoded_[t.id] = DecodedBytes(t.content);
    kind_[t.id] = t.special ? Kind::kSpecial : Kind::kAdded;
  }
  if (!special_ids_.bos) {
    special_ids_.bos = FindSpecial(added_tokens, {"<|begin_of_text|>", "<s>", "<bos>", "<|endoftext|>"});
  }
  if (!special_ids_.eos) {
    special_ids_.eos = FindSpecial(added_tokens, {"<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>"});
  }
  if (!special_ids_.pad)
    special_ids_.pad = FindSpecial(added_tokens, {"<pad>", "<|pad|>", "<|finetune_right_pad_id|>"});
  added_ = AddedTokenMatcher(std::move(added_tokens));
}

std::vector<int32_t> Tokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> ids;
  EncodeTo(text, &ids);
  return ids;
}

void Tokenizer::EncodeTo(absl::string_view text, std::vector<int32_t>* ids) const {
  absl::MutexLock lock(&mu_);
  added_.Split(
      text,
      [&](absl::string_view segment) {
        pre_tokenizer_.ForEach(segment, [&](absl::string_view piece) { model_.EncodePiece(piece, ids); });
      },
      [&](const AddedToken& token) { ids->push_back(token.id); });
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size() || kind_[id] == Kind::kUnassigned) {
      return absl::InvalidArgumentError(
          absl::StrCat("id ", id, " at index ", i, " is not in the vocabulary (size ", vocab_size(), ")"));
    }
    if (skip_special_tokens && kind_[id] == Kind::kSpecial) continue;
    out += decoded_[id];
  }
  return out;
}

std::optional<int32_t> Tokenizer::TokenToId(absl::string_view token) const {
  for (const AddedToken& t : added_.tokens()) {
    if (t.content == token) return t.id;
  }
  return model_.TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  for (const AddedToken& t : added_.tokens()) {
    if (t.id == id) return t.content;
  }
  std::optional<absl::string_view> token = model_.IdToToken(id);
  if (!token) return std::nullopt;
  return std::string(*token);
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < vocab_size() && kind_[id] == Kind::kSpecial;
}

}  // namespace brain::tokenizer
