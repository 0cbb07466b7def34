#include "veil/runtime/events.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "veil/base/log.h"
#include "veil/base/random.h"
#include "veil/base/time.h"
#include "veil/runtime/redact.h"

namespace veil::runtime {

using nlohmann::json;

std::string_view EventStatusName(EventStatus status) {
  switch (status) {
    case EventStatus::kRunning:
      return "RUNNING";
    case EventStatus::kSuccess:
      return "SUCCESS";
    case EventStatus::kFailure:
      return "FAILURE";
    case EventStatus::kRetry:
      return "RETRY";
  }
  return "RUNNING";
}

json StatusEvent::ToJson() const {
  json j = {
      {"execution_id", execution_id},
      {"task_id", task_id},
      {"subtask_id", subtask_id},
      {"status", std::string(EventStatusName(status))},
      {"timestamp", timestamp},
      {"data", data},
      {"worker_container", worker_container},
      {"task_name", task_name},
      {"seq", seq},
      {"event_id", event_id},
  };
  if (party) j["party"] = *party;
  return j;
}

// ---- sinks -------------------------------------------------------------------------------

StatusOr<std::unique_ptr<JsonLinesSink>> JsonLinesSink::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) {
    return ResourceError("open_failed",
                         "cannot open events file '" + path + "': " + std::strerror(errno));
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(f, /*owned=*/true));
}

JsonLinesSink::~JsonLinesSink() {
  if (owned_ && out_) std::fclose(out_);
}

void JsonLinesSink::Publish(const json& event) {
  // Invalid UTF-8 in a message must not lose the event.
  std::string line = event.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    Log().warn("status event not written: {}", std::strerror(errno));
  }
}

void MemorySink::Publish(const json& event) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(event);
}

std::vector<json> MemorySink::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::vector<std::string> MemorySink::stages() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& e : events_) out.push_back(e["data"].value("stage", ""));
  return out;
}

void FanOutSink::Add(EventSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.push_back(sink);
}

void FanOutSink::Publish(const json& event) {
  std::vector<EventSink*> sinks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sinks = sinks_;
  }
  for (EventSink* s : sinks) {
    if (s) s->Publish(event);
  }
}

// ---- emitter -----------------------------------------------------------------------------

json FailureData(const Status& error, double execution_time_s) {
  json d = {
      {"error", RedactString(error.message())},
      {"error_type", std::string(error.type_name())},
      {"error_code", error.code()},
      {"error_stage", error.stage()},
      {"execution_time", execution_time_s},
      {"failed_at", NowIso8601Utc()},
  };
  if (!error.problems().empty()) {
    json problems = json::array();
    for (const auto& p : error.problems()) {
      problems.push_back(
          {{"path", p.path}, {"code", p.code}, {"message", RedactString(p.message)}});
    }
    d["problems"] = std::move(problems);
  }
  return d;
}

EventEmitter::EventEmitter(EventSink* sink, EventIds ids, std::string worker_container)
    : sink_(sink),
      ids_(std::move(ids)),
      worker_container_(worker_container.empty() ? kDefaultNodeId : std::move(worker_container)) {}

bool EventEmitter::Emit(EventStatus status, const std::string& stage,
                        std::optional<double> progress, json extra,
                        std::optional<std::string> party) {
  StatusEvent e;
  e.execution_id = ids_.execution_id;
  e.task_id = ids_.task_id;
  e.subtask_id = ids_.subtask_id;
  e.status = status;
  e.worker_container = worker_container_;
  e.party = std::move(party);
  e.data = json::object();
  if (extra.is_object()) {
    e.data = RedactSecrets(extra);
  } else if (!extra.is_null()) {
    e.data["value"] = RedactSecrets(extra);
  }
  // The fixed keys win over extras of the same name.
  e.data["stage"] = stage;
  if (progress) e.data["progress"] = *progress;
  e.data["task_id"] = ids_.task_id;
  e.data["subtask_id"] = ids_.subtask_id;
  e.data["execution_id"] = ids_.execution_id;
  if (e.party) e.data["party"] = *e.party;
  e.event_id = RandomUuid();

  std::lock_guard<std::mutex> lock(mu_);
  if (terminal_) {
    Log().warn("[exec={}] dropped {} event '{}' after the terminal event", ids_.execution_id,
               EventStatusName(status), stage);
    return false;
  }
  if (IsTerminal(status)) terminal_ = true;
  e.seq = ++seq_;
  e.timestamp = NowIso8601Utc();
  if (sink_) sink_->Publish(e.ToJson());
  return true;
}

bool EventEmitter::Success(json extra) {
  return Emit(EventStatus::kSuccess, "task_completed", 1.0, std::move(extra));
}

bool EventEmitter::Failure(const Status& error, double execution_time_s) {
  return Emit(EventStatus::kFailure, "task_failed", std::nullopt,
              FailureData(error, execution_time_s));
}

bool EventEmitter::Retry(const Status& error, int retry_count, int max_retries,
                         const std::string& next_retry_at) {
  json d = {
      {"retry_count", retry_count},
      {"max_retries", max_retries},
      {"error", RedactString(error.message())},
      {"error_type", std::string(error.type_name())},
      {"error_code", error.code()},
      {"next_retry_at", next_retry_at},
  };
  return Emit(EventStatus::kRetry, "task_retrying", std::nullopt, std::move(d));
}

bool EventEmitter::terminal_emitted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return terminal_;
}

uint64_t EventEmitter::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

}  // namespace veil::runtime
