// Test helpers for the plaintext data tasks: a temporary directory per test, CSV writing and
// reading, running every party of a task over the in-memory link (one thread per party), and
// reference values computed by numpy / pandas / scikit-learn through /usr/bin/python3.
//
// The Python reference is mandatory: a missing interpreter or module FAILS the test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/mpc/protocol.h"
#include "veil/tasks/task.h"
#include "veil/tasks/task_test_util.h"

namespace veil::tasks::testing {

// Relative tolerance of comparisons against the Python reference: |a - b| <= kRelTol·max(1, |b|).
inline constexpr double kRelTol = 1e-9;

class DataTaskTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes a CSV file (header + rows, cells written verbatim) and returns its path.
  std::string WriteCsv(const std::string& name, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows);
  std::string WriteText(const std::string& name, const std::string& text);

  // Writes the standard vertically split test table for `parties` (2 or 3 of alice, bob,
  // carol), `rows` rows, deterministic in `seed`:
  //   alice: id (text), a_float (normal, ~10% missing), a_int (0..9)
  //   bob:   b_float (wide uniform, ~15% missing), b_cat (x/y/z/missing), b_const (3.5)
  //   carol: c_float (normal, no missing), c_int (0..4), c_label (0/1)
  // Returns {party: input path}.
  nlohmann::json WriteDataset(const std::vector<std::string>& parties, size_t rows, uint64_t seed);
  // {party: output path} for a task writing to "out_<party>.csv".
  nlohmann::json Outputs(const std::vector<std::string>& parties);

  std::filesystem::path dir_;
};

inline const std::vector<std::string> kTwoParties = {"alice", "bob"};
inline const std::vector<std::string> kThreeParties = {"alice", "bob", "carol"};

// The SPU of a secure task's TEST_P suite: party count (2: alice, bob; 3: + carol), protocol and
// field.
struct SpuCase {
  size_t parties;
  std::string protocol;
  mpc::FieldType field;
};

inline std::string SpuCaseName(const ::testing::TestParamInfo<SpuCase>& info) {
  return info.param.protocol + "_" + std::to_string(info.param.parties) + "pc_" +
         std::string(mpc::FieldTypeName(info.param.field));
}

// A fixture `Base` parametrised by SpuCase.
template <typename Base>
class WithSpuCase : public Base, public ::testing::WithParamInterface<SpuCase> {
 protected:
  mpc::RuntimeConfig Spu() const {
    mpc::RuntimeConfig c;
    c.protocol = this->GetParam().protocol;
    c.field = this->GetParam().field;
    return c;
  }
  const std::vector<std::string>& Parties() const {
    return this->GetParam().parties == 2 ? kTwoParties : kThreeParties;
  }
};

// Runs validate only.
Status Validate(const TaskType& type, const nlohmann::json& cfg,
                const std::vector<std::string>& parties);

// Expects every party to succeed; returns the merged result (type.merge) or an empty object.
nlohmann::json ExpectAllOk(const TaskType& type, const nlohmann::json& cfg,
                           const std::vector<StatusOr<nlohmann::json>>& results,
                           const std::vector<std::string>& parties);

// Expects every party to fail with the same error type and code; returns the first status.
Status ExpectAllFail(const std::vector<StatusOr<nlohmann::json>>& results, ErrorType type,
                     const std::string& code);

// Reads a CSV written by a task: header and cells.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // The cells of column `name` (empty + failure if absent).
  std::vector<std::string> Column(const std::string& name) const;
};
Csv ReadCsv(const std::string& path);

// Runs `body` (Python defining `def compute(inp):` returning a JSON-able object; numpy, pandas
// and math are imported as np, pd, math; the body imports the sklearn modules it needs; use
// read_csv(path), pandas with exactly rounded float parsing) on `input` and returns its result.
// NaN / inf in the result become null. Fails the test on any error.
nlohmann::json PythonReference(const std::string& body, const nlohmann::json& input);

// Compares a number (or null) with the reference at kRelTol.
void ExpectNear(const nlohmann::json& actual, const nlohmann::json& expected,
                const std::string& what);
// Compares cells of an output column with reference numbers (null = empty cell).
void ExpectColumnNear(const std::vector<std::string>& cells, const nlohmann::json& expected,
                      const std::string& what);

}  // namespace veil::tasks::testing
