// Helpers for tests that run TCP links between parties of one process over 127.0.0.1.
// Not for production use: ports are picked by probing, which can race with other processes
// (MakeTcpWorld retries when that happens).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/link/context.h"

namespace veil::link::test {

// A TCP port that was free on 127.0.0.1 a moment ago. Picked at random in [20000, 32767], below
// Linux's ephemeral range so outgoing connections do not grab it, and never returned twice by
// one process.
uint16_t PickFreePort();

// Options for tests: short enough that a broken test fails in seconds, not minutes.
LinkOptions TestLinkOptions();

// Parties "p0".."p{n-1}", each listening on 127.0.0.1 at a fresh port (listen_addr == address).
ContextDesc MakeTcpDesc(size_t n, const std::string& session_id = "test",
                        const LinkOptions& options = TestLinkOptions());

// Creates the TCP contexts of every party of `desc` and connects them concurrently.
StatusOr<std::vector<std::unique_ptr<Context>>> ConnectTcpWorld(const ContextDesc& desc);

// MakeTcpDesc + ConnectTcpWorld; picks new ports and retries if a port was taken meanwhile.
StatusOr<std::vector<std::unique_ptr<Context>>> MakeTcpWorld(
    size_t n, const LinkOptions& options = TestLinkOptions());

}  // namespace veil::link::test
