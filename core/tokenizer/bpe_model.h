// The byte-level BPE model: vocabulary, ranked merges, and the merge loop with a per-pre-token cache.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace brain::tokenizer {

struct BpeOptions {
  bool ignore_merges = false;  // a pre-token that is itself in the vocabulary maps to its id directly
  std::optional<std::string> unk_token;  // for bytes whose token is missing (else they are dropped)
  bool fuse_unk = false;                 // consecutive unknowns become one unk id
};

class BpeModel {
 public:
  // Largest accepted token id (real vocabularies stay below ~262k): guards against hostile files that
  // would make us allocate huge id tables.
  static constexpr int64_t kMaxId = (int64_t{1} << 21) - 1;
  // Bound on the number of cached pre-tokens (the cache is cleared when it is full), and on the length
  // of a cached pre-token (longer ones are rare and would make the cache's memory unbounded).
  static constexpr size_t kCacheCapacity = 1 << 17;
  static constexpr size_t kMaxCachedPieceBytes = 256;

  // `vocab` maps byte-level token strings to ids. Errors (reason only; the loader adds the location):
  // negative or too large ids, duplicate tokens, unknown unk token.
  static absl::StatusOr<BpeModel> Create(std::vector<std::pair<std::string, int64_t>> vocab,
                                         BpeOptions options);

  // Appends the merge `left right` with the next rank. Errors when a side or their concatenation is not
  // in the vocabulary. A repeated pair takes the later rank (as the reference implementation does).
  absl::Status AddMerge(absl::string_view left, absl::string_view right);

  // Appends the ids of one pre-token (raw bytes) to `ids`. Not thread-safe (it fills the cache).
  void EncodePiece(absl::string_view piece, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenToId(absl::string_view token) const;
  // The token string of `id`, or nullopt for an id that is out of range or unassigned.
  std::optional<absl::string_view> IdToToken(int32_t id) const;
  // One past the largest id.
  int32_t id_limit() const { return static_cast<int32_t>(id_to_token_.size()); }
  size_t vocab_size() const { return token_to_id_.size(); }
  size_t num_merges() const { return merges_.size(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void MergeSymbols(std::vector<int32_t>* symbols) const;

  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> assigned_;
  std::array<int32_t, 256> byte_ids_{};  // id of the one-byte token for each byte, -1 when missing
  absl::flat_hash_map<uint64_t, Merge> merges_;
  int32_t next_rank_ = 0;
  BpeOptions options_;
  int32_t unk_id_ = -1;

  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_;
  mutable std::vector<int32_t> symbols_scratch_;
};

}  // namespace brain::tokenizer
