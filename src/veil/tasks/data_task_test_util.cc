#include "veil/tasks/data_task_test_util.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "veil/data/columns.h"
#include "veil/data/csv.h"
#include "veil/link/context.h"

namespace veil::tasks::testing {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPython[] = "/usr/bin/python3";

void DataTaskTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : name)
    if (c == '/') c = '_';
  dir_ = fs::temp_directory_path() / ("veil_data_task_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void DataTaskTest::TearDown() { fs::remove_all(dir_); }

std::string DataTaskTest::WriteCsv(const std::string& name, const std::vector<std::string>& header,
                                   const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  for (size_t i = 0; i < header.size(); ++i) text += (i ? "," : "") + header[i];
  text += "\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) text += (i ? "," : "") + row[i];
    text += "\n";
  }
  return WriteText(name, text);
}

std::string DataTaskTest::WriteText(const std::string& name, const std::string& text) {
  const std::string path = Path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

json DataTaskTest::WriteDataset(const std::vector<std::string>& parties, size_t rows,
                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(5.0, 3.0);
  std::uniform_real_distribution<double> uniform(-1000.0, 1000.0), unit(0.0, 1.0);
  auto num = [](double v) { return data::FormatDouble(v); };
  json files = json::object();
  for (const auto& p : parties) {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> table(rows);
    if (p == "alice") {
      header = {"id", "a_float", "a_int"};
      for (size_t r = 0; r < rows; ++r) {
        table[r] = {"u" + std::to_string(r), unit(rng) < 0.1 ? "" : num(normal(rng)),
                    std::to_string(rng() % 10)};
      }
    } else if (p == "bob") {
      header = {"b_float", "b_cat", "b_const"};
      const char* cats[] = {"x", "y", "z", "NA"};
      for (size_t r = 0; r < rows; ++r) {
        table[r] = {unit(rng) < 0.15 ? "NA" : num(uniform(rng)), cats[rng() % 4], "3.5"};
      }
    } else {
      header = {"c_float", "c_int", "c_label"};
      for (size_t r = 0; r < rows; ++r) {
        table[r] = {num(normal(rng) * 100), std::to_string(rng() % 5), std::to_string(rng() % 2)};
      }
    }
    files[p] = WriteCsv("in_" + p + ".csv", header, table);
  }
  return files;
}

json DataTaskTest::Outputs(const std::vector<std::string>& parties) {
  json out = json::object();
  for (const auto& p : parties) out[p] = Path("out_" + p + ".csv");
  return out;
}

Status Validate(const TaskType& type, const json& cfg, const std::vector<std::string>& parties) {
  TaskEnv env;
  env.parties = parties;
  Problems problems;
  type.validate(cfg, env, problems);
  return problems.ToStatus();
}

json ExpectAllOk(const TaskType& type, const json& cfg, const std::vector<StatusOr<json>>& results,
                 const std::vector<std::string>& parties) {
  std::map<std::string, json> by_party;
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results[i].ok()) << parties[i] << ": " << results[i].status().ToString();
    if (!results[i].ok()) return json::object();
    by_party[parties[i]] = *results[i];
  }
  return type.merge ? type.merge(by_party, cfg) : by_party.begin()->second;
}

Status ExpectAllFail(const std::vector<StatusOr<json>>& results, ErrorType type,
                     const std::string& code) {
  Status first;
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_FALSE(results[i].ok()) << "party " << i << " succeeded";
    if (results[i].ok()) continue;
    const Status& s = results[i].status();
    EXPECT_EQ(s.type(), type) << s.ToString();
    EXPECT_EQ(s.code(), code) << s.ToString();
    if (first.ok()) {
      first = s;
    } else {
      EXPECT_EQ(s.message(), first.message()) << "parties disagree on the error";
    }
  }
  return first;
}

std::vector<std::string> Csv::Column(const std::string& name) const {
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c] != name) continue;
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[c]);
    return out;
  }
  ADD_FAILURE() << "no column '" << name << "'";
  return {};
}

Csv ReadCsv(const std::string& path) {
  Csv csv;
  auto reader = data::CsvReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return csv;
  csv.header = (*reader)->header();
  data::RowBatch batch;
  while (true) {
    auto more = (*reader)->NextBatch(1024, &batch);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < batch.num_columns(); ++c) row.emplace_back(batch.field(r, c));
      csv.rows.push_back(std::move(row));
    }
  }
  return csv;
}

json PythonReference(const std::string& body, const json& input) {
  if (::access(kPython, X_OK) != 0) {
    ADD_FAILURE() << kPython << " is missing; the reference needs python3 with numpy, pandas "
                  << "and scikit-learn (Debian: python3-numpy python3-pandas python3-sklearn)";
    return json();
  }
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path();
  const std::string stem =
      (dir / ("veil_pyref_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
          .string();
  const std::string script = stem + ".py", in = stem + ".in.json", out = stem + ".out.json",
                    err = stem + ".err";
  std::ofstream(script) << R"PY(import json, math, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import pandas as pd

# Exactly rounded parsing (pandas' default float parser may be off by one ulp).
def read_csv(path):
    return pd.read_csv(path, float_precision="round_trip")

def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(o) else None
    if o is pd.NA or o is pd.NaT:
        return None
    return o

)PY" << body << R"PY(

with open(sys.argv[1]) as f:
    inp = json.load(f)
res = _clean(compute(inp))
with open(sys.argv[2], "w") as f:
    json.dump(res, f, allow_nan=False)
)PY";
  std::ofstream(in) << input.dump();
  const std::string cmd = std::string(kPython) + " " + script + " " + in + " " + out + " 2>" + err;
  const int rc = std::system(cmd.c_str());
  json result;
  if (rc != 0) {
    std::ifstream e(err);
    std::stringstream ss;
    ss << e.rdbuf();
    ADD_FAILURE() << "python reference failed (exit " << rc << "):\n" << ss.str();
  } else {
    std::ifstream o(out);
    result = json::parse(o, nullptr, false);
    if (result.is_discarded()) ADD_FAILURE() << "python reference wrote no JSON";
  }
  for (const auto& p : {script, in, out, err}) fs::remove(p);
  return result;
}

void ExpectNear(const json& actual, const json& expected, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(actual.is_null()) << what << ": expected null, got " << actual.dump();
    return;
  }
  ASSERT_TRUE(actual.is_number()) << what << ": expected " << expected.dump() << ", got "
                                  << actual.dump();
  const double a = actual.get<double>(), b = expected.get<double>();
  EXPECT_LE(std::fabs(a - b), kRelTol * std::max(1.0, std::fabs(b)))
      << what << ": " << a << " vs reference " << b;
}

void ExpectColumnNear(const std::vector<std::string>& cells, const json& expected,
                      const std::string& what) {
  ASSERT_TRUE(expected.is_array()) << what << ": reference " << expected.dump();
  ASSERT_EQ(cells.size(), expected.size()) << what;
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string w = what + " row " + std::to_string(i);
    if (expected[i].is_null()) {
      EXPECT_EQ(cells[i], "") << w;
    } else if (expected[i].is_string()) {
      EXPECT_EQ(cells[i], expected[i].get<std::string>()) << w;
    } else {
      ExpectNear(json(std::stod(cells[i])), expected[i], w);
    }
  }
}

}  // namespace veil::tasks::testing
