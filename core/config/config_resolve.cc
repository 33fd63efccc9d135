// Writing out every default of an ExperimentConfig so the printed config is complete.
#include "core/config/config_resolve.h"

#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"

namespace brain::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// True when the message type declares a default somewhere (itself or nested), i.e. when creating an
// unset instance of it shows the user something.
bool HasDeclaredDefaults(const Descriptor* d, int depth = 0) {
  if (depth > 8) return false;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!f->containing_oneof() && HasDeclaredDefaults(f->message_type(), depth + 1)) return true;
    } else if (f->has_default_value()) {
      return true;
    }
  }
  return false;
}

void SetDefault(Message* m, const Reflection* r, const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, f->default_value_int32()); break;
    case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, f->default_value_int64()); break;
    case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, f->default_value_uint32()); break;
    case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, f->default_value_uint64()); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, f, f->default_value_double()); break;
    case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, f, f->default_value_float()); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, f->default_value_bool()); break;
    case FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(m, f, f->default_value_enum()); break;
    case FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, f->default_value_string()); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
}

void FillDeclaredDefaults(Message* m) {
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Set sub-messages are completed; unset ones are created only when they carry defaults and
      // are not an unchosen oneof member (an algorithm the run does not use).
      const bool create = !f->containing_oneof() && HasDeclaredDefaults(f->message_type());
      if (r->HasField(*m, f) || create) FillDeclaredDefaults(r->MutableMessage(m, f));
    } else if (!r->HasField(*m, f) && f->has_default_value()) {
      SetDefault(m, r, f);
    }
  }
}

}  // namespace

void FillDerivedDefaults(ExperimentConfig* config) {
  ModelsConfig* models = config->mutable_models();
  if (!models->has_reference() && models->has_policy()) {
    *models->mutable_reference() = models->policy();
  }
  if (!models->has_tokenizer() && models->policy().has_path()) {
    models->set_tokenizer(models->policy().path());
  }
}

ExperimentConfig WithExplicitDefaults(const ExperimentConfig& config) {
  ExperimentConfig resolved = config;
  FillDeclaredDefaults(&resolved);
  return resolved;
}

std::string ResolvedConfigText(const ExperimentConfig& config) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(WithExplicitDefaults(config), &text);
  return text;
}

}  // namespace brain::config
