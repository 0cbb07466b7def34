// ss_lr / ss_lr_predict on scikit-learn's breast cancer data split across 2 and 3 parties
// (SEMI2K FM64 / FM128, ABY3 FM128): AUC within 0.01 of scikit-learn's LogisticRegression, the
// model reloaded from its share files predicts what the in-memory model predicted, only the
// receiver learns predictions, and every model-file error is clear.
#include "veil/tasks/ss_lr_task.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "veil/base/temp_dir.h"
#include "veil/link/test_util.h"
#include "veil/mpc/mpc_test_util.h"
#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/model_store.h"
#include "veil/tasks/ss_lr_model.h"
#include "veil/tasks/ss_lr_predict_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

// Writes the standardised breast cancer data split by `splits` ({party: [feature indices]}; the
// label "y" goes to label_party) and returns scikit-learn's training AUC and the labels.
constexpr char kData[] = R"PY(
def compute(inp):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    cols = ["f%d" % i for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    df["y"] = y
    for party, idx in inp["splits"].items():
        names = [cols[i] for i in idx] + (["y"] if party == inp["label_party"] else [])
        df[names].to_csv(inp["dir"] + "/" + party + ".csv", index=False, float_format="%.17g")
    clf = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    return {"auc": roc_auc_score(y, clf.predict_proba(X)[:, 1]), "y": y.tolist(),
            "features": cols}
)PY";

constexpr char kAuc[] = R"PY(
def compute(inp):
    from sklearn.metrics import roc_auc_score
    p = read_csv(inp["path"])
    return {"auc": roc_auc_score(inp["y"], p["probability"]), "rows": len(p),
            "prediction_ok": bool(((p["probability"] >= 0.5).astype(int) == p["prediction"]).all())}
)PY";

using testing::SpuCase;
using testing::SpuCaseName;

class SsLrTest : public testing::WithSpuCase<DataTaskTest> {
 protected:
  // Splits the 30 features round-robin-ish over the parties; bob holds the label.
  json WriteData() {
    json splits = json::object();
    const auto& parties = Parties();
    for (size_t i = 0; i < 30; ++i) splits[parties[(i / 4) % parties.size()]].push_back(i);
    return testing::PythonReference(
        kData, {{"splits", splits}, {"label_party", "bob"}, {"dir", dir_.string()}});
  }
  json Files(const std::string& suffix = "") const {
    json f = json::object();
    for (const auto& p : Parties()) f[p] = Path(p + suffix + ".csv");
    return f;
  }
  json Models() const {
    json f = json::object();
    for (const auto& p : Parties()) f[p] = Path("model/" + p + ".model");
    return f;
  }
};

TEST_P(SsLrTest, TrainsToScikitLearnAucAndPredictsOnlyToTheReceiver) {
  const json data = WriteData();
  const auto& parties = Parties();
  json train = {{"train_data", Files()},
                {"features", data["features"]},
                {"label", "y"},
                {"label_party", "bob"},
                {"model_output", Models()},
                {"params",
                 {{"epochs", 5},
                  {"learning_rate", 0.3},
                  {"batch_size", 32},
                  {"sig_type", "t1"},
                  {"reg_type", "logistic"},
                  {"penalty", "l2"},
                  {"l2_norm", 0.1}}}};
  ASSERT_TRUE(testing::Validate(SsLrTaskType(), train, parties).ok());
  auto trained = testing::RunParties(SsLrTaskType(), train, parties, Spu());
  for (const auto& r : trained) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["secure_mode"], true);
    EXPECT_GE((*r)["epochs_run"].get<int>(), 2);
  }
  for (const auto& p : parties) {
    const std::string model = Models()[p];
    EXPECT_TRUE(std::filesystem::exists(model)) << p;
    std::ifstream meta(model + ".meta.json");
    const json m = json::parse(meta);
    EXPECT_EQ(m["model_type"], "ss_sgd_secure");
    EXPECT_EQ(m["party"], p);
    EXPECT_EQ(m["reg_type"], "RegType.Logistic");
    EXPECT_EQ(m["sig_type"], "SigType.T1");
    // The fraction bits actually used, not the config's 0 = "default".
    EXPECT_EQ(m["spu"]["fxp_fraction_bits"], mpc::DefaultFxpFractionBits(GetParam().field));
  }

  json outputs = {{"bob", Path("pred_bob.csv")}};
  json predict = {{"model_path", Models()}, {"predict_data", Files()}, {"output_path", outputs}};
  auto predicted = testing::RunParties(SsLrPredictTaskType(), predict, parties, Spu());
  for (const auto& r : predicted) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["receiver_party"], "bob");
    EXPECT_EQ((*r)["num_predictions"], 569);
    EXPECT_FALSE(r->contains("probability"));
  }
  const json auc =
      testing::PythonReference(kAuc, {{"path", Path("pred_bob.csv")}, {"y", data["y"]}});
  EXPECT_EQ(auc["rows"], 569);
  EXPECT_TRUE(auc["prediction_ok"].get<bool>());
  RecordProperty("ss_lr_auc", auc["auc"].dump());
  RecordProperty("sklearn_auc", data["auc"].dump());
  EXPECT_NEAR(auc["auc"].get<double>(), data["auc"].get<double>(), 0.01)
      << "sklearn " << data["auc"] << " vs ss_lr " << auc["auc"];
  // Only bob's file exists.
  for (const auto& p : parties) {
    if (p != "bob") {
      EXPECT_FALSE(std::filesystem::exists(Path("pred_" + p + ".csv")));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Spu, SsLrTest,
                         ::testing::Values(SpuCase{2, "SEMI2K", mpc::FieldType::kFM64},
                                           SpuCase{3, "SEMI2K", mpc::FieldType::kFM128},
                                           SpuCase{3, "ABY3", mpc::FieldType::kFM128}),
                         SpuCaseName);

// The reloaded model (a new session with new seeds, as a new process has) predicts what the
// in-memory model predicted right after training.
TEST(SsLrModelTest, ReloadedModelPredictsLikeTheTrainedOne) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> g(0, 1);
  const int64_t n = 400;
  mpc::Tensor<double> xa({n, 2}), xb({n, 1}), y({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    xa.at(i, 0) = g(rng);
    xa.at(i, 1) = g(rng);
    xb.at(i, 0) = g(rng);
    y[i] = (xa.at(i, 0) - 0.5 * xb.at(i, 0) + 0.3 * g(rng)) > 0 ? 1 : 0;
  }
  auto dir = ValueOrThrow(ScopedTempDir::Create());
  auto path = [&](size_t r) { return dir->path() + "/m" + std::to_string(r); };
  ss_lr::Params params;
  params.epochs = 3;
  params.eps = 0;
  mpc::RuntimeConfig config;
  auto world = link::test::MakeWorld(2);
  const std::vector<int64_t> cols{2, 1};
  auto before = mpc::testing::RunParties<uint64_t, std::vector<double>>(
      world, config, [&](mpc::Protocol<uint64_t>& prot) {
        const auto x = ss_lr::ShareFeatures(prot, cols, n, prot.rank() == 0 ? &xa : &xb);
        const auto ys = prot.InputFxp(1, {n, 1}, prot.rank() == 1 ? &y : nullptr);
        ss_lr::TrainReport report;
        const auto model = ss_lr::Train(prot, x, ys, params, &report, nullptr);
        ValueOrThrow(model_store::SaveShares<uint64_t>(path(prot.rank()), kSsLrModelType, prot, "p",
                                                       {{"weights", model.w}, {"bias", model.b}}));
        const auto s = prot.OpenFxp(ss_lr::Predict(prot, model, x, mpc::SigmoidMode::kT1, true));
        return std::vector<double>(s.data(), s.data() + s.numel());
      });
  auto world2 = link::test::MakeWorld(2);
  auto after = mpc::testing::RunParties<uint64_t, std::vector<double>>(
      world2, config, [&](mpc::Protocol<uint64_t>& prot) {
        auto shares = ValueOrThrow(
            model_store::LoadShares<uint64_t>(path(prot.rank()), kSsLrModelType, prot, ""));
        ss_lr::Model<uint64_t> model{shares[0].second, shares[1].second};
        const auto x = ss_lr::ShareFeatures(prot, cols, n, prot.rank() == 0 ? &xa : &xb);
        const auto s = prot.OpenFxp(ss_lr::Predict(prot, model, x, mpc::SigmoidMode::kT1, true));
        return std::vector<double>(s.data(), s.data() + s.numel());
      });
  ASSERT_EQ(before[0].size(), static_cast<size_t>(n));
  int correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    // The same model; only the 1-ulp truncation noise of the product differs.
    EXPECT_NEAR(after[0][i], before[0][i], 1e-4) << i;
    correct += (before[0][i] >= 0.5) == (y[i] == 1);
  }
  EXPECT_GT(correct, 0.85 * n);  // the model did learn
}

class SsLrErrorTest : public DataTaskTest {};

TEST_F(SsLrErrorTest, ModelFileErrorsAreClear) {
  const auto& parties = testing::kTwoParties;
  std::vector<std::vector<std::string>> a, b;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g(0, 1);
  for (int i = 0; i < 60; ++i) {
    const double u = g(rng), v = g(rng);
    a.push_back({std::to_string(u)});
    b.push_back({std::to_string(v), u + v > 0 ? "1" : "0"});
  }
  json files = {{"alice", WriteCsv("a.csv", {"u"}, a)}, {"bob", WriteCsv("b.csv", {"v", "y"}, b)}};
  json models = {{"alice", Path("m/a")}, {"bob", Path("m/b")}};
  json train = {{"train_data", files},
                {"features", {"u", "v"}},
                {"label", "y"},
                {"label_party", "bob"},
                {"model_output", models}};
  for (const auto& r : testing::RunParties(SsLrTaskType(), train, parties)) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  json predict = {
      {"model_path", models}, {"predict_data", files}, {"output_path", {{"bob", Path("p.csv")}}}};
  ASSERT_TRUE(testing::RunParties(SsLrPredictTaskType(), predict, parties)[0].ok());

  auto expect_error = [&](const std::string& code) {
    (void)testing::ExpectAllFail(testing::RunParties(SsLrPredictTaskType(), predict, parties),
                                 ErrorType::kParameterValidation, code);
  };
  // Corrupt share at bob (one byte flipped).
  const std::string bob_model = Path("m/b");
  std::string bytes;
  {
    std::ifstream in(bob_model, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  std::ofstream(bob_model, std::ios::binary) << flipped;
  expect_error("model_file_corrupt");
  // Missing share at bob.
  std::filesystem::remove(bob_model);
  expect_error("model_file_missing");
  std::ofstream(bob_model, std::ios::binary) << bytes;
  ASSERT_TRUE(testing::RunParties(SsLrPredictTaskType(), predict, parties)[0].ok());
  // A model of another type.
  {
    std::ifstream in(Path("m/a.meta.json"));
    json meta = json::parse(in);
    meta["model_type"] = "ss_xgb";
    std::ofstream(Path("m/a.meta.json")) << meta.dump();
  }
  expect_error("model_type_mismatch");
  // Unknown params are rejected by name at validation.
  train["params"] = {{"epochs", 2}, {"momentum", 0.9}};
  Status s = testing::Validate(SsLrTaskType(), train, parties);
  EXPECT_NE(s.ToString().find("task_config.params.momentum"), std::string::npos) << s.ToString();
  // A label that is not 0/1 for logistic regression.
  train.erase("params");
  json bad_b = files;
  bad_b["bob"] = WriteCsv("b2.csv", {"v", "y"}, {{"1", "2"}, {"2", "0"}});
  json bad_a = WriteCsv("a2.csv", {"u"}, {{"1"}, {"2"}});
  train["train_data"] = {{"alice", bad_a}, {"bob", bad_b["bob"]}};
  (void)testing::ExpectAllFail(testing::RunParties(SsLrTaskType(), train, parties),
                               ErrorType::kParameterValidation, "label_not_binary");
}

}  // namespace
}  // namespace veil::tasks
