// CRC-32C against the RFC 3720 (iSCSI) appendix B.4 test vectors, the CRC catalogue's check value, and
// TFRecord masking.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/train/crc32c.h"

namespace brain::train {
namespace {

TEST(Crc32cTest, Rfc3720Vectors) {
  std::array<uint8_t, 32> bytes{};
  EXPECT_EQ(Crc32c(bytes.data(), bytes.size()), 0x8A9136AAu);  // 32 bytes of zeroes
  bytes.fill(0xFF);
  EXPECT_EQ(Crc32c(bytes.data(), bytes.size()), 0x62A8AB43u);  // 32 bytes of ones
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(bytes.data(), bytes.size()), 0x46DD794Eu);  // incrementing
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(bytes.data(), bytes.size()), 0x113FDB5Cu);  // decrementing
  // An iSCSI SCSI Read (10) command PDU.
  const uint8_t pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                           0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                           0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                           0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(Crc32c(pdu, sizeof(pdu)), 0xD9963A56u);
}

TEST(Crc32cTest, CheckValueAndEmpty) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // CRC-32C/ISCSI check value
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string a = "The quick brown fox ", b = "jumps over the lazy dog";
  EXPECT_EQ(Crc32cExtend(Crc32c(a), b.data(), b.size()), Crc32c(a + b));
  EXPECT_EQ(Crc32c("The quick brown fox jumps over the lazy dog"), 0x22620404u);
}

TEST(Crc32cTest, Masking) {
  // mask(c) = rotr(c, 15) + 0xa282ead8; for c = CRC("123456789") = 0xE3069283, rotr(c, 15) = 0x2507C60D and
  // the sum 0xC78AB0E5 equals tensorboard's masked_crc32c(b"123456789") (checked once in the venv).
  EXPECT_EQ(MaskCrc32c(0xE3069283u), 0xC78AB0E5u);
  for (uint32_t c : {0u, 1u, 0x80000000u, 0xFFFFFFFFu, 0xE3069283u, 0x12345678u}) {
    EXPECT_EQ(UnmaskCrc32c(MaskCrc32c(c)), c);
  }
}

}  // namespace
}  // namespace brain::train
