// Hostile and truncated safetensors headers give errors, never crashes (also run under ASan/UBSan).
#include "core/model/safetensors_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace brain::model {
namespace {

// A file image: 8-byte little-endian header length, the header text, then `data_bytes` zero bytes.
std::vector<uint8_t> Image(const std::string& header, size_t data_bytes, uint64_t declared_len = UINT64_MAX) {
  const uint64_t len = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>((len >> (8 * i)) & 0xff);
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

absl::StatusOr<StHeader> Parse(const std::vector<uint8_t>& image) {
  return ParseStHeader(image.data(), image.size(), image.size(), "x.safetensors");
}

void ExpectError(const std::vector<uint8_t>& image, const std::string& reason) {
  auto header = Parse(image);
  ASSERT_FALSE(header.ok()) << "accepted a bad file; expected: " << reason;
  const std::string msg(header.status().message());
  EXPECT_NE(msg.find("x.safetensors: "), std::string::npos) << msg;
  EXPECT_NE(msg.find(reason), std::string::npos) << msg;
}

const char kValid[] =
    R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]},)"
    R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsFormatTest, ParsesAValidHeader) {
  auto header = Parse(Image(kValid, 14));
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->tensors.size(), 2u);
  EXPECT_EQ(header->tensors[0].name, "a");  // sorted by offset
  EXPECT_EQ(header->tensors[0].dtype, StDtype::kF32);
  EXPECT_EQ(header->tensors[1].name, "b");
  EXPECT_EQ(header->tensors[1].begin, 8u);
  EXPECT_EQ(header->tensors[1].end, 14u);
  EXPECT_EQ(header->data_start, 8 + sizeof(kValid) - 1);
  EXPECT_EQ(header->metadata.at("format"), "pt");
}

TEST(SafetensorsFormatTest, DtypeSizesMatchTheFormat) {
  const std::pair<const char*, size_t> expected[] = {{"F64", 8},  {"F32", 4}, {"F16", 2},
                                                     {"BF16", 2}, {"I64", 8}, {"I32", 4},
                                                     {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  for (const auto& [name, size] : expected) {
    auto dtype = StDtypeFromName(name);
    ASSERT_TRUE(dtype.ok()) << name;
    EXPECT_EQ(StDtypeSize(*dtype), size) << name;
    EXPECT_STREQ(StDtypeName(*dtype), name);
  }
  EXPECT_FALSE(StDtypeFromName("F8_E4M3").ok());
}

TEST(SafetensorsFormatTest, RejectsShortFilesAndBadLengths) {
  ExpectError({}, "too short");
  ExpectError({1, 2, 3}, "too short");
  ExpectError(Image("{}", 0, 1ull << 62), "exceeds");
  ExpectError(Image("{}", 0, UINT64_MAX - 1), "exceeds");
  ExpectError(Image("{}", 0, kMaxStHeaderBytes + 1), "exceeds");
  ExpectError(Image("{}", 0, 50), "past the end of the file");
}

TEST(SafetensorsFormatTest, RejectsMalformedJson) {
  ExpectError(Image("{\"a\":", 0), "not valid JSON");
  ExpectError(Image("[1,2]", 0), "not a JSON object");
  ExpectError(Image("{\"a\":\"\xff\xfe\"}", 0), "not valid JSON");
  ExpectError(Image(std::string(5000, '['), 0), "not valid JSON");
  ExpectError(Image(R"({"__metadata__":[1]})", 0), "__metadata__");
  ExpectError(Image(R"({"__metadata__":{"k":3}})", 0), "not a string");
  ExpectError(Image(R"({"a":3})", 0), "not a JSON object");
}

TEST(SafetensorsFormatTest, RejectsBadEntries) {
  ExpectError(Image(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), "dtype");
  ExpectError(Image(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4), "unsupported dtype");
  ExpectError(Image(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4), "shape");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), "non-negative");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4),
              "overflows");
  ExpectError(Image(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4),
              "overflows");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4), "data_offsets");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4), "begin > end");
}

TEST(SafetensorsFormatTest, RejectsOffsetsOutsideTheDataOrOfTheWrongSize) {
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 7), "past the data section");
  ExpectError(
      Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551611,18446744073709551615]}})",
            4),
      "past the data section");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 16), "needs 12");
  ExpectError(Image(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}})", 16), "needs 4");
  ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    16),
              "overlap");
}

TEST(SafetensorsFormatTest, EveryTruncationIsAnError) {
  const auto image = Image(kValid, 14);
  for (size_t n = 0; n < image.size(); ++n) {
    std::vector<uint8_t> cut(image.begin(), image.begin() + n);
    EXPECT_FALSE(Parse(cut).ok()) << "truncated to " << n << " bytes";
  }
}

TEST(SafetensorsFormatTest, RandomCorruptionNeverCrashes) {
  const auto image = Image(kValid, 14);
  std::mt19937 rng(1234);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto bad = image;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    auto header = Parse(bad);
    if (header.ok()) {
      ++accepted;
      for (const auto& t : header->tensors) ASSERT_LE(header->data_start + t.end, bad.size());
    }
  }
  EXPECT_LT(accepted, 3000);
}

TEST(SafetensorsFormatTest, ReadsHeadersFromFiles) {
  const std::string path = ::testing::TempDir() + "/format_test.safetensors";
  auto write = [&](const std::vector<uint8_t>& image) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()), image.size());
  };
  write(Image(kValid, 14));
  EXPECT_TRUE(ReadStHeader(path).ok());
  write(Image(kValid, 10));
  auto truncated = ReadStHeader(path);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(std::string(truncated.status().message()).find(path), std::string::npos);
  write(Image("{}", 0, 1ull << 40));
  EXPECT_FALSE(ReadStHeader(path).ok());
  EXPECT_FALSE(ReadStHeader(path + ".missing").ok());
  std::remove(path.c_str());
}

TEST(SafetensorsFormatTest, BuiltHeadersParseBack) {
  std::vector<StTensorInfo> infos = {{"w", StDtype::kF16, {2, 3}, 0, 0}, {"n", StDtype::kI64, {}, 0, 0}};
  const std::string built = BuildStHeader(infos, {{"format", "pt"}});
  EXPECT_EQ((built.size() - 8) % 8, 0u);  // the data section starts 8-byte aligned
  std::vector<uint8_t> image(built.begin(), built.end());
  image.resize(image.size() + 20, 0);
  auto header = Parse(image);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->tensors[0].end, 12u);
  EXPECT_EQ(header->tensors[1].begin, 12u);
  EXPECT_EQ(header->tensors[1].end, 20u);
}

}  // namespace
}  // namespace brain::model
