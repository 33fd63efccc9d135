// Parsing, overriding and validating an ExperimentConfig, with errors that point at file:line:col.
#include "core/config/config_loader.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/config/config_overrides.h"
#include "core/config/config_resolve.h"
#include "core/config/config_validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace brain::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// The name of the field whose value sits at (line, column): the last `name:` before the column.
// Lets value errors such as 'Expected double, got: "high"' say which field they are about.
std::string FieldBefore(const std::vector<std::string>& lines, int line, int column) {
  if (line < 0 || line >= static_cast<int>(lines.size())) return "";
  const std::string prefix = lines[line].substr(0, std::max(0, column));
  const size_t colon = prefix.rfind(':');
  if (colon == std::string::npos) return "";
  size_t end = colon;
  while (end > 0 && prefix[end - 1] == ' ') --end;
  size_t begin = end;
  while (begin > 0 && (std::isalnum(static_cast<unsigned char>(prefix[begin - 1])) || prefix[begin - 1] == '_')) {
    --begin;
  }
  return prefix.substr(begin, end - begin);
}

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  CollectErrors(const std::string& source, const std::string& text)
      : source_(source), lines_(absl::StrSplit(text, '\n')) {}
  void AddError(int line, int column, const std::string& message) override {
    std::string field = FieldBefore(lines_, line, column);
    const bool named = field.empty() || message.find("\"" + field + "\"") != std::string::npos;
    errors.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message,
                                  named ? "" : absl::StrCat(" (field '", field, "')")));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, message);  // warnings (e.g. deprecated) are treated as errors too
  }
  std::vector<std::string> errors;

 private:
  std::string source_;
  std::vector<std::string> lines_;
};

// "file:line:col" of the field at `path` (dot separated, "[i]" suffixes ignored) when it was written
// in the file; empty when the field came from a default or an override.
std::string LocateField(const TextFormat::ParseInfoTree* tree, const Descriptor* d,
                        const std::string& path, const std::string& source) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size() && tree != nullptr && d != nullptr; ++i) {
    std::string name = parts[i].substr(0, parts[i].find('['));
    const FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) return "";
    const int index = f->is_repeated() ? 0 : -1;
    if (i + 1 == parts.size()) {
      TextFormat::ParseLocation loc = tree->GetLocation(f, index);
      if (loc.line < 0) return "";
      return absl::StrCat(source, ":", loc.line + 1, ":", loc.column + 1);
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return "";
    tree = tree->GetTreeForNested(f, index);
    d = f->message_type();
  }
  return "";
}

// "--set a.b=v" when the last override touching `path` (or a parent of it) set the offending value.
std::string OverrideFor(const std::string& path, const std::vector<std::string>& overrides) {
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    const std::string target = it->substr(0, it->find('='));
    if (path == target || absl::StartsWith(path, target + ".") || absl::StartsWith(path, target + "[")) {
      return absl::StrCat("--set ", *it);
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<ExperimentConfig> ParseConfig(const std::string& text, const std::string& source,
                                             const std::vector<std::string>& overrides) {
  ExperimentConfig config;
  TextFormat::ParseInfoTree locations;
  TextFormat::Parser parser;
  CollectErrors errors(source, text);
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&locations);
  if (!parser.ParseFromString(text, &config) || !errors.errors.empty()) {
    if (errors.errors.empty()) errors.errors.push_back(absl::StrCat(source, ": cannot parse config"));
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors, "\n"));
  }
  for (const std::string& assignment : overrides) {
    absl::Status status = ApplyOverride(assignment, &config);
    if (!status.ok()) return status;
  }
  FillDerivedDefaults(&config);

  std::vector<ConfigIssue> issues = ValidateConfig(config);
  if (!issues.empty()) {
    std::vector<std::string> lines;
    for (const ConfigIssue& issue : issues) {
      std::string where = OverrideFor(issue.field_path, overrides);
      if (where.empty()) where = LocateField(&locations, config.GetDescriptor(), issue.field_path, source);
      if (where.empty()) where = source;
      lines.push_back(absl::StrCat(where, ": ", issue.field_path, ": ", issue.message));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  return config;
}

absl::StatusOr<ExperimentConfig> LoadConfigFile(const std::string& path,
                                                const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return ParseConfig(buffer.str(), path, overrides);
}

}  // namespace brain::config
