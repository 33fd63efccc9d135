// safetensors reading through mmap and writing, on top of the torch-free header parser.
#include "core/model/safetensors_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/safetensors_format.h"

namespace brain::model {
namespace {

// A read-only view of a whole file through a private mapping; unmapped when the last tensor goes.
class Mapping {
 public:
  Mapping(void* data, size_t size) : data_(data), size_(size) {}
  ~Mapping() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_;
  size_t size_;
};

torch::Dtype ToTorch(StDtype dtype) {
  switch (dtype) {
    case StDtype::kF64:
      return torch::kFloat64;
    case StDtype::kF32:
      return torch::kFloat32;
    case StDtype::kF16:
      return torch::kFloat16;
    case StDtype::kBF16:
      return torch::kBFloat16;
    case StDtype::kI64:
      return torch::kInt64;
    case StDtype::kI32:
      return torch::kInt32;
    case StDtype::kI8:
      return torch::kInt8;
    case StDtype::kU8:
      return torch::kUInt8;
    case StDtype::kBool:
      return torch::kBool;
  }
  return torch::kFloat32;
}

absl::StatusOr<StDtype> FromTorch(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat64:
      return StDtype::kF64;
    case torch::kFloat32:
      return StDtype::kF32;
    case torch::kFloat16:
      return StDtype::kF16;
    case torch::kBFloat16:
      return StDtype::kBF16;
    case torch::kInt64:
      return StDtype::kI64;
    case torch::kInt32:
      return StDtype::kI32;
    case torch::kInt8:
      return StDtype::kI8;
    case torch::kUInt8:
      return StDtype::kU8;
    case torch::kBool:
      return StDtype::kBool;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("dtype ", c10::toString(dtype), " cannot be written to safetensors"));
  }
}

std::string Errno() { return std::strerror(errno); }

}  // namespace

absl::StatusOr<TensorMap> LoadSafetensors(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", Errno()));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return absl::DataLossError(absl::StrCat(path, ": cannot stat: ", Errno()));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    close(fd);
    uint8_t none[8] = {0};
    return ParseStHeader(none, 0, size, path).status();
  }
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return absl::DataLossError(absl::StrCat(path, ": cannot map: ", Errno()));
  auto mapping = std::make_shared<Mapping>(data, size);

  auto header = ParseStHeader(mapping->data(), size, size, path);
  if (!header.ok()) return header.status();
  TensorMap tensors;
  for (const StTensorInfo& info : header->tensors) {
    uint8_t* ptr = mapping->data() + header->data_start + info.begin;
    const auto options = torch::TensorOptions().dtype(ToTorch(info.dtype));
    if (info.end == info.begin) {
      tensors[info.name] = torch::empty(info.shape, options);
      continue;
    }
    auto tensor = torch::from_blob(
        ptr, info.shape, [mapping](void*) {}, options);
    if (reinterpret_cast<uintptr_t>(ptr) % StDtypeSize(info.dtype) != 0) tensor = tensor.clone();
    tensors[info.name] = tensor;
  }
  return tensors;
}

absl::Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                             const std::map<std::string, std::string>& metadata) {
  std::vector<StTensorInfo> infos;
  std::vector<torch::Tensor> data;
  for (const auto& [name, tensor] : tensors) {
    auto dtype = FromTorch(tensor.scalar_type());
    if (!dtype.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor '", name, "': ", dtype.status().message()));
    StTensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    info.shape = tensor.sizes().vec();
    infos.push_back(std::move(info));
    data.push_back(tensor.detach().to(torch::kCPU).contiguous());
  }
  const std::string header = BuildStHeader(infos, metadata);
  const std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) return absl::PermissionDeniedError(absl::StrCat(tmp, ": cannot create: ", Errno()));
  bool ok = std::fwrite(header.data(), 1, header.size(), out) == header.size();
  for (const auto& t : data) {
    const size_t nbytes = t.numel() * t.element_size();
    if (ok && nbytes > 0) ok = std::fwrite(t.data_ptr(), 1, nbytes, out) == nbytes;
  }
  ok = (std::fclose(out) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return absl::DataLossError(absl::StrCat(tmp, ": write failed: ", Errno()));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": cannot rename from ", tmp, ": ", Errno()));
  }
  return absl::OkStatus();
}

}  // namespace brain::model
