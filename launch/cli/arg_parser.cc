// Parsing subcommand options.
#include "launch/cli/arg_parser.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brain::cli {

std::string ParsedArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<OptionSpec>& specs,
                                     const std::vector<std::string>& args, int max_positionals) {
  ParsedArgs parsed;
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const OptionSpec& s : specs) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      parsed.help_ = true;
      return parsed;
    }
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      if (static_cast<int>(parsed.positionals_.size()) >= max_positionals) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
      }
      parsed.positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see --help)"));
    }
    if (spec->value_name.empty()) {
      if (has_inline_value) {
        return absl::InvalidArgumentError(absl::StrCat("option --", name, " takes no value"));
      }
      value = "true";
    } else if (!has_inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", name, " needs a value (", spec->value_name, ")"));
      }
      value = args[++i];
    }
    std::vector<std::string>& slot = parsed.values_[name];
    if (!slot.empty() && !spec->repeated) {
      return absl::InvalidArgumentError(absl::StrCat("option --", name, " given more than once"));
    }
    slot.push_back(value);
  }
  for (const OptionSpec& s : specs) {
    if (s.required && !parsed.Has(s.name)) {
      return absl::InvalidArgumentError(absl::StrCat("missing required option --", s.name));
    }
  }
  return parsed;
}

std::string FormatOptions(const std::vector<OptionSpec>& specs) {
  size_t width = 6;  // "--help"
  std::vector<std::string> lefts;
  for (const OptionSpec& s : specs) {
    std::string left = absl::StrCat("--", s.name, s.value_name.empty() ? "" : " ", s.value_name);
    width = std::max(width, left.size());
    lefts.push_back(left);
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string help = specs[i].help;
    if (specs[i].required) help += " (required)";
    if (specs[i].repeated) help += " (repeatable)";
    absl::StrAppendFormat(&out, "  %-*s  %s\n", static_cast<int>(width), lefts[i], help);
  }
  absl::StrAppendFormat(&out, "  %-*s  %s\n", static_cast<int>(width), "--help", "show this help");
  return out;
}

}  // namespace brain::cli
