// ConfigReader: typed access to one JSON object of a config, recording a problem (with the full
// field path) for every missing, mistyped or out-of-range field instead of stopping at the first.
//
//   Problems problems;
//   ConfigReader r(task_config, "task_config", &problems);
//   auto keys = r.PartyMap<std::vector<std::string>>("keys", Required::kYes);
//   auto sort = r.Bool("sort", false);
//   r.RejectUnknown();   // every key not read above is reported as "unknown_field"
//
// Problem codes: missing_field, wrong_type, empty_value, out_of_range, unknown_field,
// invalid_value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/problems.h"

namespace veil {

enum class Required { kNo, kYes };

class ConfigReader {
 public:
  // `obj` may be any JSON value; a non-object records a wrong_type problem at `path` and every
  // getter then returns its default / nullopt.
  ConfigReader(const nlohmann::json& obj, std::string path, Problems* problems);

  bool valid() const { return is_object_; }
  bool Has(const std::string& key) const;
  const std::string& path() const { return path_; }
  std::string PathOf(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  Problems* problems() const { return problems_; }

  // Marks `key` as known without reading it (for fields read elsewhere).
  void Accept(const std::string& key) { seen_.insert(key); }
  // The raw value (nullptr JSON if absent); marks the key as seen.
  const nlohmann::json* Raw(const std::string& key, Required required);

  std::optional<std::string> String(const std::string& key, Required required,
                                    bool allow_empty = false);
  std::string String(const std::string& key, const std::string& fallback);
  std::optional<bool> Bool(const std::string& key, Required required);
  bool Bool(const std::string& key, bool fallback);
  std::optional<int64_t> Int(const std::string& key, Required required, int64_t min, int64_t max);
  int64_t Int(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  std::optional<double> Number(const std::string& key, Required required);
  // A non-empty list of non-empty strings (duplicates reported as invalid_value).
  std::optional<std::vector<std::string>> StringList(const std::string& key, Required required);
  // One of `choices`; an unknown value is reported as invalid_value listing the choices.
  std::optional<std::string> Enum(const std::string& key, Required required,
                                  const std::vector<std::string>& choices);
  // {party: non-empty string}, non-empty.
  std::optional<std::map<std::string, std::string>> PartyStrings(const std::string& key,
                                                                 Required required);
  // {party: non-empty list of non-empty strings}, non-empty.
  std::optional<std::map<std::string, std::vector<std::string>>> PartyStringLists(
      const std::string& key, Required required);

  // Reports every key of the object that no getter/Accept touched.
  void RejectUnknown();

 private:
  void Problem(const std::string& key, const std::string& code, const std::string& msg);
  const nlohmann::json& obj_;
  std::string path_;
  Problems* problems_;
  bool is_object_;
  std::set<std::string> seen_;
};

// JSON type name for messages ("string", "number", "object", …).
std::string JsonTypeName(const nlohmann::json& v);

}  // namespace veil
