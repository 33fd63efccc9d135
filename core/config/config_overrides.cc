// Applying `--set a.b.c=value` to a protobuf message through reflection.
#include "core/config/config_overrides.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace brain::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string FieldNames(const Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return absl::StrJoin(names, ", ");
}

std::string EnumNames(const FieldDescriptor* f) {
  std::vector<std::string> names;
  for (int i = 0; i < f->enum_type()->value_count(); ++i) {
    names.push_back(f->enum_type()->value(i)->name());
  }
  return absl::StrJoin(names, ", ");
}

// Collects the text-format parser's first error for a message-valued override.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (text.empty()) text = absl::StrCat("column ", column + 1, ": ", message);
    (void)line;
  }
  std::string text;
};

// Sets one element (or the singular value) of a scalar/enum field from its text form.
absl::Status SetScalar(Message* msg, const FieldDescriptor* f, absl::string_view raw, bool add) {
  const Reflection* r = msg->GetReflection();
  const std::string value(absl::StripAsciiWhitespace(raw));
  auto bad = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", value, "' is not ", expected, " (field type ", f->type_name(), ")"));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a 32-bit integer");
      add ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a 64-bit integer");
      add ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 32-bit integer");
      add ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 64-bit integer");
      add ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        add ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      } else {
        add ? r->AddFloat(msg, f, static_cast<float>(v)) : r->SetFloat(msg, f, static_cast<float>(v));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("a boolean (true/false)");
      add ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* e = f->enum_type()->FindValueByName(value);
      if (e == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", value, "' is not a value of ", f->enum_type()->name(), " (one of ",
                         EnumNames(f), ")"));
      }
      add ? r->AddEnum(msg, f, e) : r->SetEnum(msg, f, e);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      // Strings are verbatim (no trimming), so paths with spaces survive.
      add ? r->AddString(msg, f, std::string(raw)) : r->SetString(msg, f, std::string(raw));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InternalError("message handled by caller");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyOverride(const std::string& assignment, Message* message) {
  const size_t eq = assignment.find('=');
  auto error = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": ", why));
  };
  if (eq == std::string::npos || eq == 0) return error("expected path.to.field=value");
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);

  std::vector<std::string> parts = absl::StrSplit(path, '.');
  Message* msg = message;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Descriptor* d = msg->GetDescriptor();
    const FieldDescriptor* f = d->FindFieldByName(parts[i]);
    const std::string so_far = absl::StrJoin(parts.begin(), parts.begin() + i + 1, ".");
    if (f == nullptr) {
      return error(absl::StrCat("'", so_far, "': ", d->name(), " has no field '", parts[i],
                                "' (fields: ", FieldNames(d), ")"));
    }
    const Reflection* r = msg->GetReflection();
    const bool last = i + 1 == parts.size();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) return error(absl::StrCat("'", so_far, "' is a repeated message"));
      msg = r->MutableMessage(msg, f);  // also selects it when it is a oneof member
      if (!last) continue;
      absl::string_view body = absl::StripAsciiWhitespace(value);
      if (absl::ConsumePrefix(&body, "{") && !absl::ConsumeSuffix(&body, "}")) {
        return error(absl::StrCat("'", so_far, "': unbalanced braces in message value"));
      }
      google::protobuf::TextFormat::Parser parser;
      FirstError errors;
      parser.RecordErrorsTo(&errors);
      if (!parser.MergeFromString(std::string(body), msg)) {
        return error(absl::StrCat("'", so_far, "': ", errors.text));
      }
      return absl::OkStatus();
    }
    if (!last) {
      return error(absl::StrCat("'", so_far, "' is a ", f->type_name(), ", not a message"));
    }
    absl::Status status;
    if (f->is_repeated()) {
      r->ClearField(msg, f);
      if (!value.empty()) {
        for (absl::string_view item : absl::StrSplit(value, ',')) {
          status = SetScalar(msg, f, item, /*add=*/true);
          if (!status.ok()) break;
        }
      }
    } else {
      status = SetScalar(msg, f, value, /*add=*/false);
    }
    if (!status.ok()) return error(absl::StrCat("'", path, "': ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace brain::config
