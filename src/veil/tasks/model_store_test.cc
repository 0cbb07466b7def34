// Share files and meta files of the secure models: round trip under SEMI2K and ABY3 (loaded in a
// fresh session, as a new process would), and every load error (missing, corrupt, truncated,
// other model type, other SPU, other format version).
#include "veil/tasks/model_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "veil/base/temp_dir.h"
#include "veil/link/test_util.h"
#include "veil/mpc/mpc_test_util.h"

namespace veil::tasks::model_store {
namespace {

using mpc::testing::Config;
using mpc::testing::RunParties;
using nlohmann::json;

constexpr char kType[] = "ss_sgd_secure";

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ValueOrThrow(ScopedTempDir::Create()); }
  std::string Path(const std::string& name) const {
    return (std::filesystem::path(dir_->path()) / name).string();
  }
  // Saves w (3 x 1) and b under `config`; returns each rank's digest.
  std::vector<std::string> Save(const Config& config) {
    auto world = link::test::MakeWorld(config.parties);
    return RunParties<uint64_t, std::string>(
        world, config.runtime(), [&](mpc::Protocol<uint64_t>& prot) {
          auto x = prot.InputFxp(0, w_.shape(), prot.rank() == 0 ? &w_ : nullptr);
          auto b = prot.InputFxp(prot.world_size() - 1, b_.shape(),
                                 prot.rank() + 1 == prot.world_size() ? &b_ : nullptr);
          return ValueOrThrow(SaveShares<uint64_t>(Path("m" + std::to_string(prot.rank())), kType,
                                                   prot, "p", {{"weights", x}, {"bias", b}}));
        });
  }
  // Rank 0's load error code ("" when it loads) under `config`; the other ranks stay idle.
  std::string LoadAtRank0(const Config& config, const std::string& path, const std::string& type,
                          const std::string& digest) {
    auto world = link::test::MakeWorld(config.parties);
    auto res = RunParties<uint64_t, std::string>(
        world, config.runtime(), [&](mpc::Protocol<uint64_t>& prot) {
          if (prot.rank() != 0) return std::string();
          return LoadShares<uint64_t>(path, type, prot, digest).status().code();
        });
    return res[0];
  }
  std::unique_ptr<ScopedTempDir> dir_;
  const mpc::Tensor<double> w_{{3, 1}, {0.5, -1.25, 3.0}};
  const mpc::Tensor<double> b_{{1}, {7.75}};
};

TEST_F(ModelStoreTest, SharesRoundTripIntoAFreshSession) {
  for (const Config& config :
       {Config{"SEMI2K", 2, mpc::FieldType::kFM64}, Config{"SEMI2K", 3, mpc::FieldType::kFM64},
        Config{"ABY3", 3, mpc::FieldType::kFM64}}) {
    SCOPED_TRACE(config.protocol + std::to_string(config.parties));
    const auto digests = Save(config);
    auto world = link::test::MakeWorld(config.parties);  // new seeds, as in a new process
    auto opened = RunParties<uint64_t, std::vector<mpc::Tensor<double>>>(
        world, config.runtime(), [&](mpc::Protocol<uint64_t>& prot) {
          auto loaded = ValueOrThrow(LoadShares<uint64_t>(Path("m" + std::to_string(prot.rank())),
                                                          kType, prot, digests[prot.rank()]));
          EXPECT_EQ(loaded.size(), 2u);
          EXPECT_EQ(loaded[0].first, "weights");
          EXPECT_EQ(loaded[1].first, "bias");
          return std::vector<mpc::Tensor<double>>{prot.OpenFxp(loaded[0].second),
                                                  prot.OpenFxp(loaded[1].second)};
        });
    for (const auto& o : opened) {
      EXPECT_DOUBLE_EQ(o[0][1], -1.25);
      EXPECT_DOUBLE_EQ(o[1][0], 7.75);
    }
  }
}

TEST_F(ModelStoreTest, LoadErrorsAreClear) {
  const Config semi2k{"SEMI2K", 2, mpc::FieldType::kFM64};
  const auto digests = Save(semi2k);
  const std::string good = Path("m0");
  EXPECT_EQ(LoadAtRank0(semi2k, good, kType, digests[0]), "");
  EXPECT_EQ(LoadAtRank0(semi2k, Path("nope"), kType, ""), "model_file_missing");
  EXPECT_EQ(LoadAtRank0(semi2k, good, "ss_xgb", ""), "model_type_mismatch");
  EXPECT_EQ(LoadAtRank0(semi2k, good, kType, std::string(32, '0')), "model_file_corrupt");

  std::ifstream in(good, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(Path(name), std::ios::binary) << data;
    return Path(name);
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_EQ(LoadAtRank0(semi2k, write("flipped", flipped), kType, ""), "model_file_corrupt");
  EXPECT_EQ(LoadAtRank0(semi2k, write("short", bytes.substr(0, bytes.size() - 9)), kType, ""),
            "model_file_corrupt");
  EXPECT_EQ(LoadAtRank0(semi2k, write("text", "hello"), kType, ""), "model_file_corrupt");

  // The same shares under another SPU: another party count, another fraction width.
  EXPECT_EQ(LoadAtRank0(Config{"SEMI2K", 3, mpc::FieldType::kFM64}, good, kType, ""),
            "model_spu_mismatch");
  Config other_bits = semi2k;
  auto other = other_bits.runtime();
  other.fxp_fraction_bits = 20;
  auto world = link::test::MakeWorld(2);
  auto codes = RunParties<uint64_t, std::string>(world, other, [&](mpc::Protocol<uint64_t>& prot) {
    return LoadShares<uint64_t>(Path("m" + std::to_string(prot.rank())), kType, prot, "")
        .status()
        .code();
  });
  EXPECT_EQ(codes[0], "model_spu_mismatch");
}

TEST_F(ModelStoreTest, MetaFilesCarryTheirTypeAndVersion) {
  ASSERT_TRUE(WriteMeta(Path("m.meta.json"), {{"model_type", kType}, {"features", {"a"}}}).ok());
  auto meta = ReadMeta(Path("m.meta.json"), kType);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ((*meta)["format_version"], kFormatVersion);
  EXPECT_EQ(ReadMeta(Path("m.meta.json"), "ss_xgb").status().code(), "model_type_mismatch");
  EXPECT_EQ(ReadMeta(Path("none.meta.json"), kType).status().code(), "model_file_missing");
  std::ofstream(Path("bad.meta.json")) << "{not json";
  EXPECT_EQ(ReadMeta(Path("bad.meta.json"), kType).status().code(), "model_file_corrupt");
  std::ofstream(Path("v9.meta.json")) << json{{"model_type", kType}, {"format_version", 9}};
  EXPECT_EQ(ReadMeta(Path("v9.meta.json"), kType).status().code(), "model_version_unsupported");
}

}  // namespace
}  // namespace veil::tasks::model_store
