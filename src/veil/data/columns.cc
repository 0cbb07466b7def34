#include "veil/data/columns.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace veil::data {

namespace {

// Rows per CSV batch while streaming.
constexpr size_t kBatchRows = 8192;

// pandas.read_csv's default na_values (pandas._libs.parsers.STR_NA_VALUES, pandas 1.5).
constexpr std::array<std::string_view, 18> kNaStrings = {
    "",        "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A",      "NA",  "NULL",    "NaN",      "n/a",  "nan",  "null"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool IsMissingCell(std::string_view cell) {
  for (auto na : kNaStrings) {
    if (cell == na) return true;
  }
  return false;
}

CellKind ParseCell(std::string_view cell, double* value) {
  if (IsMissingCell(cell)) return CellKind::kMissing;
  std::string_view s = Trim(cell);
  if (s.empty()) return CellKind::kText;  // only blanks: pandas reads it as a string
  bool negative = false;
  std::string_view body = s;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    *value = negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    return CellKind::kNumber;
  }
  // Only decimal literals: a digit or '.' must start the body (from_chars would also take
  // "nan" and "inf", handled above or not numbers here).
  if (body.empty() || !((body.front() >= '0' && body.front() <= '9') || body.front() == '.')) {
    return CellKind::kText;
  }
  double v = 0;
  auto [end, ec] =
      std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != body.data() + body.size()) return CellKind::kText;
  *value = negative ? -v : v;
  return CellKind::kNumber;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) v = 0;  // no "-0"
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string FormatPythonFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest digits in scientific form: d[.ddd]e±XX.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, end);
  const size_t e = sci.find('e');
  const int exponent = std::atoi(sci.c_str() + e + 1);
  std::string sign;
  std::string mantissa = sci.substr(0, e);
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  // repr uses fixed notation for 1e-4 <= |v| < 1e16.
  if (exponent >= -4 && exponent < 16) {
    std::string out;
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out = digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return sign + out;
  }
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  return sign + out + fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
}

StatusOr<std::vector<std::string>> ReadHeader(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  return reader->header();
}

StatusOr<ColumnTable> ReadColumns(const std::string& path, const std::vector<std::string>& names,
                                  bool keep_text) {
  VEIL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ColumnTable table;
  table.path = path;
  table.header = reader->header();
  VEIL_ASSIGN_OR_RETURN(std::vector<size_t> indices, reader->ResolveColumns(names));
  table.columns.resize(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    table.columns[c].name = names[c];
    table.columns[c].file_index = indices[c];
  }
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  RowBatch batch;
  while (true) {
    VEIL_ASSIGN_OR_RETURN(bool more, reader->NextBatch(kBatchRows, &batch));
    if (!more) break;
    for (Column& col : table.columns) {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        const std::string_view cell = batch.field(r, col.file_index);
        double v = kNaN;
        switch (ParseCell(cell, &v)) {
          case CellKind::kMissing:
            ++col.missing;
            v = kNaN;
            break;
          case CellKind::kNumber:
            ++col.numbers;
            if (std::isinf(v)) {
              col.has_infinity = true;
              col.all_integral = false;
            } else if (v != std::floor(v)) {
              col.all_integral = false;
            }
            break;
          case CellKind::kText:
            v = kNaN;
            if (col.first_text_line == 0) {
              col.first_text_line = batch.line(r);
              col.first_text = std::string(cell);
            }
            break;
        }
        col.values.push_back(v);
        if (keep_text) col.text.emplace_back(cell);
      }
    }
    table.rows += static_cast<int64_t>(batch.num_rows());
  }
  return table;
}

Status NonNumericError(const std::string& path, const Column& column) {
  return ParameterError("non_numeric_value",
                        fmt::format("{} line {}, column '{}': '{}' is not a number", path,
                                    column.first_text_line, column.name, column.first_text));
}

Status RewriteCsv(const std::string& input, const std::string& output,
                  const std::vector<std::string>& header, const RowRewriter& fn) {
  VEIL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(input));
  VEIL_ASSIGN_OR_RETURN(auto writer, CsvWriter::Create(output, header));
  std::vector<std::string> out(header.size());
  std::vector<std::string_view> views(header.size());
  RowBatch batch;
  int64_t row = 0;
  while (true) {
    VEIL_ASSIGN_OR_RETURN(bool more, reader->NextBatch(kBatchRows, &batch));
    if (!more) break;
    for (size_t r = 0; r < batch.num_rows(); ++r, ++row) {
      VEIL_RETURN_IF_ERROR(fn(row, batch.row(r), &out));
      for (size_t c = 0; c < out.size(); ++c) views[c] = out[c];
      VEIL_RETURN_IF_ERROR(writer->WriteRow(views));
    }
  }
  return writer->Finish();
}

}  // namespace veil::data
