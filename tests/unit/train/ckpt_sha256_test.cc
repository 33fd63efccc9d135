// SHA-256 against the FIPS 180-2 example vectors and Python's hashlib on padding-boundary lengths.
#include "core/train/sha256.h"
#include "core/train/sha256_blocks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

namespace brain::train {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 256);
  return s;
}

TEST(Sha256, FipsExampleVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Expected digests from Python: hashlib.sha256(bytes((i*7+3)%256 for i in range(n))).hexdigest().
TEST(Sha256, PaddingBoundariesMatchHashlib) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
      {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
  };
  for (const auto& [n, hex] : cases) {
    EXPECT_EQ(Sha256Hex(Pattern(n)), hex) << n << " bytes";
    // Fed in uneven pieces, the digest is the same.
    const std::string data = Pattern(n);
    Sha256 sha;
    for (size_t at = 0, piece = 1; at < n; at += piece, piece = piece * 3 % 67 + 1) {
      sha.Update(std::string_view(data).substr(at, piece));
    }
    EXPECT_EQ(sha.FinishHex(), hex) << n << " bytes, in pieces";
  }
}

// The SHA-NI blocks against the portable rounds (whose digests the vectors above pin), over many blocks
// of varied data from several starting states; skipped where the CPU has no SHA extensions.
TEST(Sha256, AcceleratedBlocksEqualThePortableRounds) {
  const Sha256BlocksFn accelerated = Sha256BlocksAccelerated();
  if (accelerated == nullptr) GTEST_SKIP() << "this CPU has no SHA-NI: only the portable rounds run";
  std::string data = Pattern(64 * 257);
  for (size_t i = 0; i < data.size(); i += 5) data[i] = static_cast<char>(data[i] ^ (i / 64));
  for (size_t blocks : {size_t{1}, size_t{2}, size_t{17}, size_t{257}}) {
    uint32_t portable[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, static_cast<uint32_t>(blocks)};
    uint32_t fast[8];
    std::copy(portable, portable + 8, fast);
    const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
    Sha256BlocksPortable(portable, bytes, blocks);
    accelerated(fast, bytes, blocks);
    for (int w = 0; w < 8; ++w) EXPECT_EQ(fast[w], portable[w]) << blocks << " blocks, word " << w;
  }
  EXPECT_EQ(Sha256BlocksBest(), accelerated);
}

TEST(Sha256, HashesFilesAndNamesMissingOnes) {
  const std::string path = (std::filesystem::temp_directory_path() / "brain_sha256_test.bin").string();
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const std::string data = Pattern(1000);
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
  auto digest = Sha256File(path);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371");
  std::filesystem::remove(path);
  auto missing = Sha256File(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace brain::train
