// JsonlWriter: lines written are read back by the dataset reader; I/O errors name the path.
#include "core/data/jsonl_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/data/datasets.h"
#include "tests/unit/data/data_test_util.h"

namespace brain::data {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JsonlWriterTest, WritesOneCompactObjectPerLine) {
  const std::string path = ::testing::TempDir() + "/jsonl_writer_test.jsonl";
  {
    auto writer = JsonlWriter::Open(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Write(nlohmann::json{{"prompt", "Hello\nworld"}, {"response", "a"}}).ok());
    nlohmann::ordered_json ordered;
    ordered["prompt"] = "b";
    ordered["id"] = 7;
    ASSERT_TRUE((*writer)->Write(ordered).ok());
    EXPECT_EQ((*writer)->lines(), 2);
    ASSERT_TRUE((*writer)->Close().ok());
  }
  EXPECT_EQ(Slurp(path), "{\"prompt\":\"Hello\\nworld\",\"response\":\"a\"}\n{\"prompt\":\"b\",\"id\":7}\n");
  {
    auto writer = JsonlWriter::Open(path, /*append=*/true);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(nlohmann::json{{"prompt", "c"}}).ok());
  }  // the destructor flushes
  auto data = ReadPrompts(path, testing::Config(), testing::Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 3u);
  EXPECT_EQ(data->examples[0].text, "Hello\nworld");
  EXPECT_EQ(data->examples[1].id, "7");
  EXPECT_EQ(data->examples[2].text, "c");
}

TEST(JsonlWriterTest, ErrorsNameThePath) {
  const std::string path = ::testing::TempDir() + "/no_such_dir/out.jsonl";
  auto writer = JsonlWriter::Open(path);
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(writer.status().message(), HasSubstr(path));
  auto full = JsonlWriter::Open("/dev/full");
  ASSERT_TRUE(full.ok());
  absl::Status s = (*full)->Write(nlohmann::json{{"x", std::string(1 << 16, 'a')}});
  if (s.ok()) s = (*full)->Close();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("/dev/full"));
}

}  // namespace
}  // namespace brain::data
