#include "veil/runtime/events.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "veil/base/random.h"
#include "veil/runtime/result.h"

namespace veil::runtime {
namespace {

using nlohmann::json;

EventIds Ids() { return {"exec-1", "task-1", "sub-1"}; }

bool IsUtcIso8601(const std::string& s) {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z)");
  return std::regex_match(s, re);
}

bool IsUuidV4(const std::string& s) {
  static const std::regex re(
      R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");
  return std::regex_match(s, re);
}

TEST(EventEmitterTest, EventsCarryThePythonFieldsPlusSeqAndId) {
  MemorySink sink;
  EventEmitter em(&sink, Ids(), "node-a");
  ASSERT_TRUE(em.Running("task_started", 0.0, {{"task_type", "psi"}}));
  ASSERT_TRUE(em.Running("computation_progress", 0.7, {{"rows", 10}}, "bob"));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  const json& e = events[0];
  EXPECT_EQ(e["execution_id"], "exec-1");
  EXPECT_EQ(e["task_id"], "task-1");
  EXPECT_EQ(e["subtask_id"], "sub-1");
  EXPECT_EQ(e["status"], "RUNNING");
  EXPECT_EQ(e["worker_container"], "node-a");
  EXPECT_EQ(e["task_name"], "tasks.secretflow.execute_task");
  EXPECT_TRUE(IsUtcIso8601(e["timestamp"])) << e["timestamp"];
  EXPECT_TRUE(IsUuidV4(e["event_id"])) << e["event_id"];
  EXPECT_EQ(e["seq"], 1);
  EXPECT_FALSE(e.contains("party"));
  EXPECT_EQ(e["data"]["stage"], "task_started");
  EXPECT_EQ(e["data"]["progress"], 0.0);
  EXPECT_EQ(e["data"]["task_type"], "psi");
  EXPECT_EQ(e["data"]["task_id"], "task-1");
  EXPECT_EQ(e["data"]["subtask_id"], "sub-1");
  EXPECT_EQ(e["data"]["execution_id"], "exec-1");
  EXPECT_EQ(events[1]["seq"], 2);
  EXPECT_EQ(events[1]["party"], "bob");
  EXPECT_EQ(events[1]["data"]["rows"], 10);
  EXPECT_NE(events[0]["event_id"], events[1]["event_id"]);
}

TEST(EventEmitterTest, DefaultNodeIdAndNoProgressKeyWhenUnset) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  em.Running("cluster_init", std::nullopt);
  auto e = sink.events().at(0);
  EXPECT_EQ(e["worker_container"], kDefaultNodeId);
  EXPECT_FALSE(e["data"].contains("progress"));
}

TEST(EventEmitterTest, ExactlyOneTerminalEvent) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  EXPECT_TRUE(em.Running("task_started", 0.0));
  EXPECT_FALSE(em.terminal_emitted());
  EXPECT_TRUE(em.Success({{"result", {{"n", 1}}}}));
  EXPECT_TRUE(em.terminal_emitted());
  EXPECT_FALSE(em.Failure(AlgorithmError("late", "too late"), 1.0));
  EXPECT_FALSE(em.Success(json::object()));
  EXPECT_FALSE(em.Running("computation_progress", 0.9));
  EXPECT_FALSE(em.Retry(NetworkError("x", "y"), 1, 3, "now"));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["status"], "SUCCESS");
  EXPECT_EQ(events[1]["data"]["stage"], "task_completed");
  EXPECT_EQ(events[1]["data"]["progress"], 1.0);
  EXPECT_EQ(em.last_seq(), 2u);
}

TEST(EventEmitterTest, FailureAndRetryData) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  Status err = ParameterError("invalid_envelope", "2 problem(s)")
                   .WithProblems({{"a.b", "missing_field", "is required"}})
                   .WithStage("validation");
  EXPECT_TRUE(em.Retry(NetworkError("peer_unreachable", "bob"), 1, 3, "2026-01-01T00:00:00Z"));
  EXPECT_TRUE(em.Failure(err, 1.25));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["status"], "RETRY");
  EXPECT_EQ(events[0]["data"]["stage"], "task_retrying");
  EXPECT_EQ(events[0]["data"]["retry_count"], 1);
  EXPECT_EQ(events[0]["data"]["max_retries"], 3);
  EXPECT_EQ(events[0]["data"]["error_type"], "NetworkError");
  const json& d = events[1]["data"];
  EXPECT_EQ(events[1]["status"], "FAILURE");
  EXPECT_EQ(d["stage"], "task_failed");
  EXPECT_EQ(d["error"], "2 problem(s)");
  EXPECT_EQ(d["error_type"], "ParameterValidationError");
  EXPECT_EQ(d["error_code"], "invalid_envelope");
  EXPECT_EQ(d["error_stage"], "validation");
  EXPECT_EQ(d["execution_time"], 1.25);
  EXPECT_TRUE(IsUtcIso8601(d["failed_at"]));
  ASSERT_EQ(d["problems"].size(), 1u);
  EXPECT_EQ(d["problems"][0]["path"], "a.b");
}

TEST(EventEmitterTest, SeqIsUniqueAndOrderedUnderConcurrency) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) em.Running("computation_progress", 0.5, {{"t", t}});
    });
  }
  for (auto& t : threads) t.join();
  auto events = sink.events();
  ASSERT_EQ(events.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], i + 1);  // the sink sees them in seq order
    ids.insert(events[i]["event_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), events.size());
}

TEST(EventEmitterTest, OnlyOneTerminalUnderConcurrency) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      bool ok = t % 2 ? em.Success(json::object()) : em.Failure(AlgorithmError("x", "y"), 0);
      if (ok) won++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(sink.events().size(), 1u);
}

TEST(EventEmitterTest, SecretsAreRedacted) {
  MemorySink sink;
  EventEmitter em(&sink, Ids());
  em.Running("task_started", 0.0, {{"config", {{"redis_password", "hunter2"}}}});
  em.Failure(NetworkError("redis", "cannot reach redis://:hunter2@10.0.0.1:6379"), 0.1);
  const std::string all = json(sink.events()).dump();
  EXPECT_EQ(all.find("hunter2"), std::string::npos) << all;
}

TEST(EventEmitterTest, NullSinkStillNumbers) {
  EventEmitter em(nullptr, Ids());
  EXPECT_TRUE(em.Running("task_started", 0.0));
  EXPECT_TRUE(em.Success(json::object()));
  EXPECT_EQ(em.last_seq(), 2u);
}

TEST(EventSinkTest, JsonLinesFileOneCompactObjectPerLine) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("veil_events_" + RandomUuid() + ".jsonl"))
          .string();
  {
    auto sink = JsonLinesSink::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    EventEmitter em(sink->get(), Ids());
    em.Running("task_started", 0.0, {{"text", "two\nlines"}});
    em.Success({{"result", {{"a", 1}}}});
    // Flushed per line: readable before the sink is closed.
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      json e = json::parse(line);
      EXPECT_EQ(e["seq"], ++n);
      EXPECT_EQ(line.find(": "), std::string::npos);  // compact
    }
    EXPECT_EQ(n, 2);
  }
  std::filesystem::remove(path);
  auto bad = JsonLinesSink::Open("/nonexistent-dir/x/events.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), "open_failed");
}

TEST(EventSinkTest, JsonLinesToFilePointer) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  JsonLinesSink sink(f);
  sink.Publish({{"a", 1}});
  sink.Publish({{"b", 2}});
  std::rewind(f);
  char buf[64] = {};
  std::string all;
  while (std::fgets(buf, sizeof buf, f)) all += buf;
  EXPECT_EQ(all, "{\"a\":1}\n{\"b\":2}\n");
  std::fclose(f);
}

TEST(EventSinkTest, FanOutDeliversToEverySink) {
  MemorySink a, b;
  FanOutSink fan({&a});
  fan.Add(&b);
  EventEmitter em(&fan, Ids());
  em.Running("task_started", 0.0);
  EXPECT_EQ(a.events().size(), 1u);
  EXPECT_EQ(b.events().size(), 1u);
  EXPECT_EQ(a.stages(), (std::vector<std::string>{"task_started"}));
}

TEST(ErrorToJsonTest, Shape) {
  Status s = ParameterError("invalid_envelope", "2 problem(s)")
                 .WithProblems({{"task_config.keys.bob", "missing_field", "is required"}})
                 .WithStage("validation");
  json j = ErrorToJson(s);
  EXPECT_EQ(j["error"]["type"], "ParameterValidationError");
  EXPECT_EQ(j["error"]["code"], "invalid_envelope");
  EXPECT_EQ(j["error"]["message"], "2 problem(s)");
  EXPECT_EQ(j["error"]["stage"], "validation");
  ASSERT_EQ(j["error"]["problems"].size(), 1u);
  EXPECT_EQ(j["error"]["problems"][0]["path"], "task_config.keys.bob");
  EXPECT_EQ(j["error"]["problems"][0]["code"], "missing_field");
  EXPECT_EQ(j["error"]["problems"][0]["message"], "is required");
  EXPECT_TRUE(ErrorToJson(NetworkError("x", "y"))["error"]["problems"].empty());
  EXPECT_TRUE(ErrorToJson(Status())["error"].is_null());
}

}  // namespace
}  // namespace veil::runtime
