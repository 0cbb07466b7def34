#include "veil/worker/celery_codec.h"

#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace veil::worker {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using std::chrono::system_clock;

// ---- Helpers ----------------------------------------------------------------------------------

ResultMeta Meta(std::string task_id) { return ResultMeta{std::move(task_id), {}, {}}; }

TimePoint At(std::string_view iso) {
  auto tp = ParseIso8601(iso);
  EXPECT_TRUE(tp.ok()) << tp.status().ToString();
  return tp.ok() ? *tp : TimePoint{};
}

std::string B64(std::string_view s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

// A minimal valid envelope whose parts the error tests then break.
json Envelope(std::string_view body_json = R"([[1], {"a": 2}, null])") {
  return json{{"body", B64(body_json)},
              {"content-encoding", "utf-8"},
              {"content-type", "application/json"},
              {"headers", {{"task", "tasks.t"}, {"id", "id-1"}}},
              {"properties", {{"body_encoding", "base64"}, {"delivery_tag", "tag-1"}}}};
}

Status DecodeStatus(const json& env) { return DecodeTaskMessage(env.dump()).status(); }

// §1.1 of the reference: the message `send_task('tasks.secretflow.psi', args=[{"task_id":
// "t1"}], kwargs={"x": 1}, queue='secretflow_queue', routing_key='secretflow')` left in Redis.
constexpr std::string_view kGoldenEnvelope =
    R"({"body": "W1t7InRhc2tfaWQiOiAidDEifV0sIHsieCI6IDF9LCB7ImNhbGxiYWNrcyI6IG51bGwsICJlcnJiYWNrcyI6IG51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ==", )"
    R"("content-encoding": "utf-8", "content-type": "application/json", )"
    R"("headers": {"lang": "py", "task": "tasks.secretflow.psi", )"
    R"("id": "f252c33f-b069-4841-a747-2cc564ae9765", "shadow": null, "eta": null, )"
    R"("expires": null, "group": null, "group_index": null, "retries": 0, )"
    R"("timelimit": [null, null], "root_id": "f252c33f-b069-4841-a747-2cc564ae9765", )"
    R"("parent_id": null, "argsrepr": "[{'task_id': 't1'}]", "kwargsrepr": "{'x': 1}", )"
    R"("origin": "gen8882@vm", "ignore_result": false}, )"
    R"("properties": {"correlation_id": "f252c33f-b069-4841-a747-2cc564ae9765", )"
    R"("reply_to": "82fbf460-5b02-3089-b4dd-1d2e04982c16", "delivery_mode": 2, )"
    R"("delivery_info": {"exchange": "", "routing_key": "secretflow_queue"}, "priority": 0, )"
    R"("body_encoding": "base64", "delivery_tag": "d304f899-228a-4a93-bef6-8af4c0e82d6c"}})";

// ---- Golden: the captured envelope ------------------------------------------------------------

TEST(CeleryCodecGolden, DecodesCapturedEnvelope) {
  auto m = DecodeTaskMessage(kGoldenEnvelope);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->id, "f252c33f-b069-4841-a747-2cc564ae9765");
  EXPECT_EQ(m->task, "tasks.secretflow.psi");
  EXPECT_EQ(m->args, json::parse(R"([{"task_id": "t1"}])"));
  EXPECT_EQ(m->kwargs, json::parse(R"({"x": 1})"));
  EXPECT_EQ(m->embed,
            json::parse(R"({"callbacks": null, "errbacks": null, "chain": null, "chord": null})"));
  EXPECT_FALSE(m->eta);
  EXPECT_FALSE(m->expires);
  EXPECT_EQ(m->retries, 0);
  EXPECT_FALSE(m->hard_time_limit_s);
  EXPECT_FALSE(m->soft_time_limit_s);
  EXPECT_FALSE(m->ignore_result);
  EXPECT_EQ(m->root_id, "f252c33f-b069-4841-a747-2cc564ae9765");
  EXPECT_FALSE(m->parent_id);
  EXPECT_FALSE(m->group);
  EXPECT_EQ(m->origin, "gen8882@vm");
  EXPECT_EQ(m->lang, "py");
  EXPECT_EQ(m->delivery_tag, "d304f899-228a-4a93-bef6-8af4c0e82d6c");
  EXPECT_EQ(m->reply_to, "82fbf460-5b02-3089-b4dd-1d2e04982c16");
  EXPECT_EQ(m->exchange, "");
  EXPECT_EQ(m->routing_key, "secretflow_queue");
  EXPECT_EQ(m->priority, 0);
  EXPECT_FALSE(m->redelivered);
  EXPECT_EQ(m->raw, kGoldenEnvelope);
}

TEST(CeleryCodecGolden, EncodesTheCapturedEnvelopeByteForByte) {
  SendRequest req;
  req.task = "tasks.secretflow.psi";
  req.args = ordered_json::parse(R"([{"task_id": "t1"}])");
  req.kwargs = ordered_json::parse(R"({"x": 1})");
  req.queue = "secretflow_queue";
  req.task_id = "f252c33f-b069-4841-a747-2cc564ae9765";
  req.origin = "gen8882@vm";
  req.reply_to = "82fbf460-5b02-3089-b4dd-1d2e04982c16";
  req.delivery_tag = "d304f899-228a-4a93-bef6-8af4c0e82d6c";
  EXPECT_EQ(EncodeTaskMessage(req), kGoldenEnvelope);
}

// ---- Golden: the captured result values (§1.4) -----------------------------------------------

TEST(CeleryCodecGolden, ResultValues) {
  const TimePoint done = At("2026-11-21T22:04:52.864180");
  EXPECT_EQ(ResultKey("30b3"), "celery-task-meta-30b3");
  EXPECT_EQ(SuccessResultJson(Meta("30b3"), json{{"x", 7}}, done),
            R"({"status": "SUCCESS", "result": {"x": 7}, "traceback": null, "children": [], )"
            R"("date_done": "2026-11-21T22:04:52.864180+00:00", "task_id": "30b3"})");
  EXPECT_EQ(StartedResultJson(Meta("30b3"), 8982, "w1@vm"),
            R"({"status": "STARTED", "result": {"pid": 8982, "hostname": "w1@vm"}, )"
            R"("traceback": null, "children": [], "date_done": null, "task_id": "30b3"})");
  CeleryException value_error{"ValueError", "builtins", ordered_json::array({"bad input", 42}),
                              nullptr};
  EXPECT_EQ(FailureResultJson(Meta("2179"), value_error,
                              std::string("Traceback (most recent call last): …"), done),
            R"({"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": )"
            R"(["bad input", 42], "exc_module": "builtins"}, "traceback": "Traceback (most )"
            R"(recent call last): \u2026", "children": [], "date_done": )"
            R"("2026-11-21T22:04:52.864180+00:00", "task_id": "2179"})");
}

TEST(CeleryCodecResults, OptionalIdsComeBeforeTaskIdInCeleryOrder) {
  ResultMeta meta{"t-1", std::string("p-1"), std::string("g-1")};
  EXPECT_EQ(RevokedResultJson(meta, "expired", At("2030-01-01T00:00:00Z")),
            R"({"status": "REVOKED", "result": {"exc_type": "TaskRevokedError", "exc_message": )"
            R"(["expired"], "exc_module": "celery.exceptions"}, "traceback": null, "children": )"
            R"([], "date_done": "2030-01-01T00:00:00+00:00", "group_id": "g-1", "parent_id": )"
            R"("p-1", "task_id": "t-1"})");
}

TEST(CeleryCodecResults, NotRegisteredAndErrorMapping) {
  const auto nr = json::parse(NotRegisteredResultJson(Meta("t"), "tasks.nope"));
  EXPECT_EQ(nr["status"], "FAILURE");
  EXPECT_EQ(nr["result"], json::parse(R"({"exc_type": "NotRegistered", "exc_message": )"
                                      R"(["tasks.nope"], "exc_module": "celery.exceptions"})"));
  EXPECT_TRUE(nr["traceback"].is_null());

  struct Case {
    Status status;
    const char* module;
    const char* type;
  };
  const Case cases[] = {
      {ParameterError("missing_field", "m"), "veil.errors", "ParameterValidationError"},
      {ClusterInitError("c", "m"), "veil.errors", "ClusterInitError"},
      {DeviceConfigError("c", "m"), "veil.errors", "DeviceConfigError"},
      {NetworkError("c", "m"), "veil.errors", "NetworkError"},
      {ResourceError("c", "m"), "veil.errors", "ResourceError"},
      {AlgorithmError("c", "m"), "veil.errors", "AlgorithmError"},
      {ResultSaveError("c", "m"), "veil.errors", "ResultSaveError"},
      {TimeoutError("c", "m"), "builtins", "TimeoutError"},
      {CancelledError("c", "m"), "celery.exceptions", "TaskRevokedError"},
      {InternalError("c", "m"), "builtins", "RuntimeError"},
  };
  for (const Case& c : cases) {
    const CeleryException e = CeleryExceptionFor(c.status);
    EXPECT_EQ(e.exc_module, c.module) << c.status.ToString();
    EXPECT_EQ(e.exc_type, c.type) << c.status.ToString();
    EXPECT_EQ(e.exc_message, ordered_json::array({"m"}));
    EXPECT_EQ(e.veil_error["type"], std::string(c.status.type_name()));
    EXPECT_EQ(e.veil_error["code"], c.status.code());
  }

  const Status v = ParameterError("invalid_envelope", "2 problem(s): a; b")
                       .WithStage("validate")
                       .WithProblems({{"task_config.keys", "missing_field", "required"},
                                      {"task_config.x", "unknown_field", "unknown key"}});
  const auto f = json::parse(FailureResultJson(Meta("t"), v));
  EXPECT_EQ(f["result"]["exc_message"], json::array({"2 problem(s): a; b"}));
  EXPECT_EQ(f["result"]["veil_error"]["stage"], "validate");
  EXPECT_EQ(f["result"]["veil_error"]["problems"][1]["path"], "task_config.x");
  const std::string tb = f["traceback"];
  EXPECT_NE(tb.find("ParameterValidationError[invalid_envelope]"), std::string::npos) << tb;
  EXPECT_NE(tb.find("task_config.keys: [missing_field] required"), std::string::npos) << tb;
  EXPECT_NE(tb.find("stage: validate"), std::string::npos) << tb;

  const auto r = json::parse(RetryResultJson(Meta("t"), NetworkError("peer_unreachable", "bob")));
  EXPECT_EQ(r["status"], "RETRY");
  EXPECT_TRUE(r["date_done"].is_null());
  EXPECT_EQ(r["result"]["exc_type"], "NetworkError");
}

TEST(CeleryCodecResults, PythonWorkerSuccessWrapper) {
  const json final_result = {{"status", "success"}, {"result", {{"intersection_count", 3}}}};
  const json w = PythonWorkerSuccessWrapper("T", "S", "E", final_result, "2026-01-01T00:00:00Z");
  EXPECT_EQ(w, json::parse(R"({"task_id": "T", "subtask_id": "S", "execution_id": "E",
      "result": {"status": "success", "result": {"intersection_count": 3}},
      "completed_at": "2026-01-01T00:00:00Z"})"));
  // The documented client path raw["result"]["result"]["result"] reaches the job output.
  const auto raw = json::parse(SuccessResultJson(Meta("celery-id"), w));
  EXPECT_EQ(raw["result"]["result"]["result"], json({{"intersection_count", 3}}));
}

// ---- Round trip and encoding details ----------------------------------------------------------

TEST(CeleryCodecRoundTrip, EncodeThenDecodeKeepsEveryField) {
  SendRequest req;
  req.task = "tasks.secretflow.execute_task";
  req.args = ordered_json::array({ordered_json{{"task_id", "t"}, {"execution_id", "e"}}});
  req.kwargs = ordered_json{{"k", "v"}};
  req.queue = "q";
  req.priority = 6;
  req.eta = At("2030-01-01T00:00:00.5Z");
  req.expires = At("2030-01-02T00:00:00Z");
  req.hard_time_limit_s = 7200;
  req.soft_time_limit_s = 3600.5;
  req.retries = 2;
  req.ignore_result = true;
  req.parent_id = "p";
  req.group_id = "g";
  req.group_index = 4;
  req.shadow = "nice name";
  const std::string raw = EncodeTaskMessage(req, At("2030-01-01T23:59:58Z"));
  auto m = DecodeTaskMessage(raw);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->task, req.task);
  EXPECT_EQ(m->id.size(), 36u);  // a generated UUID
  EXPECT_EQ(m->root_id, m->id);
  EXPECT_EQ(m->args, json(req.args));
  EXPECT_EQ(m->kwargs, json(req.kwargs));
  EXPECT_EQ(m->eta, req.eta);
  EXPECT_EQ(m->expires, req.expires);
  EXPECT_EQ(m->hard_time_limit_s, 7200);
  EXPECT_EQ(m->soft_time_limit_s, 3600.5);
  EXPECT_EQ(m->retries, 2);
  EXPECT_TRUE(m->ignore_result);
  EXPECT_EQ(m->parent_id, "p");
  EXPECT_EQ(m->group, "g");
  EXPECT_EQ(m->group_index, 4);
  EXPECT_EQ(m->shadow, "nice name");
  EXPECT_EQ(m->priority, 6);
  EXPECT_EQ(m->routing_key, "q");
  EXPECT_EQ(m->exchange, "");
  EXPECT_EQ(m->delivery_tag.size(), 36u);
  EXPECT_EQ(m->raw, raw);
  const json env = json::parse(raw);
  EXPECT_EQ(env["properties"]["expiration"], "2000");
  EXPECT_EQ(env["headers"]["timelimit"].dump(), "[7200,3600.5]");
  EXPECT_EQ(env["headers"]["eta"], "2030-01-01T00:00:00.500000+00:00");
}

TEST(CeleryCodecRoundTrip, EmptyArgsAreATupleInArgsrepr) {
  SendRequest req;
  req.task = "tasks.secretflow.hello.ping_task";
  const json env = json::parse(EncodeTaskMessage(req));
  EXPECT_EQ(env["headers"]["argsrepr"], "()");
  EXPECT_EQ(env["headers"]["kwargsrepr"], "{}");
  EXPECT_EQ(env["properties"]["delivery_info"]["routing_key"], "secretflow_queue");
  const std::string origin = env["headers"]["origin"];
  EXPECT_EQ(origin.rfind("gen", 0), 0u) << origin;
  EXPECT_NE(origin.find('@'), std::string::npos) << origin;
}

TEST(CeleryCodecQueues, PriorityBucketsAndOrder) {
  EXPECT_EQ(QueueKeyForPriority("q", 0), "q");
  EXPECT_EQ(QueueKeyForPriority("q", 1), "q");
  EXPECT_EQ(QueueKeyForPriority("q", 2), "q");
  EXPECT_EQ(QueueKeyForPriority("q", 3), std::string("q\x06\x16") + "3");
  EXPECT_EQ(QueueKeyForPriority("q", 5), std::string("q\x06\x16") + "3");
  EXPECT_EQ(QueueKeyForPriority("q", 8), std::string("q\x06\x16") + "6");
  EXPECT_EQ(QueueKeyForPriority("q", 9), std::string("q\x06\x16") + "9");
  EXPECT_EQ(QueueKeyForPriority("q", 42), std::string("q\x06\x16") + "9");
  EXPECT_EQ(QueueKeyForPriority("q", -1), "q");
  const std::vector<std::string> want = {"q", std::string("q\x06\x16") + "3",
                                         std::string("q\x06\x16") + "6",
                                         std::string("q\x06\x16") + "9"};
  EXPECT_EQ(QueueKeysInPriorityOrder("q"), want);
}

TEST(CeleryCodecPython, JsonDumpsMatchesPythonFormatting) {
  const auto v = ordered_json::parse(
      R"({"b": [1, -2, 0.1, 1e-05, 1e16, 1e15, 2.5, 100.0, true, null], "a": "é😀\u0001\u007f\"\\/"})");
  EXPECT_EQ(PythonJsonDumps(v),
            R"({"b": [1, -2, 0.1, 1e-05, 1e+16, 1000000000000000.0, 2.5, 100.0, true, null], )"
            R"("a": "\u00e9\ud83d\ude00\u0001\u007f\"\\/"})");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PythonFloatRepr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(PythonFloatRepr(1.5e-300), "1.5e-300");
  EXPECT_EQ(PythonJsonDumps(json("\xff")), R"("\ufffd")");
}

TEST(CeleryCodecPython, SafeReprMatchesCeleryForSmallValues) {
  const auto v = ordered_json::parse(
      R"([{"a": "it's", "b": [true, false, null, 1.0], "c": {"d": {"e": 1}, "f": []}}])");
  EXPECT_EQ(CelerySafeRepr(v, 1024),
            R"([{'a': 'it\'s', 'b': [True, False, None, 1.0], 'c': {'d': {...}, 'f': [...]}}])");
  EXPECT_EQ(CelerySafeRepr(ordered_json::array({1}), 1024, true), "(1,)");
  EXPECT_EQ(CelerySafeRepr(ordered_json::array(), 1024, true), "()");
}

TEST(CeleryCodecTime, ParsesIso8601Variants) {
  const TimePoint base = At("2026-11-21T22:05:08Z");
  EXPECT_EQ(At("2026-11-21T22:05:08"), base);  // naive = UTC
  EXPECT_EQ(At("2026-11-21T22:05:08+00:00"), base);
  EXPECT_EQ(At("2026-11-22T06:05:08+08:00"), base);
  EXPECT_EQ(At("2026-11-22T06:05:08+0800"), base);
  EXPECT_EQ(At("2026-11-21 20:05:08-02"), base);
  EXPECT_EQ(At("2026-11-21T22:05"), base - std::chrono::seconds(8));
  EXPECT_EQ(At("2026-11-21T22:05:08.420191+00:00") - base, std::chrono::microseconds(420191));
  EXPECT_EQ(PythonIsoformatUtc(At("2026-11-21T22:05:08.420191Z")),
            "2026-11-21T22:05:08.420191+00:00");
  EXPECT_EQ(PythonIsoformatUtc(base), "2026-11-21T22:05:08+00:00");
  EXPECT_EQ(PythonIsoformatUtc(At("1969-12-31T23:59:59.5Z")), "1969-12-31T23:59:59.500000+00:00");
  for (const char* bad :
       {"", "2026-11-21", "2026-13-01T00:00:00", "2026-02-30T00:00:00", "2026-11-21T24:00:00",
        "2026-11-21T22:05:08+25:00", "2026-11-21T22:05:08 junk", "2026-11-21T22:05:08."}) {
    auto tp = ParseIso8601(bad);
    EXPECT_FALSE(tp.ok()) << bad;
    if (!tp.ok()) {
      EXPECT_EQ(tp.status().code(), "bad_timestamp");
    }
  }
}

// ---- Every decode error code ------------------------------------------------------------------

void ExpectError(const Status& s, const std::string& code, const std::string& needle) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation) << s.ToString();
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "message '" << s.message() << "' does not mention '" << needle << "'";
  EXPECT_EQ(s.stage(), "celery_decode");
}

TEST(CeleryCodecErrors, InvalidJson) {
  ExpectError(DecodeTaskMessage("{not json").status(), "invalid_json", "not valid JSON");
  ExpectError(DecodeTaskMessage("[1, 2]").status(), "invalid_json", "array");
  ExpectError(DecodeTaskMessage("").status(), "invalid_json", "not valid JSON");
}

TEST(CeleryCodecErrors, BadContentTypeNamesTheType) {
  json env = Envelope();
  env["content-type"] = "application/x-python-serialize";
  ExpectError(DecodeStatus(env), "bad_content_type", "pickle");
  env["content-type"] = "application/x-msgpack";
  ExpectError(DecodeStatus(env), "bad_content_type", "application/x-msgpack");
  env["content-type"] = "application/x-yaml";
  ExpectError(DecodeStatus(env), "bad_content_type", "yaml");
  env["content-type"] = "text/plain";
  ExpectError(DecodeStatus(env), "bad_content_type", "'text/plain'");
  env.erase("content-type");
  ExpectError(DecodeStatus(env), "bad_content_type", "missing");
}

TEST(CeleryCodecErrors, BadEncoding) {
  json env = Envelope();
  env["content-encoding"] = "binary";
  ExpectError(DecodeStatus(env), "bad_encoding", "'binary'");
  env = Envelope();
  env["properties"]["body_encoding"] = "hex";
  ExpectError(DecodeStatus(env), "bad_encoding", "body_encoding");
  env = Envelope();
  env["properties"].erase("body_encoding");
  ExpectError(DecodeStatus(env), "bad_encoding", "body_encoding is missing");
  env = Envelope();
  env["body"] = B64("[[\"\xff\"], {}, null]");
  ExpectError(DecodeStatus(env), "bad_encoding", "not UTF-8");
}

TEST(CeleryCodecErrors, BadBase64) {
  json env = Envelope();
  env["body"] = "W1sxXSwge30sIG51bGxd!!";
  ExpectError(DecodeStatus(env), "bad_base64", "offset");
  env["body"] = "W1sxXSwge30sIG51bGx";  // truncated padding
  ExpectError(DecodeStatus(env), "bad_base64", "not valid base64");
  env["body"] = json::array({1});
  ExpectError(DecodeStatus(env), "bad_base64", "array");
}

TEST(CeleryCodecErrors, CompressedMessage) {
  json env = Envelope();
  env["headers"]["compression"] = "application/x-gzip";
  ExpectError(DecodeStatus(env), "compressed_message", "x-gzip");
}

TEST(CeleryCodecErrors, MissingHeadersAreNamed) {
  json env = Envelope();
  env["headers"].erase("task");
  ExpectError(DecodeStatus(env), "missing_header", "headers.task");
  env = Envelope();
  env["headers"].erase("id");
  ExpectError(DecodeStatus(env), "missing_header", "headers.id");
}

TEST(CeleryCodecErrors, ProtocolV1) {
  json env = Envelope(R"({"task": "tasks.add", "id": "x", "args": [1, 2], "kwargs": {}})");
  env["headers"] = json::object();
  ExpectError(DecodeStatus(env), "protocol_v1", "'tasks.add'");
}

TEST(CeleryCodecErrors, BadBody) {
  ExpectError(DecodeStatus(Envelope("not json")), "bad_body", "not valid JSON");
  ExpectError(DecodeStatus(Envelope(R"([[1], {}])")), "bad_body", "2 elements");
  ExpectError(DecodeStatus(Envelope(R"({"a": 1})")), "bad_body", "object");
  ExpectError(DecodeStatus(Envelope(R"([{}, {}, null])")), "bad_body", "args");
  ExpectError(DecodeStatus(Envelope(R"([[], [], null])")), "bad_body", "kwargs");
  ExpectError(DecodeStatus(Envelope(R"([[], {}, 5])")), "bad_body", "embed");
}

TEST(CeleryCodecErrors, BadHeader) {
  json env = Envelope();
  env["headers"]["eta"] = "tomorrow";
  ExpectError(DecodeStatus(env), "bad_header", "headers.eta 'tomorrow'");
  env = Envelope();
  env["headers"]["timelimit"] = json::array({"1", nullptr});
  ExpectError(DecodeStatus(env), "bad_header", "timelimit[0]");
  env = Envelope();
  env["headers"]["retries"] = -1;
  ExpectError(DecodeStatus(env), "bad_header", "retries");
  env = Envelope();
  env["headers"]["id"] = 7;
  ExpectError(DecodeStatus(env), "bad_header", "headers.id");
}

TEST(CeleryCodecDecode, AcceptsNullEmbedRedeliveredAndOddPriorities) {
  json env = Envelope();
  env["headers"]["redelivered"] = true;
  env["properties"]["priority"] = 12;
  env["headers"]["timelimit"] = json::array({nullptr, 30});
  auto m = DecodeTaskMessage(env.dump());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->embed.is_null());
  EXPECT_TRUE(m->redelivered);
  EXPECT_EQ(m->priority, 9);
  EXPECT_FALSE(m->hard_time_limit_s);
  EXPECT_EQ(m->soft_time_limit_s, 30);
  EXPECT_EQ(m->args, json::array({1}));
}

// ---- Interop with the real Python Celery ------------------------------------------------------

constexpr const char* kPython = "/usr/bin/python3";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "veil_celery_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

struct PythonRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `script` with /usr/bin/python3 and an optional input file argument.
PythonRun RunPython(const std::string& script, const std::string& input = "") {
  TempDir dir;
  PythonRun run;
  const std::string script_path = dir.Write("script.py", script);
  std::string cmd = std::string(kPython) + " " + script_path;
  if (!input.empty()) cmd += " " + dir.Write("input.jsonl", input);
  cmd += " 2>" + dir.path() + "/stderr.txt";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(dir.path() + "/stderr.txt");
  run.err.assign(std::istreambuf_iterator<char>(err), {});
  return run;
}

std::vector<json> JsonLines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

// The interop tests must fail (not skip) without Python Celery: the setup script installs it.
class CeleryPythonInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kPython, X_OK), 0)
        << kPython << " is missing; install python3-celery and python3-kombu "
        << "(scripts/install-deps.sh)";
    const PythonRun run = RunPython("import celery, kombu\nprint(celery.__version__)\n");
    ASSERT_EQ(run.exit_code, 0) << "celery/kombu are not importable by " << kPython
                                << " (apt-get install python3-celery python3-kombu): " << run.err;
  }
};

// (1) Python builds messages exactly as send_task does (kombu's in-memory transport keeps the
// message dict that the Redis transport would json-dump and LPUSH); C++ decodes them, computes
// the same queue key, and re-encodes them byte for byte.
constexpr const char* kPythonSendScript = R"py(
import datetime, json
from celery import Celery
from kombu.utils.json import dumps
from kombu.transport.redis import Channel as RedisChannel

class Pri:  # kombu's Redis priority-bucket logic without a connection
    sep = '\x06\x16'
    priority_steps = [0, 3, 6, 9]
    min_priority, max_priority, default_priority = 0, 9, 0
    priority = RedisChannel.priority
    _q_for_pri = RedisChannel._q_for_pri
    _get_message_priority = RedisChannel._get_message_priority

UTC = datetime.timezone.utc
app = Celery("interop", broker="memory://")
cases = [
    ("golden", dict(name="tasks.secretflow.psi", args=[{"task_id": "t1"}], kwargs={"x": 1},
                    queue="secretflow_queue", routing_key="secretflow")),
    ("empty", dict(name="tasks.secretflow.hello.ping_task", queue="secretflow_queue")),
    ("full", dict(name="tasks.secretflow.execute_task", task_id="abc-123",
        args=[{"task_id": "t", "subtask_id": "s", "execution_id": "e",
               "sf_init_config": {"parties": ["alice", "bob"], "address": "local"},
               "task_config": {"task_type": "psi", "keys": {"alice": ["id"]},
                               "nested": {"deep": {"deeper": [1, 2]}}}}],
        kwargs={"z": None, "a": True, "f": 0.1, "g": 1e-05, "h": 1e16, "i": 2.5,
                "big": 12345678901234, "neg": -3, "uni": "数据 ✓ 😀",
                "quote": "it's \"q\"\n\ttab\\"},
        queue="secretflow_queue", priority=7,
        eta=datetime.datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC),
        expires=datetime.datetime(2030, 1, 2, 3, 4, 5, 678900, tzinfo=UTC),
        time_limit=100, soft_time_limit=50.5, ignore_result=True, root_id="root-1",
        parent_id="parent-1", group_id="group-1", group_index=2, shadow="shadowed")),
    ("long", dict(name="tasks.secretflow.hello.echo_task",
                  args=["word " * 300, list(range(400)), "x" * 2000],
                  kwargs={"k%d" % i: "value %d" % i for i in range(120)},
                  queue="other_queue", priority=3)),
    ("long_key", dict(name="t.k", args=[], kwargs={"key " * 300: 1}, queue="q")),
    ("deep_cut", dict(name="t.d", args=["y" * 1010, [[1, 2], [3]], 5], queue="q")),
    ("pri9", dict(name="t.p9", args=[1], queue="q", priority=9)),
    ("pri1", dict(name="t.p1", args=[[1, [2, [3, [4]]]]], queue="q", priority=1)),
]
for case, kw in cases:
    app.send_task(**kw)
    q = kw["queue"]
    with app.connection_for_write() as conn:
        msg = conn.default_channel.queues[q].get()
    print(json.dumps({"case": case, "raw": dumps(msg),
                      "queue_key": Pri()._q_for_pri(q, Pri()._get_message_priority(msg)),
                      "args": dumps(list(kw.get("args") or [])),
                      "kwargs": dumps(kw.get("kwargs") or {})}))
)py";

TEST_F(CeleryPythonInterop, PythonSendTaskMessagesDecodeAndReencodeByteForByte) {
  const PythonRun run = RunPython(kPythonSendScript);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 8u) << run.out << run.err;
  std::map<std::string, CeleryTaskMessage> by_case;
  for (const json& line : lines) {
    const std::string c = line["case"];
    const std::string raw = line["raw"];
    auto m = DecodeTaskMessage(raw);
    ASSERT_TRUE(m.ok()) << c << ": " << m.status().ToString() << "\n" << raw;
    EXPECT_EQ(QueueKeyForPriority(m->routing_key, m->priority), line["queue_key"]) << c;

    SendRequest req;
    req.task = m->task;
    req.args = ordered_json::parse(line["args"].get<std::string>());
    req.kwargs = ordered_json::parse(line["kwargs"].get<std::string>());
    req.queue = m->routing_key;
    req.priority = m->priority;
    req.eta = m->eta;
    req.expires = m->expires;
    req.hard_time_limit_s = m->hard_time_limit_s;
    req.soft_time_limit_s = m->soft_time_limit_s;
    req.retries = m->retries;
    req.ignore_result = m->ignore_result;
    req.task_id = m->id;
    req.root_id = m->root_id.value_or("");
    req.parent_id = m->parent_id;
    req.group_id = m->group;
    req.group_index = m->group_index;
    req.shadow = m->shadow;
    req.origin = m->origin.value_or("");
    req.reply_to = m->reply_to;
    req.delivery_tag = m->delivery_tag;
    TimePoint now = system_clock::now();
    const json env = json::parse(raw);
    if (m->expires) {
      // Python computed properties.expiration from its own clock; replay that instant.
      now = *m->expires - std::chrono::milliseconds(
                              std::stoll(env["properties"]["expiration"].get<std::string>()));
    }
    EXPECT_EQ(EncodeTaskMessage(req, now), raw) << c;
    by_case[c] = *m;
  }

  const CeleryTaskMessage& full = by_case["full"];
  EXPECT_EQ(full.id, "abc-123");
  EXPECT_EQ(full.task, "tasks.secretflow.execute_task");
  EXPECT_EQ(full.args[0]["sf_init_config"]["parties"], json::array({"alice", "bob"}));
  EXPECT_EQ(full.kwargs["uni"], "数据 ✓ 😀");
  EXPECT_EQ(full.kwargs["quote"], "it's \"q\"\n\ttab\\");
  EXPECT_EQ(full.kwargs["h"], 1e16);
  EXPECT_EQ(full.eta, At("2030-01-01T00:00:00Z"));
  EXPECT_EQ(full.expires, At("2030-01-02T03:04:05.6789Z"));
  EXPECT_EQ(full.hard_time_limit_s, 100);
  EXPECT_EQ(full.soft_time_limit_s, 50.5);
  EXPECT_TRUE(full.ignore_result);
  EXPECT_EQ(full.root_id, "root-1");
  EXPECT_EQ(full.parent_id, "parent-1");
  EXPECT_EQ(full.group, "group-1");
  EXPECT_EQ(full.group_index, 2);
  EXPECT_EQ(full.shadow, "shadowed");
  EXPECT_EQ(full.priority, 7);
  EXPECT_EQ(by_case["empty"].args, json::array());
  EXPECT_EQ(by_case["golden"].routing_key, "secretflow_queue");  // routing_key= is ignored
}

// (3) Messages encoded by C++ go through kombu's decoding (accept=['json']) and celery's worker
// Request parsing.
constexpr const char* kPythonReceiveScript = R"py(
import json, sys
from celery import Celery
from celery.worker.request import Request
from kombu import serialization
from kombu.serialization import prepare_accept_content
from kombu.transport.redis import Channel as RedisChannel

class Pri:
    sep = '\x06\x16'
    priority_steps = [0, 3, 6, 9]
    min_priority, max_priority, default_priority = 0, 9, 0
    priority = RedisChannel.priority
    _q_for_pri = RedisChannel._q_for_pri
    _get_message_priority = RedisChannel._get_message_priority

app = Celery("interop", broker="memory://")
with app.connection_for_write() as conn:
    ch = conn.default_channel
    for line in open(sys.argv[1]):
        case = json.loads(line)
        env = json.loads(case["raw"])
        queue = env["properties"]["delivery_info"]["routing_key"]
        ch._put(queue, env)
        message = ch.basic_get(queue, no_ack=True)
        body = serialization.loads(message.body, message.content_type,
                                   message.content_encoding,
                                   accept=prepare_accept_content(["json"]))
        name = message.headers["task"]
        if name not in app.tasks:
            def accept_anything(*args, **kwargs):
                return None
            app.task(name=name)(accept_anything)
        req = Request(message, app=app, task=app.tasks[name])
        print(json.dumps({
            "case": case["case"], "protocol2": "task" in message.headers, "body": body,
            "id": req.id, "name": req.name, "type": req.type, "args": req.args,
            "kwargs": req.kwargs, "eta": req.eta.isoformat() if req.eta else None,
            "expires": req.expires.isoformat() if req.expires else None,
            "time_limits": list(req.time_limits), "delivery_info": req.delivery_info,
            "argsrepr": req.argsrepr, "kwargsrepr": req.kwargsrepr, "root_id": req.root_id,
            "parent_id": req.parent_id, "group": req.group, "group_index": req.group_index,
            "ignore_result": req.ignore_result, "correlation_id": req.correlation_id,
            "reply_to": req.reply_to,
            "queue_key": Pri()._q_for_pri(queue, Pri()._get_message_priority(env))}))
)py";

TEST_F(CeleryPythonInterop, CppEncodedMessagesAreAcceptedByKombuAndCeleryRequest) {
  SendRequest full;
  full.task = "tasks.secretflow.execute_task";
  full.task_id = "cpp-1";
  full.args = ordered_json::parse(R"([{"task_id": "t", "execution_id": "e", "n": 1.5,
      "text": "数据 it's"}])");
  full.kwargs = ordered_json{{"flag", true}};
  full.queue = "secretflow_queue";
  full.priority = 4;
  full.eta = At("2030-05-06T07:08:09.123456Z");
  full.expires = At("2030-05-07T00:00:00Z");
  full.hard_time_limit_s = 7200;
  full.soft_time_limit_s = 3600;
  full.ignore_result = true;
  full.parent_id = "parent";
  full.group_id = "group";
  full.group_index = 1;
  SendRequest minimal;
  minimal.task = "tasks.secretflow.hello.ping_task";
  minimal.task_id = "cpp-2";
  minimal.queue = "q2";

  std::string input;
  input += json{{"case", "full"}, {"raw", EncodeTaskMessage(full)}}.dump() + "\n";
  input += json{{"case", "minimal"}, {"raw", EncodeTaskMessage(minimal)}}.dump() + "\n";
  const PythonRun run = RunPython(kPythonReceiveScript, input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out << run.err;

  const json& f = lines[0];
  EXPECT_TRUE(f["protocol2"].get<bool>());
  EXPECT_EQ(f["id"], "cpp-1");
  EXPECT_EQ(f["name"], "tasks.secretflow.execute_task");
  EXPECT_EQ(f["args"], json(full.args));
  EXPECT_EQ(f["kwargs"], json({{"flag", true}}));
  EXPECT_EQ(f["body"][2],
            json::parse(R"({"callbacks": null, "errbacks": null, "chain": null, "chord": null})"));
  EXPECT_EQ(f["eta"], "2030-05-06T07:08:09.123456+00:00");
  EXPECT_EQ(f["expires"], "2030-05-07T00:00:00+00:00");
  EXPECT_EQ(f["time_limits"], json::array({7200, 3600}));
  EXPECT_EQ(f["delivery_info"]["exchange"], "");
  EXPECT_EQ(f["delivery_info"]["routing_key"], "secretflow_queue");
  EXPECT_EQ(f["delivery_info"]["priority"], 4);
  EXPECT_EQ(f["argsrepr"],
            "[{'task_id': 't', 'execution_id': 'e', 'n': 1.5, 'text': '数据 it\\'s'}]");
  EXPECT_EQ(f["kwargsrepr"], "{'flag': True}");
  EXPECT_EQ(f["root_id"], "cpp-1");
  EXPECT_EQ(f["parent_id"], "parent");
  EXPECT_EQ(f["group"], "group");
  EXPECT_EQ(f["group_index"], 1);
  EXPECT_TRUE(f["ignore_result"].get<bool>());
  EXPECT_EQ(f["correlation_id"], "cpp-1");
  EXPECT_EQ(f["queue_key"], QueueKeyForPriority("secretflow_queue", 4));

  const json& m = lines[1];
  EXPECT_EQ(m["name"], "tasks.secretflow.hello.ping_task");
  EXPECT_EQ(m["args"], json::array());
  EXPECT_EQ(m["kwargs"], json::object());
  EXPECT_TRUE(m["eta"].is_null());
  EXPECT_EQ(m["time_limits"], json::array({nullptr, nullptr}));
  EXPECT_EQ(m["argsrepr"], "()");
  EXPECT_EQ(m["queue_key"], "q2");
}

// (2) Result values written by C++ are read back through celery's own result machinery
// (KeyValueStoreBackend.decode_result → meta_from_decoded → exception_to_python →
// AsyncResult.get), and celery's own writes are compared with the C++ bytes.
constexpr const char* kPythonResultScript = R"py(
import json, sys
from celery import Celery
from celery.app.task import Context
from celery.exceptions import NotRegistered
from celery.result import AsyncResult
from kombu.utils.encoding import bytes_to_str

app = Celery("interop", broker="memory://", backend="cache+memory://")
backend = app.backend
for line in open(sys.argv[1]):
    case = json.loads(line)
    tid = case["task_id"]
    backend.set(backend.get_key_for_task(tid), case["raw"])
    r = AsyncResult(tid, app=app)
    out = {"case": case["case"], "key": bytes_to_str(backend.get_key_for_task(tid)),
           "state": r.state, "ready": r.ready()}
    if r.ready():
        try:
            out["value"] = r.get(timeout=5)
        except Exception as e:
            out.update(exc_name=type(e).__name__, exc_module=type(e).__module__,
                       exc_str=str(e), exc_args=list(e.args),
                       is_timeout=isinstance(e, TimeoutError),
                       is_runtime=isinstance(e, RuntimeError),
                       is_keyerror=isinstance(e, KeyError))
        out["date_done"] = r.date_done.isoformat() if r.date_done else None
        out["traceback"] = r.traceback
    else:
        info = r.info
        out["info"] = info if isinstance(info, dict) else {
            "exc_name": type(info).__name__, "exc_str": str(info)}
    print(json.dumps(out))

# Reference values written by celery itself, inside a task context (children = []).
req = Context(children=[], parent_id="p-1", group="g-1")
backend.mark_as_done("ref-success", {"x": 7, "list": [1, 2.5]}, request=req)
backend.mark_as_failure("ref-notregistered", NotRegistered("tasks.nope"), request=req)
backend.mark_as_failure("ref-value", ValueError("bad input", 42), traceback="tb", request=req)
backend.mark_as_revoked("ref-revoked", "expired", request=req)
backend.store_result("ref-started", {"pid": 12, "hostname": "w@h"}, "STARTED", request=req)
for tid in ["ref-success", "ref-notregistered", "ref-value", "ref-revoked", "ref-started"]:
    print(json.dumps({"case": tid,
                      "raw": bytes_to_str(backend.get(backend.get_key_for_task(tid)))}))
)py";

TEST_F(CeleryPythonInterop, CppResultValuesBehaveLikeCeleryResultsInAsyncResult) {
  const TimePoint done = At("2026-11-21T22:04:52.864180Z");
  const json wrapper = PythonWorkerSuccessWrapper(
      "T", "S", "E", json{{"status", "success"}, {"result", {{"intersection_count", 3}}}},
      "2026-11-21T22:04:52Z");
  struct Case {
    std::string name;
    std::string raw;
  };
  const std::vector<Case> cases = {
      {"success", SuccessResultJson(Meta("success"), wrapper, done)},
      {"param",
       FailureResultJson(
           Meta("param"),
           ParameterError("missing_field", "task_config.keys: required").WithStage("validate"),
           done)},
      {"timeout",
       FailureResultJson(Meta("timeout"),
                         TimeoutError("time_limit", "hard time limit 7200 s exceeded"), done)},
      {"internal", FailureResultJson(Meta("internal"), InternalError("bug", "unexpected"), done)},
      {"network", FailureResultJson(Meta("network"), NetworkError("peer_gone", "bob left"), done)},
      {"notregistered", NotRegisteredResultJson(Meta("notregistered"), "tasks.nope", done)},
      {"revoked", RevokedResultJson(Meta("revoked"), "expired", done)},
      {"started", StartedResultJson(Meta("started"), 4242, "node1@10.0.0.1")},
      {"retry", RetryResultJson(Meta("retry"), NetworkError("peer_gone", "retrying"))},
  };
  std::string input;
  for (const Case& c : cases) {
    input += json{{"case", c.name}, {"task_id", c.name}, {"raw", c.raw}}.dump() + "\n";
  }
  const PythonRun run = RunPython(kPythonResultScript, input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), cases.size() + 5) << run.out << run.err;
  std::map<std::string, json> got;
  for (const json& l : lines) got[l["case"]] = l;

  EXPECT_EQ(got["success"]["key"], ResultKey("success"));
  EXPECT_EQ(got["success"]["state"], "SUCCESS");
  EXPECT_EQ(got["success"]["value"], wrapper);
  EXPECT_EQ(got["success"]["date_done"], "2026-11-21T22:04:52.864180+00:00");

  EXPECT_EQ(got["param"]["state"], "FAILURE");
  EXPECT_EQ(got["param"]["exc_name"], "ParameterValidationError");
  EXPECT_EQ(got["param"]["exc_module"], "celery.exceptions");  // synthesized by celery
  EXPECT_EQ(got["param"]["exc_str"], "task_config.keys: required");
  EXPECT_NE(got["param"]["traceback"].get<std::string>().find("[missing_field]"),
            std::string::npos);

  EXPECT_EQ(got["timeout"]["exc_name"], "TimeoutError");
  EXPECT_TRUE(got["timeout"]["is_timeout"].get<bool>());
  EXPECT_EQ(got["timeout"]["exc_str"], "hard time limit 7200 s exceeded");

  EXPECT_EQ(got["internal"]["exc_name"], "RuntimeError");
  EXPECT_TRUE(got["internal"]["is_runtime"].get<bool>());
  EXPECT_EQ(got["network"]["exc_name"], "NetworkError");
  EXPECT_EQ(got["network"]["exc_args"], json::array({"bob left"}));

  EXPECT_EQ(got["notregistered"]["exc_name"], "NotRegistered");
  EXPECT_TRUE(got["notregistered"]["is_keyerror"].get<bool>());
  EXPECT_EQ(got["notregistered"]["exc_args"], json::array({"tasks.nope"}));

  EXPECT_EQ(got["revoked"]["state"], "REVOKED");
  EXPECT_EQ(got["revoked"]["exc_name"], "TaskRevokedError");
  EXPECT_EQ(got["revoked"]["exc_args"], json::array({"expired"}));

  EXPECT_EQ(got["started"]["state"], "STARTED");
  EXPECT_FALSE(got["started"]["ready"].get<bool>());
  EXPECT_EQ(got["started"]["info"], json({{"pid", 4242}, {"hostname", "node1@10.0.0.1"}}));
  EXPECT_EQ(got["retry"]["state"], "RETRY");
  EXPECT_EQ(got["retry"]["info"]["exc_name"], "NetworkError");
  EXPECT_EQ(got["retry"]["info"]["exc_str"], "retrying");

  // celery's own bytes equal ours, date_done aside (5.2 writes it naive, we add +00:00).
  auto same_but_date = [&](const std::string& py_raw, const std::string& cpp_raw) {
    ordered_json py = ordered_json::parse(py_raw);
    ordered_json cpp = ordered_json::parse(cpp_raw);
    EXPECT_EQ(PythonJsonDumps(py), py_raw) << "json.dumps formatting differs";
    EXPECT_EQ(py["date_done"].is_null(), cpp["date_done"].is_null()) << py_raw;
    py["date_done"] = "D";
    cpp["date_done"] = "D";
    EXPECT_EQ(PythonJsonDumps(cpp), PythonJsonDumps(py));
  };
  const ResultMeta ref{"", std::string("p-1"), std::string("g-1")};
  auto with_id = [&](std::string id) {
    ResultMeta m = ref;
    m.task_id = std::move(id);
    return m;
  };
  same_but_date(got["ref-success"]["raw"],
                SuccessResultJson(with_id("ref-success"),
                                  ordered_json::parse(R"({"x": 7, "list": [1, 2.5]})")));
  same_but_date(got["ref-notregistered"]["raw"],
                NotRegisteredResultJson(with_id("ref-notregistered"), "tasks.nope"));
  same_but_date(got["ref-value"]["raw"],
                FailureResultJson(with_id("ref-value"),
                                  CeleryException{"ValueError", "builtins",
                                                  ordered_json::array({"bad input", 42}), nullptr},
                                  std::string("tb")));
  same_but_date(got["ref-revoked"]["raw"], RevokedResultJson(with_id("ref-revoked"), "expired"));
  same_but_date(got["ref-started"]["raw"], StartedResultJson(with_id("ref-started"), 12, "w@h"));
}

// The EVAL script, against a real redis-server when one is installed (the setup script installs
// it): it stores and publishes, keeps a SUCCESS, and honours the TTL argument.
constexpr const char* kPythonLuaScript = R"py(
import json, os, subprocess, sys, tempfile, time
import redis
case = json.loads(open(sys.argv[1]).read())
d = tempfile.mkdtemp()
sock = os.path.join(d, "redis.sock")
srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                        "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
try:
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    r = redis.Redis(unix_socket_path=sock)
    for _ in range(100):
        try:
            r.ping(); break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    p = r.pubsub()
    p.subscribe(case["key"])
    p.get_message(timeout=1)
    out = {}
    out["first"] = r.eval(case["script"], 1, case["key"], case["started"], 100)
    out["msg1"] = p.get_message(timeout=2)["data"].decode()
    out["ttl1"] = r.ttl(case["key"])
    out["second"] = r.eval(case["script"], 1, case["key"], case["success"], 0)
    out["ttl2"] = r.ttl(case["key"])
    out["msg2"] = p.get_message(timeout=2)["data"].decode()
    out["third"] = r.eval(case["script"], 1, case["key"], case["failure"], 100)
    out["stored"] = r.get(case["key"]).decode()
    out["msg3"] = p.get_message(timeout=0.5)
    print(json.dumps({k: (v if not isinstance(v, dict) else str(v)) for k, v in out.items()}))
finally:
    srv.terminate()
    srv.wait()
)py";

TEST_F(CeleryPythonInterop, StoreResultScriptKeepsSuccessAndPublishes) {
  if (std::system("command -v redis-server >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "redis-server is not installed";
  }
  if (RunPython("import redis\n").exit_code != 0) GTEST_SKIP() << "python3-redis is missing";
  const std::string key = ResultKey("lua-1");
  const json c = {{"script", std::string(kStoreResultScript)},
                  {"key", key},
                  {"started", StartedResultJson(Meta("lua-1"), 1, "h")},
                  {"success", SuccessResultJson(Meta("lua-1"), json{{"ok", true}})},
                  {"failure", FailureResultJson(Meta("lua-1"), NetworkError("x", "late failure"))}};
  const PythonRun run = RunPython(kPythonLuaScript, c.dump());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 1u) << run.out;
  const json& o = lines[0];
  EXPECT_EQ(o["first"], 1);
  EXPECT_EQ(o["msg1"], c["started"]);
  EXPECT_GT(o["ttl1"].get<int>(), 90);
  EXPECT_EQ(o["second"], 1);
  EXPECT_EQ(o["ttl2"], -1);  // ttl 0: no expiry
  EXPECT_EQ(o["msg2"], c["success"]);
  EXPECT_EQ(o["third"], 0);  // SUCCESS is never overwritten
  EXPECT_EQ(o["stored"], c["success"]);
  EXPECT_TRUE(o["msg3"].is_null());
}

}  // namespace
}  // namespace veil::worker
