// Lua functions shared by the worker's EVAL scripts, so each Redis transition is written once.
// A script that needs one starts with its fragment (string literals concatenate at compile
// time, keeping every script a constexpr constant that RedisFake can match by text).
#pragma once

// store_result(key, value, ttl): stores a Celery result unless the stored one is already SUCCESS
// (Celery's guard against duplicate execution, done atomically), then PUBLISHes it on the key's
// channel so a waiting AsyncResult.get() wakes up. ttl <= 0: no expiry. Returns 1 if stored,
// 0 if a SUCCESS was kept.
#define VEIL_LUA_STORE_RESULT_FN                                                            \
  "local function store_result(key, value, ttl_arg)\n"                                      \
  "  local current = redis.call('GET', key)\n"                                              \
  "  if current then\n"                                                                     \
  "    local ok, meta = pcall(cjson.decode, current)\n"                                     \
  "    if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end\n" \
  "  end\n"                                                                                 \
  "  local ttl = math.floor(tonumber(ttl_arg) or 0)\n"                                      \
  "  if ttl > 0 then\n"                                                                     \
  "    redis.call('SET', key, value, 'EX', ttl)\n"                                          \
  "  else\n"                                                                                \
  "    redis.call('SET', key, value)\n"                                                     \
  "  end\n"                                                                                 \
  "  redis.call('PUBLISH', key, value)\n"                                                   \
  "  return 1\n"                                                                            \
  "end\n"

// publish_event(list, stream, record, channel, event, seq, maxlen, execution_id, status):
// publishes a status event on the channel, the list and the (trimmed, maxlen > 0) stream, unless
// `record` ('' = none) already saw a seq >= this one (re-sent after a lost reply). Returns 1 if
// published, 0 if skipped as a duplicate.
#define VEIL_LUA_PUBLISH_EVENT_FN                                                             \
  "local function publish_event(list, stream, record, channel, event, seq_arg, maxlen_arg,\n" \
  "                             execution_id, status)\n"                                      \
  "  if record ~= '' then\n"                                                                  \
  "    local last = tonumber(redis.call('HGET', record, 'last_seq') or '0') or 0\n"           \
  "    if (tonumber(seq_arg) or 0) <= last then return 0 end\n"                               \
  "    redis.call('HSET', record, 'last_seq', seq_arg)\n"                                     \
  "  end\n"                                                                                   \
  "  redis.call('PUBLISH', channel, event)\n"                                                 \
  "  redis.call('LPUSH', list, event)\n"                                                      \
  "  local maxlen = math.floor(tonumber(maxlen_arg) or 0)\n"                                  \
  "  if maxlen > 0 then\n"                                                                    \
  "    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event', event,\n"              \
  "               'execution_id', execution_id, 'status', status)\n"                          \
  "  else\n"                                                                                  \
  "    redis.call('XADD', stream, '*', 'event', event, 'execution_id', execution_id,\n"       \
  "               'status', status)\n"                                                        \
  "  end\n"                                                                                   \
  "  return 1\n"                                                                              \
  "end\n"
