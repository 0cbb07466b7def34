#include "veil/tasks/categories.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace veil::tasks {

namespace {

// Integral values below this magnitude are written as plain integers.
constexpr double kMaxPlainInteger = 1e15;

std::string NumericName(double v, bool all_integral) {
  if (all_integral && std::fabs(v) < kMaxPlainInteger) return fmt::format("{:.0f}", v);
  return data::FormatPythonFloat(v);
}

}  // namespace

StatusOr<Categories> Categories::Fit(const data::ColumnTable& table, const data::Column& column) {
  if (column.numbers == 0 && column.numeric()) {
    return ParameterError("all_missing_column",
                          fmt::format("{}: column '{}' has no values ({} rows, all missing)",
                                      table.path, column.name, table.rows));
  }
  Categories c;
  c.codes_.assign(static_cast<size_t>(table.rows), -1);
  if (column.numeric()) {
    std::map<double, int64_t> index;
    for (double v : column.values) {
      if (!std::isnan(v)) index.emplace(v == 0 ? 0.0 : v, 0);
    }
    for (auto& [v, code] : index) {
      code = static_cast<int64_t>(c.names_.size());
      c.names_.push_back(NumericName(v, column.all_integral));
    }
    for (size_t r = 0; r < column.values.size(); ++r) {
      const double v = column.values[r];
      if (!std::isnan(v)) c.codes_[r] = index.at(v == 0 ? 0.0 : v);
    }
  } else {
    std::map<std::string, int64_t> index;
    for (const auto& t : column.text) {
      if (!data::IsMissingCell(t)) index.emplace(t, 0);
    }
    for (auto& [t, code] : index) {
      code = static_cast<int64_t>(c.names_.size());
      c.names_.push_back(t);
    }
    for (size_t r = 0; r < column.text.size(); ++r) {
      if (!data::IsMissingCell(column.text[r])) c.codes_[r] = index.at(column.text[r]);
    }
  }
  return c;
}

}  // namespace veil::tasks
