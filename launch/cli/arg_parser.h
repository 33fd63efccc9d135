// A small per-subcommand option parser: `--name value`, `--name=value`, flags, repeated options.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace brain::cli {

struct OptionSpec {
  std::string name;        // without dashes: "config"
  std::string value_name;  // "FILE"; empty for a flag (no value)
  std::string help;
  bool repeated = false;   // may be given several times (e.g. --set)
  bool required = false;
};

class ParsedArgs {
 public:
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  bool help() const { return help_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<OptionSpec>&,
                                              const std::vector<std::string>&, int);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

// Parses `args` (the words after the subcommand). `-h`/`--help` sets help() and skips other checks.
// Unknown options, missing values, repeated non-repeatable options, missing required options and
// more than `max_positionals` positional words are errors that name the option.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<OptionSpec>& specs,
                                     const std::vector<std::string>& args, int max_positionals = 0);

// "  --config FILE   help text" lines, aligned.
std::string FormatOptions(const std::vector<OptionSpec>& specs);

}  // namespace brain::cli
