// ss_xgb and ss_xgb_predict on scikit-learn's breast cancer data split vertically over 2 and 3
// parties (SEMI2K, ABY3; FM64 and FM128): AUC against python3-xgboost with the same parameters,
// predictions against the model reconstructed from every party's files, reveal only to the
// receiver, and the loading errors.
#include "veil/tasks/ss_xgb_task.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "veil/mpc/ring.h"
#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/ss_xgb_predict_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr int64_t kTrainRows = 400;
constexpr double kAucTolerance = 0.01;
// |probability − reconstructed-model probability|: weights carry ~2e-4 relative error and the
// sr sigmoid 1e-4.
constexpr double kPredictTol = 3e-3;

// The data set, shuffled with a fixed seed: {"x": rows × 30, "y": labels}.
constexpr char kDataScript[] = R"PY(
def compute(inp):
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    rng = np.random.RandomState(7)
    order = rng.permutation(len(d.target))
    return {"x": d.data[order].tolist(), "y": d.target[order].astype(int).tolist()}
)PY";

// xgboost with the same parameters on the training rows; AUC of its and of veil's test
// predictions.
constexpr char kXgbScript[] = R"PY(
def compute(inp):
    import xgboost
    from sklearn.metrics import roc_auc_score
    x = np.array(inp["x"]); y = np.array(inp["y"]); n = inp["train_rows"]; p = inp["params"]
    model = xgboost.XGBClassifier(n_estimators=p["num_boost_round"], max_depth=p["max_depth"],
                                  learning_rate=p["learning_rate"], reg_lambda=p["reg_lambda"],
                                  base_score=0.5, tree_method="exact", min_child_weight=0,
                                  gamma=0, n_jobs=1, random_state=0)
    model.fit(x[:n], y[:n])
    xgb = model.predict_proba(x[n:])[:, 1]
    return {"xgb_auc": float(roc_auc_score(y[n:], xgb)),
            "veil_auc": float(roc_auc_score(y[n:], np.array(inp["veil"])))}
)PY";

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The first share component of every tensor of a share file (format: docs/MODELS.md), as
// integers mod 2^k; `bytes` = k/8.
std::vector<mpc::uint128_t> FirstComponent(const std::string& path, size_t bytes) {
  const std::string data = ReadAll(path);
  uint32_t len = 0;
  std::memcpy(&len, data.data() + 8, 4);
  const json header = json::parse(data.substr(12, len));
  size_t at = 12 + len;
  std::vector<mpc::uint128_t> out;
  const json& t = header["tensors"][0];
  int64_t numel = 1;
  for (const auto& d : t["shape"]) numel *= d.get<int64_t>();
  for (int64_t i = 0; i < numel; ++i) {
    mpc::uint128_t v = 0;
    for (size_t b = 0; b < bytes; ++b) {
      v |= static_cast<mpc::uint128_t>(static_cast<uint8_t>(data[at + b])) << (8 * b);
    }
    at += bytes;
    out.push_back(v);
  }
  return out;
}

using testing::SpuCase;
using testing::SpuCaseName;

class SsXgbTest : public DataTaskTest {
 protected:
  void SetUp() override {
    DataTaskTest::SetUp();
    static const json data = testing::PythonReference(kDataScript, json::object());
    data_ = data;
  }

  // Feature f of party p (features are dealt round-robin); the label "y" at the last party.
  json WriteSplit(const std::vector<std::string>& parties, int64_t lo, int64_t hi,
                  const std::string& prefix) {
    const size_t k = parties.size();
    json files;
    for (size_t p = 0; p < k; ++p) {
      std::vector<std::string> header;
      for (size_t f = p; f < 30; f += k) header.push_back(fmt::format("f{:02}", f));
      if (p + 1 == k) header.push_back("y");
      std::vector<std::vector<std::string>> rows;
      for (int64_t r = lo; r < hi; ++r) {
        std::vector<std::string> row;
        for (size_t f = p; f < 30; f += k) row.push_back(Num(data_["x"][r][f].get<double>()));
        if (p + 1 == k) row.push_back(std::to_string(data_["y"][r].get<int>()));
        rows.push_back(row);
      }
      files[parties[p]] = WriteCsv(prefix + "_" + parties[p] + ".csv", header, rows);
    }
    return files;
  }

  static std::vector<std::string> AllFeatures() {
    std::vector<std::string> out;
    for (int f = 0; f < 30; ++f) out.push_back(fmt::format("f{:02}", f));
    return out;
  }

  json TrainConfig(const std::vector<std::string>& parties, const json& params) {
    json model;
    for (const auto& p : parties) model[p] = Path("model/" + p);
    return {{"train_data", WriteSplit(parties, 0, kTrainRows, "train")},
            {"features", AllFeatures()},
            {"label", "y"},
            {"label_party", parties.back()},
            {"model_output", model},
            {"params", params}};
  }

  json PredictConfig(const std::vector<std::string>& parties, const json& train_cfg) {
    json out;
    for (const auto& p : parties) out[p] = Path("pred_" + p + ".csv");
    const int64_t rows = static_cast<int64_t>(data_["y"].size());
    return {{"model_path", train_cfg["model_output"]},
            {"predict_data", WriteSplit(parties, kTrainRows, rows, "test")},
            {"output_path", out}};
  }

  // The probabilities of the model rebuilt from every party's tree and share files, for the
  // test rows (the sr sigmoid of base + Σ leaf weights).
  std::vector<double> Reconstructed(const std::vector<std::string>& parties, const json& train_cfg,
                                    mpc::FieldType field) {
    const size_t bytes = field == mpc::FieldType::kFM64 ? 8 : 16;
    const int fxp = mpc::DefaultFxpFractionBits(field);
    const json meta = json::parse(
        ReadAll(train_cfg["model_output"][parties[0]].get<std::string>() + ".meta.json"));
    const int64_t trees = meta["num_trees"].get<int64_t>();
    const int64_t depth = meta["max_depth"].get<int64_t>();
    const int64_t n = static_cast<int64_t>(data_["y"].size());
    std::vector<double> margin(n - kTrainRows, meta["base_score"].get<double>());
    for (int64_t t = 0; t < trees; ++t) {
      std::vector<mpc::uint128_t> w;
      std::vector<json> views;
      for (const auto& p : parties) {
        const std::string base = train_cfg["model_output"][p].get<std::string>();
        const auto part = FirstComponent(ss_xgb::WeightPath(base, t), bytes);
        if (w.empty()) w.assign(part.size(), 0);
        for (size_t i = 0; i < part.size(); ++i) w[i] += part[i];
        views.push_back(json::parse(ReadAll(ss_xgb::TreePath(base, t)))["nodes"]);
      }
      for (int64_t r = kTrainRows; r < n; ++r) {
        int64_t node = 0;
        for (int64_t d = 0; d < depth; ++d) {
          const int64_t owner = views[0][node]["owner"].get<int64_t>();
          const json& split = views[owner][node];
          const int f = std::stoi(split["feature"].get<std::string>().substr(1));
          const bool left = split["threshold"].is_null() ||
                            data_["x"][r][f].get<double>() <= split["threshold"].get<double>();
          node = 2 * node + (left ? 1 : 2);
        }
        const int64_t leaf = node - ((int64_t{1} << depth) - 1);
        double v;
        if (bytes == 8) {
          v = static_cast<double>(static_cast<int64_t>(static_cast<uint64_t>(w[leaf])));
        } else {
          v = static_cast<double>(static_cast<mpc::int128_t>(w[leaf]));
        }
        margin[r - kTrainRows] += std::ldexp(v, -fxp);
      }
    }
    std::vector<double> prob;
    for (double m : margin) prob.push_back(0.5 * m / std::sqrt(1 + m * m) + 0.5);
    return prob;
  }

  std::vector<double> ReadProbabilities(const std::string& path) {
    std::vector<double> out;
    const testing::Csv csv = testing::ReadCsv(path);
    EXPECT_EQ(csv.header, (std::vector<std::string>{"probability", "prediction"}));
    for (const auto& row : csv.rows) {
      out.push_back(std::stod(row[0]));
      EXPECT_EQ(row[1], out.back() >= 0.5 ? "1" : "0");
    }
    return out;
  }

  json data_;
};

class SsXgbConformanceTest : public testing::WithSpuCase<SsXgbTest> {};

TEST_P(SsXgbConformanceTest, AucMatchesXgboostAndPredictMatchesTheStoredModel) {
  const auto& parties = Parties();
  const json params = {{"num_boost_round", 6},
                       {"max_depth", 3},
                       {"learning_rate", 0.3},
                       {"reg_lambda", 1.0},
                       {"sketch_eps", 0.1}};
  const json train = TrainConfig(parties, params);
  ASSERT_TRUE(testing::Validate(SsXgbTaskType(), train, parties).ok());
  auto trained = testing::RunParties(SsXgbTaskType(), train, parties, Spu());
  for (const auto& r : trained) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["num_trees"], 6);
    EXPECT_EQ((*r)["secure_mode"], true);
    EXPECT_EQ((*r)["training_params"]["max_depth"], 3);
    EXPECT_EQ((*r)["training_params"]["objective"], "logistic");
  }
  // Each party wrote only its own files, and nothing at the model path itself.
  for (const auto& p : parties) {
    const std::string base = train["model_output"][p].get<std::string>();
    EXPECT_FALSE(std::filesystem::exists(base));
    EXPECT_TRUE(std::filesystem::exists(ss_xgb::MetaPath(base)));
    EXPECT_TRUE(std::filesystem::exists(ss_xgb::WeightPath(base, 5)));
    EXPECT_TRUE(std::filesystem::exists(ss_xgb::TreePath(base, 5)));
    // A party's tree names only its own features.
    const json tree = json::parse(ReadAll(ss_xgb::TreePath(base, 0)));
    for (const auto& node : tree["nodes"]) {
      if (node["owner"] == tree["rank"]) {
        ASSERT_TRUE(node.contains("feature"));
      } else {
        EXPECT_FALSE(node.contains("feature"));
        EXPECT_FALSE(node.contains("threshold"));
      }
    }
  }

  const json predict = PredictConfig(parties, train);
  ASSERT_TRUE(testing::Validate(SsXgbPredictTaskType(), predict, parties).ok());
  auto predicted = testing::RunParties(SsXgbPredictTaskType(), predict, parties, Spu());
  const std::string receiver = parties.back();
  for (const auto& r : predicted) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["receiver_party"], receiver);
    EXPECT_EQ((*r)["num_predictions"], data_["y"].size() - kTrainRows);
    EXPECT_EQ((*r)["secure_mode"], true);
    EXPECT_FALSE(r->contains("probability"));
    EXPECT_FALSE(r->contains("predictions"));
  }
  // Only the receiver learns (and writes) the predictions.
  for (const auto& p : parties) {
    EXPECT_EQ(std::filesystem::exists(Path("pred_" + p + ".csv")), p == receiver) << p;
  }
  const std::vector<double> prob = ReadProbabilities(Path("pred_" + receiver + ".csv"));
  ASSERT_EQ(prob.size(), data_["y"].size() - kTrainRows);

  const std::vector<double> expected = Reconstructed(parties, train, GetParam().field);
  for (size_t i = 0; i < prob.size(); ++i) {
    ASSERT_NEAR(prob[i], expected[i], kPredictTol) << "row " << i;
  }

  // A second prediction run (new SPU, new randomness) loads the same model.
  std::filesystem::remove(Path("pred_" + receiver + ".csv"));
  auto again = testing::RunParties(SsXgbPredictTaskType(), predict, parties, Spu());
  ASSERT_TRUE(again[0].ok()) << again[0].status().ToString();
  const std::vector<double> prob2 = ReadProbabilities(Path("pred_" + receiver + ".csv"));
  ASSERT_EQ(prob2.size(), prob.size());
  for (size_t i = 0; i < prob.size(); ++i) EXPECT_NEAR(prob2[i], prob[i], 1e-4);

  const json auc = testing::PythonReference(kXgbScript, {{"x", data_["x"]},
                                                         {"y", data_["y"]},
                                                         {"train_rows", kTrainRows},
                                                         {"params", params},
                                                         {"veil", prob}});
  RecordProperty("veil_auc", auc["veil_auc"].dump());
  RecordProperty("xgb_auc", auc["xgb_auc"].dump());
  std::printf("AUC veil %.4f xgboost %.4f\n", auc["veil_auc"].get<double>(),
              auc["xgb_auc"].get<double>());
  EXPECT_GT(auc["xgb_auc"].get<double>(), 0.9);  // the reference itself is sane
  EXPECT_NEAR(auc["veil_auc"].get<double>(), auc["xgb_auc"].get<double>(), kAucTolerance);
}

// Three parties run on FM128, as docs/COMPATIBILITY.md prescribes: their truncation is
// probabilistic, and with FM64 the SEMI2K 3-party case failed once in about 35 runs (a
// truncation wrap among the many gain/weight truncations; seen in a clean-clone CI run).
INSTANTIATE_TEST_SUITE_P(Spu, SsXgbConformanceTest,
                         ::testing::Values(SpuCase{2, "SEMI2K", mpc::FieldType::kFM64},
                                           SpuCase{2, "SEMI2K", mpc::FieldType::kFM128},
                                           SpuCase{3, "SEMI2K", mpc::FieldType::kFM128},
                                           SpuCase{3, "ABY3", mpc::FieldType::kFM128}),
                         SpuCaseName);

TEST_F(SsXgbTest, SubsamplingAndReceiverChoice) {
  const auto& parties = testing::kTwoParties;
  const json params = {
      {"num_boost_round", 4}, {"max_depth", 2},    {"subsample", 0.8}, {"colsample_by_tree", 0.5},
      {"sketch_eps", 0.2},    {"base_score", 0.5}, {"seed", 3}};
  const json train = TrainConfig(parties, params);
  auto trained = testing::RunParties(SsXgbTaskType(), train, parties);
  ASSERT_TRUE(trained[0].ok()) << trained[0].status().ToString();
  json predict = PredictConfig(parties, train);
  predict["receiver_party"] = "alice";
  auto predicted = testing::RunParties(SsXgbPredictTaskType(), predict, parties);
  ASSERT_TRUE(predicted[0].ok()) << predicted[0].status().ToString();
  EXPECT_EQ((*predicted[1])["receiver_party"], "alice");
  EXPECT_TRUE(std::filesystem::exists(Path("pred_alice.csv")));
  EXPECT_FALSE(std::filesystem::exists(Path("pred_bob.csv")));
  const std::vector<double> prob = ReadProbabilities(Path("pred_alice.csv"));
  const std::vector<double> expected = Reconstructed(parties, train, mpc::FieldType::kFM64);
  ASSERT_EQ(prob.size(), expected.size());
  for (size_t i = 0; i < prob.size(); ++i) ASSERT_NEAR(prob[i], expected[i], kPredictTol);
}

TEST_F(SsXgbTest, LinearObjectiveFitsTheLabel) {
  const auto& parties = testing::kTwoParties;
  const json params = {{"num_boost_round", 10}, {"max_depth", 3}, {"objective", "linear"}};
  const json train = TrainConfig(parties, params);
  auto trained = testing::RunParties(SsXgbTaskType(), train, parties);
  ASSERT_TRUE(trained[0].ok()) << trained[0].status().ToString();
  const json meta =
      json::parse(ReadAll(train["model_output"]["alice"].get<std::string>() + ".meta.json"));
  EXPECT_EQ(meta["objective"], "linear");
  auto predicted =
      testing::RunParties(SsXgbPredictTaskType(), PredictConfig(parties, train), parties);
  ASSERT_TRUE(predicted[0].ok()) << predicted[0].status().ToString();
  const testing::Csv csv = testing::ReadCsv(Path("pred_bob.csv"));
  // The raw score regresses the 0/1 label: its squared error is far below the label variance.
  double se = 0, mean = 0;
  const int64_t n = static_cast<int64_t>(csv.rows.size());
  for (int64_t i = 0; i < n; ++i) mean += data_["y"][kTrainRows + i].get<double>() / n;
  double var = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double y = data_["y"][kTrainRows + i].get<double>();
    se += std::pow(std::stod(csv.rows[i][0]) - y, 2) / n;
    var += std::pow(y - mean, 2) / n;
  }
  EXPECT_LT(se, 0.3 * var);
}

class SsXgbErrorTest : public SsXgbTest {
 protected:
  void SetUp() override {
    SsXgbTest::SetUp();
    train_ = TrainConfig(testing::kTwoParties, {{"num_boost_round", 2}, {"max_depth", 2}});
    auto trained = testing::RunParties(SsXgbTaskType(), train_, testing::kTwoParties);
    ASSERT_TRUE(trained[0].ok()) << trained[0].status().ToString();
    predict_ = PredictConfig(testing::kTwoParties, train_);
  }
  std::string Base(const std::string& p) { return train_["model_output"][p].get<std::string>(); }
  Status PredictFails(const std::string& code, ErrorType type = ErrorType::kParameterValidation) {
    auto r = testing::RunParties(SsXgbPredictTaskType(), predict_, testing::kTwoParties);
    return testing::ExpectAllFail(r, type, code);
  }
  json train_, predict_;
};

TEST_F(SsXgbErrorTest, MissingShareFile) {
  std::filesystem::remove(ss_xgb::WeightPath(Base("bob"), 1));
  const Status s = PredictFails("model_file_missing");
  EXPECT_NE(s.message().find("weight_1.share"), std::string::npos) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(Path("pred_bob.csv")));
}

TEST_F(SsXgbErrorTest, CorruptShareFile) {
  const std::string path = ss_xgb::WeightPath(Base("alice"), 0);
  std::string data = ReadAll(path);
  data[data.size() / 2] ^= 0x5a;
  std::ofstream(path, std::ios::binary) << data;
  (void)PredictFails("model_file_corrupt");
}

TEST_F(SsXgbErrorTest, CorruptTreeFile) {
  const std::string path = ss_xgb::TreePath(Base("bob"), 0);
  std::string data = ReadAll(path);
  data.insert(data.size() / 2, " ");
  std::ofstream(path, std::ios::binary) << data;
  (void)PredictFails("model_file_corrupt");
}

TEST_F(SsXgbErrorTest, MissingMeta) {
  std::filesystem::remove(ss_xgb::MetaPath(Base("alice")));
  (void)PredictFails("model_file_missing");
}

TEST_F(SsXgbErrorTest, ModelOfAnotherType) {
  // An ss_lr model's meta where the ss_xgb model should be.
  json meta = json::parse(ReadAll(ss_xgb::MetaPath(Base("alice"))));
  meta["model_type"] = "ss_sgd_secure";
  std::ofstream(ss_xgb::MetaPath(Base("alice"))) << meta.dump(2);
  const Status s = PredictFails("model_type_mismatch");
  EXPECT_NE(s.message().find("ss_sgd_secure"), std::string::npos) << s.ToString();
}

TEST_F(SsXgbErrorTest, FilesOfTwoTrainings) {
  // Retrain into another directory and give bob's new model with alice's old one.
  json other = train_;
  other["model_output"] = {{"alice", Path("m2/alice")}, {"bob", Path("m2/bob")}};
  ASSERT_TRUE(testing::RunParties(SsXgbTaskType(), other, testing::kTwoParties)[0].ok());
  predict_["model_path"]["bob"] = Path("m2/bob");
  (void)PredictFails("model_mismatch");
}

TEST_F(SsXgbErrorTest, SpuOtherThanTraining) {
  mpc::RuntimeConfig fm128;
  fm128.field = mpc::FieldType::kFM128;
  auto r = testing::RunParties(SsXgbPredictTaskType(), predict_, testing::kTwoParties, fm128);
  (void)testing::ExpectAllFail(r, ErrorType::kDeviceConfig, "model_spu_mismatch");
}

TEST_F(SsXgbTest, ConfigErrors) {
  const auto& parties = testing::kTwoParties;
  json cfg = TrainConfig(parties, {{"max_depth", 3}, {"learning_rates", 0.1}});
  Status s = testing::Validate(SsXgbTaskType(), cfg, parties);
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
  EXPECT_NE(s.ToString().find("task_config.params.learning_rates"), std::string::npos)
      << s.ToString();
  cfg = TrainConfig(parties, {{"max_depth", 17}, {"objective", "poisson"}, {"sketch_eps", 0}});
  s = testing::Validate(SsXgbTaskType(), cfg, parties);
  for (const char* field : {"params.max_depth", "params.objective", "params.sketch_eps"}) {
    EXPECT_NE(s.ToString().find(field), std::string::npos) << s.ToString();
  }
  cfg = TrainConfig(parties, json::object());
  cfg["features"].push_back("nope");
  auto r = testing::RunParties(SsXgbTaskType(), cfg, parties);
  (void)testing::ExpectAllFail(r, ErrorType::kParameterValidation, "unknown_column");
  cfg = TrainConfig(parties, json::object());
  cfg["label_party"] = "alice";  // the label is bob's column
  r = testing::RunParties(SsXgbTaskType(), cfg, parties);
  (void)testing::ExpectAllFail(r, ErrorType::kParameterValidation, "unknown_column");
}

}  // namespace
}  // namespace veil::tasks
