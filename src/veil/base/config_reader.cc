#include "veil/base/config_reader.h"

#include <fmt/format.h>

namespace veil {

std::string JsonTypeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

ConfigReader::ConfigReader(const nlohmann::json& obj, std::string path, Problems* problems)
    : obj_(obj), path_(std::move(path)), problems_(problems), is_object_(obj.is_object()) {
  if (!is_object_) {
    problems_->Add(path_, "wrong_type", "must be an object, got " + JsonTypeName(obj));
  }
}

bool ConfigReader::Has(const std::string& key) const {
  return is_object_ && obj_.contains(key) && !obj_.at(key).is_null();
}

void ConfigReader::Problem(const std::string& key, const std::string& code,
                           const std::string& msg) {
  problems_->Add(PathOf(key), code, msg);
}

const nlohmann::json* ConfigReader::Raw(const std::string& key, Required required) {
  seen_.insert(key);
  if (!Has(key)) {
    if (is_object_ && required == Required::kYes) Problem(key, "missing_field", "is required");
    return nullptr;
  }
  return &obj_.at(key);
}

std::optional<std::string> ConfigReader::String(const std::string& key, Required required,
                                                bool allow_empty) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    Problem(key, "wrong_type", "must be a string, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  auto s = v->get<std::string>();
  if (s.empty() && !allow_empty) {
    Problem(key, "empty_value", "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::string ConfigReader::String(const std::string& key, const std::string& fallback) {
  return String(key, Required::kNo).value_or(fallback);
}

std::optional<bool> ConfigReader::Bool(const std::string& key, Required required) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    Problem(key, "wrong_type", "must be a boolean, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

bool ConfigReader::Bool(const std::string& key, bool fallback) {
  return Bool(key, Required::kNo).value_or(fallback);
}

std::optional<int64_t> ConfigReader::Int(const std::string& key, Required required, int64_t min,
                                         int64_t max) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    Problem(key, "wrong_type", "must be an integer, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  auto x = v->get<int64_t>();
  if (x < min || x > max) {
    Problem(key, "out_of_range", fmt::format("must be in [{}, {}], got {}", min, max, x));
    return std::nullopt;
  }
  return x;
}

int64_t ConfigReader::Int(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  return Int(key, Required::kNo, min, max).value_or(fallback);
}

std::optional<double> ConfigReader::Number(const std::string& key, Required required) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    Problem(key, "wrong_type", "must be a number, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<std::vector<std::string>> ConfigReader::StringList(const std::string& key,
                                                                 Required required) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_array()) {
    Problem(key, "wrong_type", "must be a list of strings, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  if (v->empty()) {
    Problem(key, "empty_value", "must not be empty");
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& e = (*v)[i];
    std::string p = PathOf(key) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) {
      problems_->Add(p, "wrong_type", "must be a string, got " + JsonTypeName(e));
      ok = false;
    } else if (e.get<std::string>().empty()) {
      problems_->Add(p, "empty_value", "must not be empty");
      ok = false;
    } else if (!seen.insert(e.get<std::string>()).second) {
      problems_->Add(p, "invalid_value", "'" + e.get<std::string>() + "' is listed twice");
      ok = false;
    } else {
      out.push_back(e.get<std::string>());
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> ConfigReader::Enum(const std::string& key, Required required,
                                              const std::vector<std::string>& choices) {
  auto s = String(key, required);
  if (!s) return std::nullopt;
  for (const auto& c : choices) {
    if (c == *s) return s;
  }
  Problem(key, "invalid_value",
          fmt::format("'{}' is not one of: {}", *s, fmt::join(choices, ", ")));
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> ConfigReader::PartyStrings(const std::string& key,
                                                                             Required required) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    Problem(key, "wrong_type", "must be an object {party: string}, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  if (v->empty()) {
    Problem(key, "empty_value", "must name at least one party");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& [party, e] : v->items()) {
    std::string p = PathOf(key) + "." + party;
    if (!e.is_string()) {
      problems_->Add(p, "wrong_type", "must be a string, got " + JsonTypeName(e));
      ok = false;
    } else if (e.get<std::string>().empty()) {
      problems_->Add(p, "empty_value", "must not be empty");
      ok = false;
    } else {
      out[party] = e.get<std::string>();
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, std::vector<std::string>>> ConfigReader::PartyStringLists(
    const std::string& key, Required required) {
  const auto* v = Raw(key, required);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    Problem(key, "wrong_type", "must be an object {party: [string]}, got " + JsonTypeName(*v));
    return std::nullopt;
  }
  if (v->empty()) {
    Problem(key, "empty_value", "must name at least one party");
    return std::nullopt;
  }
  std::map<std::string, std::vector<std::string>> out;
  bool ok = true;
  for (const auto& [party, e] : v->items()) {
    const nlohmann::json one = nlohmann::json::object({{party, e}});
    ConfigReader sub(one, PathOf(key), problems_);
    auto list = sub.StringList(party, Required::kYes);
    if (list) {
      out[party] = *list;
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

void ConfigReader::RejectUnknown() {
  if (!is_object_) return;
  for (const auto& [k, v] : obj_.items()) {
    if (!seen_.count(k)) Problem(k, "unknown_field", "unknown field '" + k + "'");
  }
}

}  // namespace veil
