// Test helper of the ot test binaries: runs a two-party protocol over a link world.
#pragma once

#include <future>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "veil/base/status.h"
#include "veil/link/context.h"

namespace veil::ot::testing {

using World = std::vector<std::unique_ptr<link::Context>>;

// Runs a(ctx0) and b(ctx1) concurrently; aborts the link of a party that fails so that the other
// returns promptly. Fails the test unless both succeed.
template <typename A, typename B>
void RunPair(World& w, A&& a, B&& b) {
  auto fa = std::async(std::launch::async, [&] {
    Status s = a(*w[0]);
    if (!s.ok()) w[0]->Abort(s);
    return s;
  });
  auto fb = std::async(std::launch::async, [&] {
    Status s = b(*w[1]);
    if (!s.ok()) w[1]->Abort(s);
    return s;
  });
  const Status sa = fa.get(), sb = fb.get();
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();
}

}  // namespace veil::ot::testing
