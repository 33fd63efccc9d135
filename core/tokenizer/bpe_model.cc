// Byte-level BPE: lowest-rank-first merging (ties leftmost) with a priority queue, cached per pre-token.
#include "core/tokenizer/bpe_model.h"

#include <queue>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/tokenizer/byte_level.h"

namespace brain::tokenizer {

absl::StatusOr<BpeModel> BpeModel::Create(std::vector<std::pair<std::string, int64_t>> vocab,
                                          BpeOptions options) {
  BpeModel model;
  model.options_ = std::move(options);
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab) {
    if (id < 0 || id > kMaxId) {
      return absl::InvalidArgumentError(
          absl::StrFormat("token \"%s\" has id %d, outside [0, %d]", absl::CHexEscape(token), id, kMaxId));
    }
    max_id = std::max(max_id, id);
  }
  model.id_to_token_.resize(static_cast<size_t>(max_id + 1));
  model.assigned_.assign(static_cast<size_t>(max_id + 1), false);
  model.token_to_id_.reserve(vocab.size());
  for (auto& [token, id] : vocab) {
    const auto i = static_cast<int32_t>(id);
    if (!model.token_to_id_.emplace(token, i).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate token \"", absl::CHexEscape(token), "\""));
    }
    model.id_to_token_[i] = std::move(token);
    model.assigned_[i] = true;
  }
  for (int b = 0; b < 256; ++b) {
    const std::string key = BytesToByteLevel(std::string(1, static_cast<char>(b)));
    model.byte_ids_[b] = model.TokenToId(key).value_or(-1);
  }
  if (model.options_.unk_token) {
    std::optional<int32_t> unk = model.TokenToId(*model.options_.unk_token);
    if (!unk) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unk_token \"", absl::CHexEscape(*model.options_.unk_token), "\" is not in the vocabulary"));
    }
    model.unk_id_ = *unk;
  }
  return model;
}

absl::Status BpeModel::AddMerge(absl::string_view left, absl::string_view right) {
  const std::optional<int32_t> a = TokenToId(left);
  if (!a) return absl::InvalidArgumentError(absl::StrCat("unknown token \"", absl::CHexEscape(left), "\""));
  const std::optional<int32_t> b = TokenToId(right);
  if (!b) return absl::InvalidArgumentError(absl::StrCat("unknown token \"", absl::CHexEscape(right), "\""));
  const std::string merged = absl::StrCat(left, right);
  const std::optional<int32_t> m = TokenToId(merged);
  if (!m) {
    return absl::InvalidArgumentError(
        absl::StrCat("merged token \"", absl::CHexEscape(merged), "\" is not in the vocabulary"));
  }
  merges_[PairKey(*a, *b)] = Merge{next_rank_++, *m};
  cache_.clear();
  return absl::OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(absl::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<absl::string_view> BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= id_limit() || !assigned_[id]) return std::nullopt;
  return absl::string_view(id_to_token_[id]);
}

void BpeModel::EncodePiece(absl::string_view piece, std::vector<int32_t>* ids) const {
  if (auto it = cache_.find(piece); it != cache_.end()) {
    ids->insert(ids->end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<int32_t>& symbols = symbols_scratch_;
  symbols.clear();
  bool direct = false;
  if (options_.ignore_merges) {
    if (std::optional<int32_t> id = TokenToId(BytesToByteLevel(piece))) symbols.push_back(*id), direct = true;
  }
  if (!direct) {
    for (unsigned char b : piece) {
      const int32_t id = byte_ids_[b];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (unk_id_ >= 0 && !(options_.fuse_unk && !symbols.empty() && symbols.back() == unk_id_)) {
        symbols.push_back(unk_id_);
      }
    }
    MergeSymbols(&symbols);
  }
  ids->insert(ids->end(), symbols.begin(), symbols.end());
  if (piece.size() > kMaxCachedPieceBytes) return;
  if (cache_.size() >= kCacheCapacity) cache_.clear();
  cache_.emplace(std::string(piece), symbols);
}

void BpeModel::MergeSymbols(std::vector<int32_t>* symbols) const {
  const int n = static_cast<int>(symbols->size());
  if (n < 2) return;
  std::vector<int32_t>& id = *symbols;
  // A doubly linked list over the symbol slots; a merged-away slot gets id -1.
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push_pair = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(PairKey(id[pos], id[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int right = id[top.pos] < 0 ? -1 : next[top.pos];
    if (right < 0) continue;
    // Skip stale entries: the pair at pos must still be the one this merge was queued for.
    auto it = merges_.find(PairKey(id[top.pos], id[right]));
    if (it == merges_.end() || it->second.new_id != top.new_id || it->second.rank != top.rank) continue;
    id[top.pos] = top.new_id;
    id[right] = -1;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push_pair(prev[top.pos]);
    push_pair(top.pos);
  }
  int out = 0;
  for (int i = 0; i < n; ++i) {
    if (id[i] >= 0) id[out++] = id[i];
  }
  symbols->resize(out);
}

}  // namespace brain::tokenizer
