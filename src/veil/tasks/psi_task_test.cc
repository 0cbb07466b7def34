#include "veil/tasks/psi_task.h"

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "veil/data/csv.h"
#include "veil/psi/psi_test_util.h"
#include "veil/tasks/registry.h"
#include "veil/tasks/task_test_util.h"

namespace veil::tasks {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using psi::JoinType;
using psi::testutil::Keys;

class PsiTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil_psi_task_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes party p's input: key columns (named differently per party), a row id and a payload
  // with characters that need quoting.
  std::string WriteInput(const std::string& party, const Keys& keys, size_t ncols) {
    std::string path = (dir_ / (party + "_in.csv")).string();
    std::ofstream f(path);
    for (size_t c = 0; c < ncols; ++c) f << party << "_key" << c << ",";
    f << "row,note\n";
    for (size_t i = 0; i < keys.size(); ++i) {
      for (const auto& k : keys[i]) f << k << ",";
      f << i << ",\"say \"\"hi\"\", " << party << "\"\n";
    }
    return path;
  }

  json Config(const std::vector<std::string>& parties, const std::vector<Keys>& keys,
              size_t ncols) {
    json cfg = {{"task_type", "psi"}};
    if (!protocol_.empty()) cfg["protocol"] = protocol_;
    for (size_t p = 0; p < parties.size(); ++p) {
      json cols = json::array();
      for (size_t c = 0; c < ncols; ++c) cols.push_back(parties[p] + "_key" + std::to_string(c));
      cfg["keys"][parties[p]] = cols;
      cfg["input_paths"][parties[p]] = WriteInput(parties[p], keys[p], ncols);
      cfg["output_paths"][parties[p]] = (dir_ / "out" / (parties[p] + ".csv")).string();
    }
    return cfg;
  }

  std::vector<StatusOr<json>> Run(const json& cfg, const std::vector<std::string>& parties) {
    return testing::RunParties(PsiTaskType(), cfg, parties);
  }

  // Output rows as "p:row" tuples (aligned joins) or per-party "p:row" (difference).
  std::vector<std::vector<std::string>> ReadPlan(const json& cfg,
                                                 const std::vector<std::string>& parties,
                                                 JoinType type) {
    std::vector<std::vector<std::string>> cols(parties.size());
    for (size_t p = 0; p < parties.size(); ++p) {
      auto r = data::CsvReader::Open(cfg["output_paths"][parties[p]].get<std::string>());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return {};
      auto row_col = *(*r)->ColumnIndex("row");
      auto note_col = *(*r)->ColumnIndex("note");
      data::RowBatch b;
      while (*(*r)->NextBatch(100, &b)) {
        for (size_t i = 0; i < b.num_rows(); ++i) {
          std::string v(b.row(i)[row_col]);
          if (!v.empty()) {
            EXPECT_EQ(b.row(i)[note_col], "say \"hi\", " + parties[p]);
          }
          cols[p].push_back(std::to_string(p) + ":" + (v.empty() ? "-1" : v));
        }
      }
    }
    std::vector<std::vector<std::string>> out;
    if (type == JoinType::kDifference) {
      for (auto& c : cols)
        for (auto& v : c) out.push_back({v});
    } else {
      for (size_t p = 1; p < parties.size(); ++p)
        EXPECT_EQ(cols[p].size(), cols[0].size()) << "outputs not aligned";
      for (size_t k = 0; k < cols[0].size(); ++k) {
        std::vector<std::string> row;
        for (auto& c : cols) row.push_back(k < c.size() ? c[k] : "?");
        out.push_back(row);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  std::string protocol_;  // task_config.protocol; empty = the default (KKRT for two parties)
};

// The task-level behaviours, for the default protocol (KKRT_PSI_2PC with two parties), RR22 and
// ECDH.
class PsiProtocolTest : public PsiTaskTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    PsiTaskTest::SetUp();
    protocol_ = GetParam();
  }
};

INSTANTIATE_TEST_SUITE_P(Protocols, PsiProtocolTest,
                         ::testing::Values("", "PROTOCOL_RR22", "PROTOCOL_ECDH"),
                         [](const auto& info) {
                           return info.param.empty() ? std::string("Default") : info.param;
                         });

struct Case {
  std::string join;
  size_t parties;
  size_t receiver;
  size_t key_cols;
  std::string protocol = {};
};

// The plaintext-join suite, run for each protocol (KKRT, RR22: the two-party cases).
std::vector<Case> JoinCases(const std::string& protocol) {
  const std::vector<Case> all = {
      {"inner_join", 2, 0, 1}, {"inner_join", 2, 1, 2}, {"inner_join", 3, 0, 1},
      {"inner_join", 3, 2, 2}, {"left_join", 2, 0, 1},  {"left_join", 2, 1, 1},
      {"right_join", 2, 0, 2}, {"full_join", 2, 0, 1},  {"full_join", 2, 1, 1},
      {"difference", 2, 0, 1}, {"difference", 2, 1, 2}};
  const bool two_party = protocol == "KKRT_PSI_2PC" || protocol == "PROTOCOL_RR22";
  std::vector<Case> out;
  for (Case c : all) {
    if (two_party && c.parties != 2) continue;
    c.protocol = protocol;
    out.push_back(c);
  }
  return out;
}

class PsiJoinTest : public PsiTaskTest, public ::testing::WithParamInterface<Case> {};

TEST_P(PsiJoinTest, MatchesPlaintextJoinOnRandomData) {
  const Case c = GetParam();
  protocol_ = c.protocol;
  std::vector<std::string> parties = {"alice", "bob", "carol", "dave"};
  parties.resize(c.parties);
  std::mt19937_64 rng(c.parties * 31 + c.receiver + c.key_cols * 7 + c.join.size());
  std::vector<Keys> keys;
  for (size_t p = 0; p < c.parties; ++p)
    keys.push_back(psi::testutil::RandomKeys(rng, 150 + rng() % 100, 220, c.key_cols));
  json cfg = Config(parties, keys, c.key_cols);
  cfg["receiver"] = parties[c.receiver];
  cfg["broadcast_result"] = true;
  cfg["join_type"] = c.join;
  cfg["batch_size"] = 64;
  auto res = Run(cfg, parties);
  for (auto& r : res) ASSERT_TRUE(r.ok()) << r.status().ToString();
  const JoinType type = *psi::ParseJoinType(c.join);
  auto expected = psi::testutil::PlainJoinRows(type, c.receiver, c.receiver, keys);
  EXPECT_EQ(ReadPlan(cfg, parties, type), expected);
  const json& rr = *res[c.receiver];
  EXPECT_EQ(rr["reports"].size(), c.parties);
  EXPECT_EQ(rr["reports"][0]["original_count"], keys[0].size());
  if (type == JoinType::kInner) {
    EXPECT_EQ(rr["intersection_count"], expected.size());
  }
  for (auto& r : res) EXPECT_EQ((*r)["intersection_count"], rr["intersection_count"]);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.join + "_" + std::to_string(info.param.parties) + "p_r" +
         std::to_string(info.param.receiver) + "_k" + std::to_string(info.param.key_cols);
}
INSTANTIATE_TEST_SUITE_P(Ecdh, PsiJoinTest, ::testing::ValuesIn(JoinCases("PROTOCOL_ECDH")),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(Kkrt, PsiJoinTest, ::testing::ValuesIn(JoinCases("KKRT_PSI_2PC")),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(Rr22, PsiJoinTest, ::testing::ValuesIn(JoinCases("PROTOCOL_RR22")),
                         CaseName);

TEST_P(PsiProtocolTest, OnlyReceiverWritesWithoutBroadcast) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"1"}, {"2"}, {"3"}}, {{"3"}, {"2"}, {"9"}}};
  json cfg = Config(parties, keys, 1);
  cfg["receiver"] = "bob";
  auto res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok() && res[1].ok());
  EXPECT_FALSE(fs::exists(cfg["output_paths"]["alice"].get<std::string>()));
  EXPECT_TRUE(fs::exists(cfg["output_paths"]["bob"].get<std::string>()));
  EXPECT_EQ((*res[1])["intersection_count"], 2);
  EXPECT_EQ((*res[0])["intersection_count"], -1);  // alice learns nothing
  EXPECT_EQ(*data::CountRows(cfg["output_paths"]["bob"].get<std::string>()), 2);
}

TEST_P(PsiProtocolTest, NoReceiverMeansBroadcastToAll) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"1"}, {"2"}}, {{"2"}}};
  json cfg = Config(parties, keys, 1);
  auto res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok() && res[1].ok());
  EXPECT_EQ((*res[0])["receiver"], "alice");
  EXPECT_EQ((*res[0])["psi_protocol"], GetParam().empty() ? "KKRT_PSI_2PC" : GetParam());
  EXPECT_EQ((*res[1])["intersection_count"], 1);
  EXPECT_TRUE(fs::exists(cfg["output_paths"]["bob"].get<std::string>()));
}

TEST_P(PsiProtocolTest, SortOrdersByKeyAndKeepsAlignment) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"c"}, {"aa"}, {"b"}, {"z"}}, {{"b"}, {"z"}, {"c"}, {"aa"}}};
  json cfg = Config(parties, keys, 1);
  cfg["sort"] = true;
  auto res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok() && res[1].ok());
  for (const auto& p : parties) {
    auto r = *data::CsvReader::Open(cfg["output_paths"][p].get<std::string>());
    data::RowBatch b;
    ASSERT_TRUE(*r->NextBatch(10, &b));
    std::vector<std::string> got;
    for (size_t i = 0; i < b.num_rows(); ++i) got.emplace_back(b.row(i)[0]);
    EXPECT_EQ(got, (std::vector<std::string>{"aa", "b", "c", "z"})) << p;
  }
}

// Each output row's key columns; nullopt for an empty row.
std::vector<std::optional<std::vector<std::string>>> ReadOutputKeys(const std::string& path,
                                                                    size_t ncols) {
  std::vector<std::optional<std::vector<std::string>>> out;
  auto r = data::CsvReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  data::RowBatch b;
  while (*(*r)->NextBatch(100, &b)) {
    for (size_t i = 0; i < b.num_rows(); ++i) {
      std::vector<std::string> key;
      for (size_t c = 0; c < ncols; ++c) key.emplace_back(b.row(i)[c]);
      if (key[0].empty()) {
        out.emplace_back();
      } else {
        out.emplace_back(std::move(key));
      }
    }
  }
  return out;
}

// Sorting with many small protocol batches and duplicate keys: the receiver's rows come out in
// key order (its sort keys are matched to its rows while the protocol streams them), the
// trailing block of the other party is in that party's key order, and outputs stay aligned.
TEST_P(PsiProtocolTest, SortOrdersEveryBlockAcrossBatches) {
  std::vector<std::string> parties = {"alice", "bob"};
  const size_t receiver = 1, ncols = 2;
  for (const std::string join : {"inner_join", "right_join", "full_join", "difference"}) {
    std::mt19937_64 rng(join.size());
    std::vector<Keys> keys = {psi::testutil::RandomKeys(rng, 120, 90, ncols),
                              psi::testutil::RandomKeys(rng, 130, 90, ncols)};
    json cfg = Config(parties, keys, ncols);
    cfg["receiver"] = parties[receiver];
    cfg["broadcast_result"] = true;
    cfg["sort"] = true;
    cfg["join_type"] = join;
    cfg["batch_size"] = 8;
    auto res = Run(cfg, parties);
    for (auto& r : res) ASSERT_TRUE(r.ok()) << join << ": " << r.status().ToString();
    const JoinType type = *psi::ParseJoinType(join);
    EXPECT_EQ(ReadPlan(cfg, parties, type),
              psi::testutil::PlainJoinRows(type, receiver, receiver, keys))
        << join;

    auto mine = ReadOutputKeys(cfg["output_paths"]["bob"].get<std::string>(), ncols);
    auto other = ReadOutputKeys(cfg["output_paths"]["alice"].get<std::string>(), ncols);
    // The receiver's rows, in key order, then (outer joins) its empty rows of the trailing block.
    size_t tail_from = 0;
    while (tail_from < mine.size() && mine[tail_from]) ++tail_from;
    for (size_t k = tail_from; k < mine.size(); ++k) EXPECT_FALSE(mine[k]) << join << " row " << k;
    for (size_t k = 1; k < tail_from; ++k)
      EXPECT_LE(*mine[k - 1], *mine[k]) << join << " row " << k;
    EXPECT_GT(tail_from, 0u) << join;
    if (type == JoinType::kDifference) {
      // Not aligned: alice's output is her unmatched rows, all in the trailing block.
      tail_from = 0;
    } else {
      ASSERT_EQ(other.size(), mine.size()) << join;
      for (size_t k = 0; k < tail_from; ++k) {
        if (other[k]) {
          EXPECT_EQ(*other[k], *mine[k]) << join << " row " << k;
        }
      }
    }
    // The trailing block: the other party's rows only, in its own key order.
    for (size_t k = tail_from; k < other.size(); ++k) {
      ASSERT_TRUE(other[k]) << join << " row " << k;
      if (k > tail_from) {
        EXPECT_LE(*other[k - 1], *other[k]) << join << " row " << k;
      }
    }
    if (type != JoinType::kInner) {
      EXPECT_GT(other.size(), tail_from) << join;
    }
  }
}

TEST_P(PsiProtocolTest, EmptyIntersectionAndEmptyInput) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"1"}}, {}};
  json cfg = Config(parties, keys, 1);
  auto res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  EXPECT_EQ((*res[0])["intersection_count"], 0);
  EXPECT_EQ(*data::CountRows(cfg["output_paths"]["alice"].get<std::string>()), 0);
  EXPECT_EQ(*data::CountRows(cfg["output_paths"]["bob"].get<std::string>()), 0);

  cfg["allow_empty_result"] = false;
  res = Run(cfg, parties);
  EXPECT_EQ(res[0].status().code(), "empty_result");
  EXPECT_EQ(res[1].status().code(), "empty_result");
}

TEST_P(PsiProtocolTest, DuplicateKeysAreACartesianProductOrAnError) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"k"}, {"x"}, {"k"}}, {{"k"}, {"y"}}};
  json cfg = Config(parties, keys, 1);
  auto res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok());
  EXPECT_EQ((*res[0])["intersection_count"], 2);
  keys[1] = {{"k"}, {"k"}, {"k"}};
  cfg = Config(parties, keys, 1);
  res = Run(cfg, parties);
  ASSERT_TRUE(res[0].ok());
  EXPECT_EQ((*res[0])["intersection_count"], 6);
  keys[1] = {{"k"}, {"y"}};
  cfg = Config(parties, keys, 1);
  cfg["allow_duplicated_keys"] = false;
  res = Run(cfg, parties);
  // Both parties fail with the same cause, naming the party, file and line.
  for (auto& r : res) {
    EXPECT_EQ(r.status().code(), "duplicate_keys");
    EXPECT_EQ(r.status().type(), ErrorType::kParameterValidation);
  }
  EXPECT_NE(res[1].status().message().find("alice"), std::string::npos);
  EXPECT_NE(res[0].status().message().find("line 4"), std::string::npos);
}

TEST_P(PsiProtocolTest, UnknownKeyColumnFailsAllParties) {
  std::vector<std::string> parties = {"alice", "bob"};
  std::vector<Keys> keys = {{{"1"}}, {{"1"}}};
  json cfg = Config(parties, keys, 1);
  cfg["keys"]["bob"] = {"no_such_column"};
  auto res = Run(cfg, parties);
  EXPECT_EQ(res[1].status().code(), "unknown_column");
  EXPECT_EQ(res[0].status().code(), "unknown_column");
  EXPECT_NE(res[0].status().message().find("no_such_column"), std::string::npos);
}

// One case per validation rule of the psi task: exact code and field path.
struct Bad {
  std::string name;
  std::function<void(json&)> mutate;
  std::string path;
  std::string code;
};

TEST_F(PsiTaskTest, EveryValidationRule) {
  std::vector<std::string> parties = {"alice", "bob"};
  const json base = {{"task_type", "psi"},
                     {"keys", {{"alice", {"id"}}, {"bob", {"uid"}}}},
                     {"input_paths", {{"alice", "/d/a.csv"}, {"bob", "/d/b.csv"}}},
                     {"output_paths", {{"alice", "/d/a_out.csv"}, {"bob", "/d/b_out.csv"}}}};
  std::vector<Bad> cases = {
      {"missing keys", [](json& c) { c.erase("keys"); }, "task_config.keys", "missing_field"},
      {"keys not dict", [](json& c) { c["keys"] = "id"; }, "task_config.keys", "wrong_type"},
      {"empty key list", [](json& c) { c["keys"]["bob"] = json::array(); }, "task_config.keys.bob",
       "empty_value"},
      {"key not string", [](json& c) { c["keys"]["bob"] = {1}; }, "task_config.keys.bob[0]",
       "wrong_type"},
      {"duplicate key col",
       [](json& c) {
         c["keys"]["bob"] = {"a", "a"};
         c["keys"]["alice"] = {"x", "y"};
       },
       "task_config.keys.bob[1]", "invalid_value"},
      {"party missing in keys", [](json& c) { c["keys"].erase("bob"); }, "task_config.keys",
       "party_mismatch"},
      {"unknown party", [](json& c) { c["keys"]["eve"] = {"id"}; }, "task_config.keys.eve",
       "unknown_party"},
      {"arity",
       [](json& c) {
         c["keys"]["bob"] = {"a", "b"};
       },
       "task_config.keys.bob", "key_arity_mismatch"},
      {"missing input", [](json& c) { c.erase("input_paths"); }, "task_config.input_paths",
       "missing_field"},
      {"empty path", [](json& c) { c["input_paths"]["bob"] = ""; }, "task_config.input_paths.bob",
       "empty_value"},
      {"input party missing", [](json& c) { c["input_paths"].erase("alice"); },
       "task_config.input_paths", "party_mismatch"},
      {"missing output", [](json& c) { c.erase("output_paths"); }, "task_config.output_paths",
       "missing_field"},
      {"output = input", [](json& c) { c["output_paths"]["bob"] = "/d/b.csv"; },
       "task_config.output_paths.bob", "output_overwrites_input"},
      {"receiver unknown", [](json& c) { c["receiver"] = "eve"; }, "task_config.receiver",
       "unknown_party"},
      {"receiver type", [](json& c) { c["receiver"] = 1; }, "task_config.receiver", "wrong_type"},
      {"rr22 malicious", [](json& c) { c["protocol"] = "RR22_MALICIOUS_PSI_2PC"; },
       "task_config.protocol", "protocol_not_supported"},
      {"rr22 low-comm", [](json& c) { c["protocol"] = "RR22_LOWCOMM_PSI_2PC"; },
       "task_config.protocol", "protocol_not_supported"},
      {"bc22", [](json& c) { c["protocol"] = "BC22_PSI_2PC"; }, "task_config.protocol",
       "protocol_not_supported"},
      {"bad protocol", [](json& c) { c["protocol"] = "FOO"; }, "task_config.protocol",
       "invalid_value"},
      {"3pc with 2", [](json& c) { c["protocol"] = "ECDH_PSI_3PC"; }, "task_config.protocol",
       "party_count_mismatch"},
      {"bad join", [](json& c) { c["join_type"] = "cross_join"; }, "task_config.join_type",
       "invalid_value"},
      {"left_side unknown", [](json& c) { c["left_side"] = "eve"; }, "task_config.left_side",
       "unknown_party"},
      {"broadcast type", [](json& c) { c["broadcast_result"] = "yes"; },
       "task_config.broadcast_result", "wrong_type"},
      {"sort type", [](json& c) { c["sort"] = 1; }, "task_config.sort", "wrong_type"},
      {"dup type", [](json& c) { c["allow_duplicated_keys"] = "no"; },
       "task_config.allow_duplicated_keys", "wrong_type"},
      {"batch range", [](json& c) { c["batch_size"] = 0; }, "task_config.batch_size",
       "out_of_range"},
      {"unknown field", [](json& c) { c["receiver_party"] = "bob"; }, "task_config.receiver_party",
       "unknown_field"},
  };
  const TaskType type = PsiTaskType();
  TaskEnv env;
  env.parties = parties;
  for (const char* protocol : {"", "KKRT_PSI_2PC", "PROTOCOL_KKRT", "PROTOCOL_RR22",
                               "RR22_FAST_PSI_2PC", "ECDH_PSI_2PC"}) {
    json cfg = base;
    if (*protocol) cfg["protocol"] = protocol;
    Problems ok;
    type.validate(cfg, env, ok);
    EXPECT_TRUE(ok.empty()) << protocol << ": " << ok.ToStatus().ToString();
  }
  for (const auto& c : cases) {
    json cfg = base;
    c.mutate(cfg);
    Problems p;
    type.validate(cfg, env, p);
    EXPECT_TRUE(p.Has(c.path, c.code)) << c.name << ": " << p.ToStatus().ToString();
  }
  // Outer joins and 3PC are checked against the party count.
  TaskEnv three;
  three.parties = {"alice", "bob", "carol"};
  json cfg3 = base;
  cfg3["keys"]["carol"] = {"id"};
  cfg3["input_paths"]["carol"] = "/d/c.csv";
  cfg3["output_paths"]["carol"] = "/d/c_out.csv";
  cfg3["join_type"] = "left_join";
  cfg3["protocol"] = "ECDH_PSI_2PC";
  Problems p3;
  type.validate(cfg3, three, p3);
  EXPECT_TRUE(p3.Has("task_config.join_type", "party_count_mismatch"));
  EXPECT_TRUE(p3.Has("task_config.protocol", "party_count_mismatch"));
  // KKRT and RR22 are two-party only; without a protocol three parties get ECDH.
  for (const char* protocol :
       {"KKRT_PSI_2PC", "PROTOCOL_KKRT", "PROTOCOL_RR22", "RR22_FAST_PSI_2PC"}) {
    cfg3["join_type"] = "inner_join";
    cfg3["protocol"] = protocol;
    Problems pk;
    type.validate(cfg3, three, pk);
    EXPECT_TRUE(pk.Has("task_config.protocol", "party_count_mismatch")) << protocol;
  }
  cfg3.erase("protocol");
  Problems pd;
  type.validate(cfg3, three, pd);
  EXPECT_TRUE(pd.empty()) << pd.ToStatus().ToString();
  // Several problems are all reported.
  json many = base;
  many.erase("keys");
  many["protocol"] = "FOO";
  many["x"] = 1;
  Problems pm;
  type.validate(many, env, pm);
  EXPECT_EQ(pm.size(), 3u);
}

TEST(RegistryTest, HasPsiAndRejectsDuplicates) {
  EXPECT_NE(BuiltinRegistry().Find("psi"), nullptr);
  EXPECT_EQ(BuiltinRegistry().Find("nope"), nullptr);
  TaskRegistry r;
  EXPECT_TRUE(r.Register(PsiTaskType()).ok());
  EXPECT_EQ(r.Register(PsiTaskType()).code(), "duplicate_task_type");
}

}  // namespace
}  // namespace veil::tasks
