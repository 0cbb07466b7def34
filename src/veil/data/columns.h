// Column-level access to one party's CSV file for the plaintext data tasks (scalers, encoders,
// binning, fillna, statistics, evaluation): cell classification with pandas' read_csv rules,
// number formatting, a reader that loads selected columns, and a streaming rewriter that writes
// a transformed copy of a file row by row (row order kept, so vertical partitions stay aligned).
//
// Cells (what pandas.read_csv with default options would make of them):
//   * missing: the empty cell and pandas' default NA strings ("NA", "N/A", "NaN", "nan", "null",
//     "NULL", "<NA>", "#N/A", "-NaN", "-nan", "n/a", "#NA", "1.#IND", "1.#QNAN", …);
//   * number: a decimal literal (optional sign, digits, '.', exponent; surrounding spaces
//     allowed) or inf / infinity (any case, optional sign). Hex, thousands separators and values
//     out of double range are not numbers;
//   * text: anything else.
//
// Memory: ReadColumns keeps, per selected column, one double per row (and the raw text when
// asked), not the whole file; RewriteCsv streams with bounded memory.
//
// Errors: those of CsvReader / CsvWriter (csv.h), plus ParameterError "non_numeric_value"
// (NonNumericError) naming file, line and column.
//
// Thread safety: plain functions and values; no shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/data/csv.h"

namespace veil::data {

enum class CellKind { kMissing, kNumber, kText };

// True for the empty cell and pandas' default NA strings (exact match, case-sensitive).
bool IsMissingCell(std::string_view cell);

// Classifies `cell`; for kNumber stores the value (possibly ±inf) in *value.
CellKind ParseCell(std::string_view cell, double* value);

// Shortest text that reads back as exactly `v` ("0.1", "2", "1e-05"); "nan", "inf", "-inf".
std::string FormatDouble(double v);

// Python's repr() of a float: "2.0", "0.1", "1e-05", "1e+16", "nan", "inf", "-inf".
std::string FormatPythonFloat(double v);

// One column of a file, as read by ReadColumns.
struct Column {
  std::string name;
  size_t file_index = 0;          // 0-based position in the file's header
  std::vector<double> values;     // one per row: the number, NaN where missing or text
  std::vector<std::string> text;  // one per row, the raw cell (only when keep_text)
  int64_t missing = 0;            // missing cells
  int64_t numbers = 0;            // cells that are numbers
  bool all_integral = true;       // every number is a finite integer value
  bool has_infinity = false;      // some number is ±inf
  int64_t first_text_line = 0;    // 1-based line of the first text cell; 0 = none
  std::string first_text;         // that cell

  bool numeric() const { return first_text_line == 0; }
  // Numeric with at least one number.
  bool has_numbers() const { return numeric() && numbers > 0; }
};

struct ColumnTable {
  std::string path;
  std::vector<std::string> header;
  int64_t rows = 0;
  std::vector<Column> columns;  // in the order asked for
};

// Reads the file's header and the columns `names` (which must exist: else ParameterError
// "unknown_column"). keep_text also keeps each column's raw cells.
StatusOr<ColumnTable> ReadColumns(const std::string& path, const std::vector<std::string>& names,
                                  bool keep_text);

// Reads only the header.
StatusOr<std::vector<std::string>> ReadHeader(const std::string& path);

// ParameterError "non_numeric_value": "<path> line L, column 'c': 'cell' is not a number".
Status NonNumericError(const std::string& path, const Column& column);

// Writes `output` (header `header`) from `input` row by row: fn(row, in, out) fills *out (resized
// to header.size() by the caller, values kept between rows) for data row `row` (0-based) of the
// input. The output appears atomically when everything succeeded.
using RowRewriter =
    std::function<Status(int64_t row, const RowBatch::Row& in, std::vector<std::string>* out)>;
Status RewriteCsv(const std::string& input, const std::string& output,
                  const std::vector<std::string>& header, const RowRewriter& fn);

}  // namespace veil::data
