#include "veil/link/test_util.h"

#include <future>
#include <mutex>
#include <random>
#include <set>

#include <asio.hpp>

#include "veil/link/tcp_transport.h"

namespace veil::link::test {

uint16_t PickFreePort() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> dist(20000, 32767);
  asio::io_context io;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(dist(rng));
    if (handed_out.count(port)) continue;
    asio::ip::tcp::acceptor probe(io);
    asio::error_code ec;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
    // No SO_REUSEADDR: skip ports that still have connections in TIME_WAIT.
    if (probe.open(ep.protocol(), ec) || probe.bind(ep, ec)) continue;
    handed_out.insert(port);
    return port;
  }
  return 0;  // practically unreachable; binding port 0 later fails loudly in the caller
}

LinkOptions TestLinkOptions() {
  LinkOptions o;
  o.connect_timeout_ms = 10'000;
  o.recv_timeout_ms = 10'000;
  o.connect_retry_interval_ms = 20;
  return o;
}

ContextDesc MakeTcpDesc(size_t n, const std::string& session_id, const LinkOptions& options) {
  ContextDesc desc;
  desc.session_id = session_id;
  desc.options = options;
  for (size_t i = 0; i < n; ++i) {
    const std::string addr = "127.0.0.1:" + std::to_string(PickFreePort());
    desc.parties.push_back({"p" + std::to_string(i), addr, addr});
  }
  return desc;
}

StatusOr<std::vector<std::unique_ptr<Context>>> ConnectTcpWorld(const ContextDesc& desc) {
  std::vector<std::unique_ptr<Context>> ctxs;
  for (size_t r = 0; r < desc.parties.size(); ++r) {
    VEIL_ASSIGN_OR_RETURN(auto ctx, CreateTcpContext(desc, r, nullptr));
    ctxs.push_back(std::move(ctx));
  }
  std::vector<std::future<Status>> connects;
  for (auto& ctx : ctxs) {
    connects.push_back(std::async(std::launch::async, [&ctx] { return ctx->Connect(); }));
  }
  Status first_error;
  for (auto& f : connects) {
    Status st = f.get();
    if (!st.ok() && first_error.ok()) first_error = st;
  }
  if (!first_error.ok()) return first_error;
  return ctxs;
}

StatusOr<std::vector<std::unique_ptr<Context>>> MakeTcpWorld(size_t n, const LinkOptions& options) {
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto world = ConnectTcpWorld(MakeTcpDesc(n, "test", options));
    if (world.ok() || world.status().code() != "port_in_use") return world;
    last = world.status();
  }
  return last;
}

}  // namespace veil::link::test
