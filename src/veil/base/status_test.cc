#include "veil/base/status.h"

#include <gtest/gtest.h>

#include "veil/base/exception.h"

namespace veil {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return ParameterError("odd", "x is odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  VEIL_ASSIGN_OR_RETURN(*out, Half(x));
  VEIL_RETURN_IF_ERROR(Status());
  return Status();
}

TEST(StatusTest, OkIsDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.type(), ErrorType::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesTypeCodeMessageStageProblems) {
  Status s = NetworkError("peer_unreachable", "bob did not connect")
                 .WithStage("cluster_init")
                 .WithProblems({{"a.b", "c", "d"}});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.type_name(), "NetworkError");
  EXPECT_EQ(s.code(), "peer_unreachable");
  EXPECT_EQ(s.stage(), "cluster_init");
  ASSERT_EQ(s.problems().size(), 1u);
  EXPECT_EQ(s.problems()[0].path, "a.b");
  EXPECT_TRUE(IsRetryable(s.type()));
  EXPECT_FALSE(IsRetryable(ErrorType::kParameterValidation));
}

TEST(StatusTest, MacrosPropagate) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = UseHalf(3, &out);
  EXPECT_EQ(s.code(), "odd");
}

TEST(StatusTest, CatchAllTypesExceptions) {
  Status s = CatchAll([]() -> Status { VEIL_ENFORCE(false, AlgorithmError, "bad", "boom"); });
  EXPECT_EQ(s.type(), ErrorType::kAlgorithm);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  Status t = CatchAll([]() -> Status { throw std::runtime_error("x"); });
  EXPECT_EQ(t.type(), ErrorType::kInternal);
}

}  // namespace
}  // namespace veil
