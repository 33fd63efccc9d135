// The subcommand option parser: values, flags, repeats, required options and errors.
#include "launch/cli/arg_parser.h"

#include <gtest/gtest.h>

namespace brain::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"config", "FILE", "config", false, true},
    {"set", "K=V", "override", true, false},
    {"decode", "", "flag"},
};

TEST(ArgParser, ValuesFlagsAndRepeats) {
  auto parsed = ParseArgs(kSpecs, {"--config", "a.textproto", "--set=x=1", "--set", "y=2", "--decode"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get("config"), "a.textproto");
  EXPECT_EQ(parsed->GetAll("set"), (std::vector<std::string>{"x=1", "y=2"}));
  EXPECT_TRUE(parsed->Has("decode"));
  EXPECT_EQ(parsed->Get("missing", "fallback"), "fallback");
}

TEST(ArgParser, HelpShortCircuitsRequiredChecks) {
  auto parsed = ParseArgs(kSpecs, {"--help"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->help());
}

TEST(ArgParser, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  } cases[] = {
      {{"--config"}, "option --config needs a value (FILE)"},
      {{"--config", "a", "--bogus"}, "unknown option --bogus"},
      {{"--config", "a", "--config", "b"}, "option --config given more than once"},
      {{"--set", "x=1"}, "missing required option --config"},
      {{"--config", "a", "--decode=yes"}, "option --decode takes no value"},
      {{"--config", "a", "stray"}, "unexpected argument 'stray'"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseArgs(kSpecs, c.args);
    ASSERT_FALSE(parsed.ok()) << c.expected;
    EXPECT_NE(parsed.status().message().find(c.expected), std::string::npos) << parsed.status();
  }
}

TEST(ArgParser, PositionalsUpToLimit) {
  auto parsed = ParseArgs({}, {"one", "two"}, 2);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->positionals().size(), 2u);
  EXPECT_FALSE(ParseArgs({}, {"one", "two", "three"}, 2).ok());
}

TEST(ArgParser, FormatOptionsAlignsAndMarks) {
  const std::string text = FormatOptions(kSpecs);
  EXPECT_NE(text.find("--config FILE"), std::string::npos);
  EXPECT_NE(text.find("(required)"), std::string::npos);
  EXPECT_NE(text.find("(repeatable)"), std::string::npos);
  EXPECT_NE(text.find("--help"), std::string::npos);
}

}  // namespace
}  // namespace brain::cli
