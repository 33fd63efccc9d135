// safetensors header parsing/validation and header building (torch-free, built under ASan too).
#include "core/model/safetensors_format.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace brain::model {
namespace {

struct DtypeEntry {
  StDtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {StDtype::kF64, "F64", 8},   {StDtype::kF32, "F32", 4}, {StDtype::kF16, "F16", 2},
    {StDtype::kBF16, "BF16", 2}, {StDtype::kI64, "I64", 8}, {StDtype::kI32, "I32", 4},
    {StDtype::kI8, "I8", 1},     {StDtype::kU8, "U8", 1},   {StDtype::kBool, "BOOL", 1},
};

absl::Status Bad(const std::string& file, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", reason));
}

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Validates one "name": {"dtype", "shape", "data_offsets"} entry.
absl::StatusOr<StTensorInfo> ParseEntry(const std::string& name, const nlohmann::json& value,
                                        uint64_t data_size, const std::string& file) {
  const std::string where = absl::StrCat("tensor '", name, "': ");
  if (!value.is_object()) return Bad(file, where + "entry is not a JSON object");
  StTensorInfo info;
  info.name = name;
  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) return Bad(file, where + "missing string 'dtype'");
  auto dtype = StDtypeFromName(dtype_it->get<std::string>());
  if (!dtype.ok()) return Bad(file, where + std::string(dtype.status().message()));
  info.dtype = *dtype;

  auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) return Bad(file, where + "missing array 'shape'");
  if (shape_it->size() > 64) return Bad(file, where + "shape has more than 64 dimensions");
  uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned()) return Bad(file, where + "shape entries must be non-negative integers");
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, d, &numel)) {
      return Bad(file, where + "shape overflows");
    }
    info.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(StDtypeSize(info.dtype)), &nbytes)) {
    return Bad(file, where + "byte size overflows");
  }

  auto off_it = value.find("data_offsets");
  if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
    return Bad(file, where + "'data_offsets' must be two non-negative integers");
  }
  info.begin = (*off_it)[0].get<uint64_t>();
  info.end = (*off_it)[1].get<uint64_t>();
  if (info.begin > info.end) return Bad(file, where + "data_offsets begin > end");
  if (info.end > data_size) {
    return Bad(file, absl::StrCat(where, "data_offsets end ", info.end, " is past the data section (",
                                  data_size, " bytes; file truncated?)"));
  }
  if (info.end - info.begin != nbytes) {
    return Bad(file, absl::StrCat(where, "data_offsets span ", info.end - info.begin, " bytes but dtype ",
                                  StDtypeName(info.dtype), " x shape needs ", nbytes));
  }
  return info;
}

}  // namespace

const char* StDtypeName(StDtype dtype) {
  for (const auto& e : kDtypes) {
    if (e.dtype == dtype) return e.name;
  }
  return "?";
}

size_t StDtypeSize(StDtype dtype) {
  for (const auto& e : kDtypes) {
    if (e.dtype == dtype) return e.size;
  }
  return 0;
}

absl::StatusOr<StDtype> StDtypeFromName(const std::string& name) {
  for (const auto& e : kDtypes) {
    if (name == e.name) return e.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported dtype '", name, "'"));
}

absl::StatusOr<StHeader> ParseStHeader(const uint8_t* prefix, size_t prefix_size, uint64_t file_size,
                                       const std::string& file) {
  if (file_size < 8 || prefix_size < 8) {
    return Bad(file, absl::StrCat("file is ", file_size, " bytes, too short for the 8-byte header length"));
  }
  const uint64_t header_len = ReadLe64(prefix);
  if (header_len > kMaxStHeaderBytes) {
    return Bad(file,
               absl::StrCat("header length ", header_len, " exceeds the ", kMaxStHeaderBytes, "-byte limit"));
  }
  if (header_len > file_size - 8) {
    return Bad(file, absl::StrCat("header length ", header_len, " is past the end of the file (", file_size,
                                  " bytes; truncated?)"));
  }
  if (header_len > prefix_size - 8) return Bad(file, "internal: header prefix not fully read");
  const char* text = reinterpret_cast<const char*>(prefix + 8);
  nlohmann::json json = nlohmann::json::parse(text, text + header_len, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Bad(file, "header is not valid JSON");
  if (!json.is_object()) return Bad(file, "header is not a JSON object");

  StHeader header;
  header.data_start = 8 + header_len;
  const uint64_t data_size = file_size - header.data_start;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) return Bad(file, "__metadata__ is not a JSON object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) return Bad(file, "__metadata__ value '" + m.key() + "' is not a string");
        header.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto info = ParseEntry(it.key(), it.value(), data_size, file);
    if (!info.ok()) return info.status();
    header.tensors.push_back(std::move(*info));
  }
  std::sort(header.tensors.begin(), header.tensors.end(), [](const StTensorInfo& a, const StTensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const auto& prev = header.tensors[i - 1];
    const auto& cur = header.tensors[i];
    if (cur.begin < prev.end) {
      return Bad(file, absl::StrCat("tensors '", prev.name, "' and '", cur.name, "' overlap"));
    }
  }
  return header;
}

absl::StatusOr<StHeader> ReadStHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  const std::streamoff size = in.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot determine the file size"));
  const uint64_t file_size = static_cast<uint64_t>(size);
  in.seekg(0);
  uint8_t len_bytes[8] = {0};
  if (file_size < 8) return ParseStHeader(len_bytes, 0, file_size, path);  // reports "too short"
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  const uint64_t header_len = ReadLe64(len_bytes);
  // A bad length is reported by the parser before any buffer is allocated for it.
  if (header_len > kMaxStHeaderBytes || header_len > file_size - 8) {
    return ParseStHeader(len_bytes, 8, file_size, path);
  }
  std::vector<uint8_t> buffer(8 + header_len);
  std::memcpy(buffer.data(), len_bytes, 8);
  in.read(reinterpret_cast<char*>(buffer.data() + 8), static_cast<std::streamsize>(header_len));
  if (!in) return absl::DataLossError(absl::StrCat(path, ": short read of the header"));
  return ParseStHeader(buffer.data(), buffer.size(), file_size, path);
}

std::string BuildStHeader(std::vector<StTensorInfo>& tensors,
                          const std::map<std::string, std::string>& metadata) {
  nlohmann::json json = nlohmann::json::object();
  if (!metadata.empty()) json["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (auto& t : tensors) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    t.begin = offset;
    t.end = offset + numel * StDtypeSize(t.dtype);
    offset = t.end;
    json[t.name] = {{"dtype", StDtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = json.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace brain::model
