#include "veil/worker/celery_codec.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "veil/base/config_reader.h"
#include "veil/base/random.h"

namespace veil::worker {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kStageDecode = "celery_decode";
constexpr int kReprMaxLevels = 3;  // celery.utils.saferepr default

Status DecodeError(std::string code, std::string message) {
  return ParameterError(std::move(code), "celery message: " + std::move(message))
      .WithStage(std::string(kStageDecode));
}

// ---- UTF-8 ----------------------------------------------------------------------------------

constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes one code point at s[*i] and advances *i; an invalid sequence yields U+FFFD, clears
// *valid (when given) and advances by one byte.
char32_t NextCodePoint(std::string_view s, size_t* i, bool* valid = nullptr) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  auto invalid = [&] {
    ++*i;
    if (valid) *valid = false;
    return kReplacementChar;
  };
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return invalid();
  }
  if (*i + len > s.size()) return invalid();
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return invalid();
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid();
  *i += len;
  return cp;
}

bool IsValidUtf8(std::string_view s, size_t* bad_offset) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    bool valid = true;
    NextCodePoint(s, &i, &valid);
    if (!valid) {
      *bad_offset = start;
      return false;
    }
  }
  return true;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    NextCodePoint(s, &i);
    ++n;
  }
  return n;
}

std::string CodePointPrefix(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n && i < s.size(); ++k) NextCodePoint(s, &i);
  return std::string(s.substr(0, i));
}

// ---- Python json.dumps ----------------------------------------------------------------------

void AppendUnicodeEscape(unsigned v, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xFFFFu);
  out->append(buf);
}

void DumpPyString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = NextCodePoint(s, &i);
    switch (cp) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      out->push_back(static_cast<char>(cp));
    } else if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      AppendUnicodeEscape(0xD800 | (v >> 10), out);
      AppendUnicodeEscape(0xDC00 | (v & 0x3FF), out);
    } else {
      AppendUnicodeEscape(static_cast<unsigned>(cp), out);
    }
  }
  out->push_back('"');
}

template <typename Json>
void DumpPy(const Json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out->append("null");
      return;
    case nlohmann::json::value_t::boolean:
      out->append(v.template get<bool>() ? "true" : "false");
      return;
    case nlohmann::json::value_t::number_integer:
      out->append(std::to_string(v.template get<int64_t>()));
      return;
    case nlohmann::json::value_t::number_unsigned:
      out->append(std::to_string(v.template get<uint64_t>()));
      return;
    case nlohmann::json::value_t::number_float: {
      const double d = v.template get<double>();
      out->append(std::isfinite(d) ? PythonFloatRepr(d) : "null");
      return;
    }
    case nlohmann::json::value_t::string:
      DumpPyString(v.template get_ref<const std::string&>(), out);
      return;
    case nlohmann::json::value_t::binary:
      out->append("null");
      return;
    case nlohmann::json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out->append(", ");
        first = false;
        DumpPy(e, out);
      }
      out->push_back(']');
      return;
    }
    case nlohmann::json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out->append(", ");
        first = false;
        DumpPyString(it.key(), out);
        out->append(": ");
        DumpPy(it.value(), out);
      }
      out->push_back('}');
      return;
    }
  }
}

// ---- celery.utils.saferepr --------------------------------------------------------------------
//
// A port of celery's streaming saferepr for JSON values: the value becomes a flat token stream
// (container starts/ends and separators are "literals"), and the remaining character budget is
// spent token by token exactly as `_saferepr` does, including its quirks (truncate() cuts at
// len >= budget, strings are quoted with ' and only ' is escaped, closing brackets of open
// containers are appended after ", ...").

struct ReprToken {
  enum Kind { kOpen, kClose, kSep, kQuoted, kPlain } kind;
  std::string text;   // literal text, the raw string (kQuoted) or the rendered value (kPlain)
  std::string close;  // for kOpen: the text of the matching close
};

std::string PyStr(const ojson& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "None";
    case nlohmann::json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case nlohmann::json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case nlohmann::json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
      return PythonFloatRepr(d);
    }
    default:
      return "None";
  }
}

void Tokenize(const ojson& v, int level, bool as_tuple, std::vector<ReprToken>* out) {
  if (v.is_string()) {
    out->push_back({ReprToken::kQuoted, v.get<std::string>(), {}});
    return;
  }
  if (!v.is_array() && !v.is_object()) {
    out->push_back({ReprToken::kPlain, PyStr(v), {}});
    return;
  }
  std::string open = v.is_object() ? "{" : (as_tuple ? "(" : "[");
  std::string close = v.is_object() ? "}" : (as_tuple ? (v.size() == 1 ? ",)" : ")") : "]");
  if (level >= kReprMaxLevels) {
    out->push_back({ReprToken::kPlain, open + "..." + close, {}});
    return;
  }
  out->push_back({ReprToken::kOpen, open, close});
  size_t i = 0;
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      out->push_back({ReprToken::kQuoted, it.key(), {}});
      out->push_back({ReprToken::kSep, ": ", {}});
      Tokenize(it.value(), level + 1, false, out);
      if (i + 1 < v.size()) out->push_back({ReprToken::kSep, ", ", {}});
    }
  } else {
    for (const auto& e : v) {
      Tokenize(e, level + 1, false, out);
      if (++i < v.size()) out->push_back({ReprToken::kSep, ", ", {}});
    }
  }
  out->push_back({ReprToken::kClose, close, {}});
}

// celery.utils.text.truncate(s, maxlen) with suffix "...".
std::string PyTruncate(std::string_view s, int64_t maxlen) {
  if (maxlen > 0 && static_cast<int64_t>(CodePointCount(s)) >= maxlen) {
    std::string prefix = CodePointPrefix(s, static_cast<size_t>(maxlen));
    const size_t space = prefix.rfind(' ');
    if (space != std::string::npos) prefix.resize(space);
    return prefix + "...";
  }
  return std::string(s);
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// ---- Time -----------------------------------------------------------------------------------

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// ---- JSON field helpers for decoding ----------------------------------------------------------

// 'text' for messages, cut at a code-point boundary when long.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxQuotedChars = 80;
  if (CodePointCount(s) > kMaxQuotedChars) return "'" + CodePointPrefix(s, kMaxQuotedChars) + "…'";
  return "'" + std::string(s) + "'";
}

// A string-or-null header; wrong types are reported.
Status OptionalString(const nlohmann::json& obj, const char* key, const std::string& path,
                      std::optional<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_string()) {
    return DecodeError("bad_header", path + " is a " + JsonTypeName(*it) + ", expected a string");
  }
  *out = it->get<std::string>();
  return Status();
}

Status OptionalTime(const nlohmann::json& headers, const char* key, std::optional<TimePoint>* out) {
  std::optional<std::string> text;
  VEIL_RETURN_IF_ERROR(OptionalString(headers, key, std::string("headers.") + key, &text));
  if (!text) return Status();
  auto tp = ParseIso8601(*text);
  if (!tp.ok()) {
    return DecodeError("bad_header", std::string("headers.") + key + " " + Quote(*text) +
                                         " is not an ISO 8601 timestamp: " + tp.status().message());
  }
  *out = *tp;
  return Status();
}

Status OptionalNumber(const nlohmann::json& v, const std::string& path,
                      std::optional<double>* out) {
  if (v.is_null()) return Status();
  if (!v.is_number()) {
    return DecodeError("bad_header", path + " is a " + JsonTypeName(v) + ", expected a number");
  }
  *out = v.get<double>();
  return Status();
}

std::string ContentTypeRefusal(std::string_view type) {
  if (type == "application/x-python-serialize") return " (pickle is never accepted)";
  if (type == "application/x-msgpack") return " (msgpack is not accepted)";
  if (type == "application/x-yaml") return " (yaml is not accepted)";
  return "";
}

std::string LowerAscii(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// ---- Encoding helpers -------------------------------------------------------------------------

ojson NumberOrNull(const std::optional<double>& v) {
  if (!v) return nullptr;
  const double d = *v;
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
    return static_cast<int64_t>(d);
  }
  return d;
}

template <typename T>
ojson OrNull(const std::optional<T>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

std::string AnonNodename() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return "gen" + std::to_string(getpid()) + "@" + host;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// ---- Results ----------------------------------------------------------------------------------

ojson ExceptionJson(const CeleryException& exc) {
  ojson j;
  j["exc_type"] = exc.exc_type;
  j["exc_message"] = exc.exc_message.is_array() ? exc.exc_message : ojson::array({exc.exc_message});
  j["exc_module"] = exc.exc_module;
  if (!exc.veil_error.is_null()) j["veil_error"] = exc.veil_error;
  return j;
}

std::string MetaJson(const ResultMeta& meta, std::string_view status, ojson result,
                     const std::optional<std::string>& traceback,
                     const std::optional<TimePoint>& date_done) {
  ojson j;
  j["status"] = status;
  j["result"] = std::move(result);
  j["traceback"] = OrNull(traceback);
  j["children"] = ojson::array();
  j["date_done"] = date_done ? ojson(PythonIsoformatUtc(*date_done)) : ojson(nullptr);
  if (meta.group_id) j["group_id"] = *meta.group_id;
  if (meta.parent_id) j["parent_id"] = *meta.parent_id;
  j["task_id"] = meta.task_id;
  return PythonJsonDumps(j);
}

}  // namespace

// ---- Building blocks --------------------------------------------------------------------------

std::string PythonJsonDumps(const nlohmann::ordered_json& value) {
  std::string out;
  DumpPy(value, &out);
  return out;
}

std::string PythonJsonDumps(const nlohmann::json& value) {
  std::string out;
  DumpPy(value, &out);
  return out;
}

std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string s(buf, res.ptr);  // shortest round-trip digits, e.g. "-1.2345e+02"
  std::string out;
  if (!s.empty() && s[0] == '-') {
    out.push_back('-');
    s.erase(0, 1);
  }
  const size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = std::stoi(s.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits == "0") exp10 = 0;
  const int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (decpt >= n) {
      out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(decpt)) + "." +
             digits.substr(static_cast<size_t>(decpt));
    }
  } else {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += ebuf;
  }
  return out;
}

std::string CelerySafeRepr(const nlohmann::ordered_json& value, size_t max_chars, bool as_tuple) {
  std::vector<ReprToken> tokens;
  Tokenize(value, 0, as_tuple, &tokens);
  std::string out;
  int64_t budget = static_cast<int64_t>(max_chars);
  std::vector<const ReprToken*> open;
  for (const ReprToken& tok : tokens) {
    if (budget <= 0) {
      out += ", ...";
      // celery keeps the closing literals still pending in its iterator chain: the close of a
      // container whose start was just skipped is among them, the skipped close itself is not.
      if (tok.kind == ReprToken::kOpen) open.push_back(&tok);
      if (tok.kind == ReprToken::kClose && !open.empty()) open.pop_back();
      for (auto it = open.rbegin(); it != open.rend(); ++it) out += (*it)->close;
      return out;
    }
    std::string val;
    switch (tok.kind) {
      case ReprToken::kOpen:
      case ReprToken::kClose:
      case ReprToken::kSep:
        val = tok.text;
        break;
      case ReprToken::kQuoted:
        val = "'" + ReplaceAll(PyTruncate(tok.text, budget), "'", "\\'") + "'";
        break;
      case ReprToken::kPlain:
        val = PyTruncate(tok.text, budget);
        break;
    }
    out += val;
    budget -= static_cast<int64_t>(CodePointCount(val));
    if (tok.kind == ReprToken::kOpen) open.push_back(&tok);
    if (tok.kind == ReprToken::kClose && !open.empty()) open.pop_back();
  }
  return out;
}

std::string PythonIsoformatUtc(TimePoint tp) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(tp);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{us - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long>(tod.seconds().count()));
  std::string out = buf;
  if (tod.subseconds().count() != 0) {
    std::snprintf(buf, sizeof buf, ".%06ld", static_cast<long>(tod.subseconds().count()));
    out += buf;
  }
  return out + "+00:00";
}

StatusOr<TimePoint> ParseIso8601(std::string_view text) {
  using namespace std::chrono;
  auto bad = [&](const std::string& why) {
    return ParameterError("bad_timestamp", Quote(text) + ": " + why);
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ParseDigits(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &mo) || text[7] != '-' || !ParseDigits(text, 8, 2, &d)) {
    return bad("expected YYYY-MM-DD at the start");
  }
  if (text.size() < 16 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !ParseDigits(text, 11, 2, &h) || text[13] != ':' || !ParseDigits(text, 14, 2, &mi)) {
    return bad("expected THH:MM after the date");
  }
  size_t pos = 16;
  int64_t frac_ns = 0;
  if (pos < text.size() && text[pos] == ':') {
    if (!ParseDigits(text, pos + 1, 2, &s)) return bad("expected two digits of seconds");
    pos += 3;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      const size_t start = pos;
      int64_t scale = 100000000;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        frac_ns += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return bad("empty fraction of a second");
    }
  }
  int offset_min = 0;
  if (pos < text.size()) {
    const char c = text[pos];
    if ((c == 'Z' || c == 'z') && pos + 1 == text.size()) {
      pos = text.size();
    } else if (c == '+' || c == '-') {
      int oh = 0, om = 0;
      std::string_view tz = text.substr(pos + 1);
      bool ok = false;
      if (tz.size() == 2) {
        ok = ParseDigits(tz, 0, 2, &oh);
      } else if (tz.size() == 4) {
        ok = ParseDigits(tz, 0, 2, &oh) && ParseDigits(tz, 2, 2, &om);
      } else if (tz.size() == 5 && tz[2] == ':') {
        ok = ParseDigits(tz, 0, 2, &oh) && ParseDigits(tz, 3, 2, &om);
      }
      if (!ok || oh > 23 || om > 59) return bad("bad UTC offset (expected ±HH:MM)");
      offset_min = (c == '-' ? -1 : 1) * (oh * 60 + om);
      pos = text.size();
    } else {
      return bad("unexpected text after the time");
    }
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || s > 59) return bad("time of day out of range");
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + nanoseconds{frac_ns} -
                 minutes{offset_min};
  return time_point_cast<TimePoint::duration>(t);
}

// ---- Decoding ---------------------------------------------------------------------------------

StatusOr<CeleryTaskMessage> DecodeTaskMessage(std::string_view raw) {
  nlohmann::json env;
  try {
    env = nlohmann::json::parse(raw);
  } catch (const nlohmann::json::parse_error& e) {
    return DecodeError("invalid_json",
                       "the envelope is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!env.is_object()) {
    return DecodeError("invalid_json",
                       "the envelope is a JSON " + JsonTypeName(env) + ", expected an object");
  }

  // Serialization: JSON in UTF-8 only.
  auto ct = env.find("content-type");
  if (ct == env.end() || !ct->is_string()) {
    return DecodeError("bad_content_type",
                       "content-type is missing; only application/json is accepted");
  }
  const std::string content_type = ct->get<std::string>();
  if (LowerAscii(content_type) != "application/json") {
    return DecodeError("bad_content_type", "content-type " + Quote(content_type) + " is refused" +
                                               ContentTypeRefusal(content_type) +
                                               "; only application/json is accepted");
  }
  auto ce = env.find("content-encoding");
  if (ce == env.end() || !ce->is_string()) {
    return DecodeError("bad_encoding", "content-encoding is missing; expected utf-8");
  }
  const std::string content_encoding = LowerAscii(ce->get<std::string>());
  if (content_encoding != "utf-8" && content_encoding != "utf8") {
    return DecodeError("bad_encoding", "content-encoding " + Quote(ce->get<std::string>()) +
                                           " is not supported; expected utf-8");
  }

  nlohmann::json headers = nlohmann::json::object();
  if (auto h = env.find("headers"); h != env.end() && !h->is_null()) {
    if (!h->is_object()) {
      return DecodeError("bad_header", "headers is a " + JsonTypeName(*h) + ", expected an object");
    }
    headers = *h;
  }
  if (auto c = headers.find("compression"); c != headers.end() && !c->is_null()) {
    return DecodeError("compressed_message",
                       "headers.compression is " + c->dump() + "; compressed bodies are refused");
  }
  nlohmann::json properties = nlohmann::json::object();
  if (auto p = env.find("properties"); p != env.end() && !p->is_null()) {
    if (!p->is_object()) {
      return DecodeError("bad_encoding",
                         "properties is a " + JsonTypeName(*p) + ", expected an object");
    }
    properties = *p;
  }
  auto be = properties.find("body_encoding");
  if (be == properties.end() || be->is_null()) {
    return DecodeError("bad_encoding", "properties.body_encoding is missing; expected base64");
  }
  if (!be->is_string() || be->get<std::string>() != "base64") {
    return DecodeError("bad_encoding",
                       "properties.body_encoding is " + be->dump() + "; expected \"base64\"");
  }

  // Body: base64 → UTF-8 → JSON.
  auto b = env.find("body");
  if (b == env.end() || !b->is_string()) {
    return DecodeError("bad_base64", b == env.end() ? std::string("body is missing")
                                                    : "body is a " + JsonTypeName(*b) +
                                                          ", expected a base64 string");
  }
  const std::string& b64 = b->get_ref<const std::string&>();
  std::string body_bytes(b64.size() / 4 * 3 + 3, '\0');
  size_t body_len = 0;
  const char* b64_end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(body_bytes.data()), body_bytes.size(),
                        b64.data(), b64.size(), " \t\r\n", &body_len, &b64_end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      (b64_end != nullptr && b64_end != b64.data() + b64.size())) {
    const size_t offset = b64_end ? static_cast<size_t>(b64_end - b64.data()) : 0;
    return DecodeError("bad_base64", "body is not valid base64 (stops at offset " +
                                         std::to_string(offset) + " of " +
                                         std::to_string(b64.size()) + ")");
  }
  body_bytes.resize(body_len);
  size_t bad_utf8 = 0;
  if (!IsValidUtf8(body_bytes, &bad_utf8)) {
    return DecodeError("bad_encoding", "the decoded body is not UTF-8 (invalid byte at offset " +
                                           std::to_string(bad_utf8) + ")");
  }
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(body_bytes);
  } catch (const nlohmann::json::parse_error& e) {
    return DecodeError("bad_body",
                       "the decoded body is not valid JSON (" + std::string(e.what()) + ")");
  }

  // Protocol version: v2 carries the task name in the headers.
  auto task = headers.find("task");
  if (task == headers.end() || task->is_null()) {
    if (body.is_object() && body.contains("task")) {
      const std::string name = body["task"].is_string() ? body["task"].get<std::string>() : "?";
      return DecodeError("protocol_v1", "protocol v1 message (task " + Quote(name) +
                                            " named in the body, no headers.task); send with "
                                            "task_protocol 2, the default since Celery 4");
    }
    return DecodeError("missing_header", "headers.task is missing (protocol v2 requires it)");
  }
  if (!task->is_string() || task->get<std::string>().empty()) {
    return DecodeError("bad_header",
                       "headers.task is " + task->dump() + ", expected a non-empty task name");
  }
  auto id = headers.find("id");
  if (id == headers.end() || id->is_null()) {
    return DecodeError("missing_header",
                       "headers.id is missing (task " + Quote(task->get<std::string>()) + ")");
  }
  if (!id->is_string() || id->get<std::string>().empty()) {
    return DecodeError("bad_header", "headers.id is " + id->dump() + ", expected a task id string");
  }

  CeleryTaskMessage m;
  m.raw = std::string(raw);
  m.task = task->get<std::string>();
  m.id = id->get<std::string>();

  if (!body.is_array() || body.size() != 3) {
    return DecodeError(
        "bad_body",
        "the body is a " + JsonTypeName(body) +
            (body.is_array() ? " of " + std::to_string(body.size()) + " elements" : std::string()) +
            ", expected [args, kwargs, embed]");
  }
  if (!body[0].is_array()) {
    return DecodeError("bad_body",
                       "args (body[0]) is a " + JsonTypeName(body[0]) + ", expected a list");
  }
  if (!body[1].is_object()) {
    return DecodeError("bad_body",
                       "kwargs (body[1]) is a " + JsonTypeName(body[1]) + ", expected an object");
  }
  if (!body[2].is_object() && !body[2].is_null()) {
    return DecodeError("bad_body", "embed (body[2]) is a " + JsonTypeName(body[2]) +
                                       ", expected an object or null");
  }
  m.args = std::move(body[0]);
  m.kwargs = std::move(body[1]);
  m.embed = std::move(body[2]);

  VEIL_RETURN_IF_ERROR(OptionalString(headers, "shadow", "headers.shadow", &m.shadow));
  VEIL_RETURN_IF_ERROR(OptionalString(headers, "root_id", "headers.root_id", &m.root_id));
  VEIL_RETURN_IF_ERROR(OptionalString(headers, "parent_id", "headers.parent_id", &m.parent_id));
  VEIL_RETURN_IF_ERROR(OptionalString(headers, "group", "headers.group", &m.group));
  VEIL_RETURN_IF_ERROR(OptionalString(headers, "origin", "headers.origin", &m.origin));
  std::optional<std::string> lang;
  VEIL_RETURN_IF_ERROR(OptionalString(headers, "lang", "headers.lang", &lang));
  m.lang = lang.value_or("");
  VEIL_RETURN_IF_ERROR(OptionalTime(headers, "eta", &m.eta));
  VEIL_RETURN_IF_ERROR(OptionalTime(headers, "expires", &m.expires));

  if (auto r = headers.find("retries"); r != headers.end() && !r->is_null()) {
    if (!r->is_number_integer() || r->get<int64_t>() < 0) {
      return DecodeError("bad_header",
                         "headers.retries is " + r->dump() + ", expected a non-negative integer");
    }
    m.retries = r->get<int64_t>();
  }
  if (auto gi = headers.find("group_index"); gi != headers.end() && !gi->is_null()) {
    if (!gi->is_number_integer()) {
      return DecodeError("bad_header",
                         "headers.group_index is " + gi->dump() + ", expected an integer");
    }
    m.group_index = gi->get<int64_t>();
  }
  if (auto tl = headers.find("timelimit"); tl != headers.end() && !tl->is_null()) {
    if (!tl->is_array() || tl->size() != 2) {
      return DecodeError("bad_header",
                         "headers.timelimit is " + tl->dump() + ", expected [hard, soft]");
    }
    VEIL_RETURN_IF_ERROR(
        OptionalNumber((*tl)[0], "headers.timelimit[0] (hard)", &m.hard_time_limit_s));
    VEIL_RETURN_IF_ERROR(
        OptionalNumber((*tl)[1], "headers.timelimit[1] (soft)", &m.soft_time_limit_s));
  }
  if (auto ir = headers.find("ignore_result"); ir != headers.end() && !ir->is_null()) {
    if (!ir->is_boolean()) {
      return DecodeError("bad_header",
                         "headers.ignore_result is " + ir->dump() + ", expected a boolean");
    }
    m.ignore_result = ir->get<bool>();
  }

  std::optional<std::string> s;
  VEIL_RETURN_IF_ERROR(OptionalString(properties, "delivery_tag", "properties.delivery_tag", &s));
  m.delivery_tag = s.value_or("");
  s.reset();
  VEIL_RETURN_IF_ERROR(OptionalString(properties, "reply_to", "properties.reply_to", &s));
  m.reply_to = s.value_or("");
  // kombu: an unparseable priority falls back to the default, a number is clamped to 0..9.
  if (auto p = properties.find("priority"); p != properties.end() && p->is_number()) {
    const double pr = p->get<double>();
    m.priority =
        static_cast<int>(std::clamp(std::trunc(pr), double{kMinPriority}, double{kMaxPriority}));
  }
  bool redelivered = false;
  if (auto r = headers.find("redelivered"); r != headers.end() && r->is_boolean()) {
    redelivered = r->get<bool>();
  }
  if (auto di = properties.find("delivery_info"); di != properties.end() && di->is_object()) {
    if (auto ex = di->find("exchange"); ex != di->end() && ex->is_string()) m.exchange = *ex;
    if (auto rk = di->find("routing_key"); rk != di->end() && rk->is_string()) {
      m.routing_key = *rk;
    }
    if (auto r = di->find("redelivered"); r != di->end() && r->is_boolean() && r->get<bool>()) {
      redelivered = true;
    }
  }
  m.redelivered = redelivered;
  return m;
}

// ---- Encoding ---------------------------------------------------------------------------------

std::string EncodeTaskMessage(const SendRequest& req) {
  return EncodeTaskMessage(req, std::chrono::system_clock::now());
}

std::string EncodeTaskMessage(const SendRequest& req, TimePoint now) {
  const std::string task_id = req.task_id.empty() ? RandomUuid() : req.task_id;
  const ojson args = req.args.is_array() ? req.args : ojson::array({req.args});
  const ojson kwargs = req.kwargs.is_object() ? req.kwargs : ojson::object();
  const int priority = std::clamp(req.priority, kMinPriority, kMaxPriority);

  ojson headers;
  headers["lang"] = req.lang;
  headers["task"] = req.task;
  headers["id"] = task_id;
  headers["shadow"] = OrNull(req.shadow);
  headers["eta"] = req.eta ? ojson(PythonIsoformatUtc(*req.eta)) : ojson(nullptr);
  headers["expires"] = req.expires ? ojson(PythonIsoformatUtc(*req.expires)) : ojson(nullptr);
  headers["group"] = OrNull(req.group_id);
  headers["group_index"] = OrNull(req.group_index);
  headers["retries"] = req.retries;
  headers["timelimit"] =
      ojson::array({NumberOrNull(req.hard_time_limit_s), NumberOrNull(req.soft_time_limit_s)});
  headers["root_id"] = req.root_id.empty() ? task_id : req.root_id;
  headers["parent_id"] = OrNull(req.parent_id);
  // celery: `args = args or ()`, so empty args are a tuple.
  headers["argsrepr"] = CelerySafeRepr(args, kArgsReprMaxChars, /*as_tuple=*/args.empty());
  headers["kwargsrepr"] = CelerySafeRepr(kwargs, kArgsReprMaxChars);
  headers["origin"] = req.origin.empty() ? AnonNodename() : req.origin;
  headers["ignore_result"] = req.ignore_result;

  ojson properties;
  properties["correlation_id"] = task_id;
  properties["reply_to"] = req.reply_to.empty() ? RandomUuid() : req.reply_to;
  properties["delivery_mode"] = 2;
  if (req.expires) {
    // kombu: str(int(expires_s * 1000)), with a past expiry sent as 0.
    const double ms = std::chrono::duration<double, std::milli>(*req.expires - now).count();
    properties["expiration"] = std::to_string(ms > 0 ? static_cast<int64_t>(ms) : 0);
  }
  properties["delivery_info"] = ojson{{"exchange", ""}, {"routing_key", req.queue}};
  properties["priority"] = priority;
  properties["body_encoding"] = "base64";
  properties["delivery_tag"] = req.delivery_tag.empty() ? RandomUuid() : req.delivery_tag;

  ojson embed;
  embed["callbacks"] = nullptr;
  embed["errbacks"] = nullptr;
  embed["chain"] = nullptr;
  embed["chord"] = nullptr;
  const ojson body = ojson::array({args, kwargs, embed});

  ojson env;
  env["body"] = Base64Encode(PythonJsonDumps(body));
  env["content-encoding"] = "utf-8";
  env["content-type"] = "application/json";
  env["headers"] = std::move(headers);
  env["properties"] = std::move(properties);
  return PythonJsonDumps(env);
}

std::string QueueKeyForPriority(std::string_view queue, int priority) {
  const int p = std::clamp(priority, kMinPriority, kMaxPriority);
  const int bucket = p >= 9 ? 9 : p >= 6 ? 6 : p >= 3 ? 3 : 0;
  if (bucket == 0) return std::string(queue);
  return std::string(queue) + std::string(kPriorityQueueSeparator) + std::to_string(bucket);
}

std::vector<std::string> QueueKeysInPriorityOrder(std::string_view queue) {
  return {QueueKeyForPriority(queue, 0), QueueKeyForPriority(queue, 3),
          QueueKeyForPriority(queue, 6), QueueKeyForPriority(queue, 9)};
}

// ---- Results ----------------------------------------------------------------------------------

std::string ResultKey(std::string_view task_id) {
  return std::string(kResultKeyPrefix) + std::string(task_id);
}

CeleryException CeleryExceptionFor(const Status& error) {
  CeleryException exc;
  switch (error.type()) {
    case ErrorType::kTimeout:
      exc.exc_module = "builtins";
      exc.exc_type = "TimeoutError";
      break;
    case ErrorType::kCancelled:
      exc.exc_module = "celery.exceptions";
      exc.exc_type = "TaskRevokedError";
      break;
    case ErrorType::kInternal:
    case ErrorType::kOk:  // a caller bug; report it as one
      exc.exc_module = "builtins";
      exc.exc_type = "RuntimeError";
      break;
    default:
      exc.exc_module = "veil.errors";
      exc.exc_type = std::string(error.type_name());
      break;
  }
  const std::string message =
      error.ok() ? std::string("task failed without an error (internal error)") : error.message();
  exc.exc_message = ojson::array({message});
  ojson problems = ojson::array();
  for (const FieldProblem& p : error.problems()) {
    problems.push_back(ojson{{"path", p.path}, {"code", p.code}, {"message", p.message}});
  }
  exc.veil_error = ojson{
      {"type", std::string(error.ok() ? ErrorTypeName(ErrorType::kInternal) : error.type_name())},
      {"code", error.ok() ? std::string("internal") : error.code()},
      {"message", message},
      {"stage", error.stage()},
      {"problems", std::move(problems)}};
  return exc;
}

CeleryException NotRegisteredException(std::string_view task_name) {
  return {"NotRegistered", "celery.exceptions", ojson::array({std::string(task_name)}), nullptr};
}

CeleryException TaskRevokedException(std::string_view reason) {
  return {"TaskRevokedError", "celery.exceptions", ojson::array({std::string(reason)}), nullptr};
}

std::string FormatTraceback(const Status& error) {
  std::string out =
      "Traceback (veil worker, C++: the error was raised natively, there are no Python "
      "frames):\n";
  if (!error.stage().empty()) out += "  stage: " + error.stage() + "\n";
  out += std::string(error.type_name()) + "[" + error.code() + "]: " + error.message() + "\n";
  for (const FieldProblem& p : error.problems()) {
    out += "  - " + p.path + ": [" + p.code + "] " + p.message + "\n";
  }
  return out;
}

std::string SuccessResultJson(const ResultMeta& meta, const nlohmann::ordered_json& result,
                              TimePoint date_done) {
  return MetaJson(meta, kStateSuccess, result, std::nullopt, date_done);
}

std::string FailureResultJson(const ResultMeta& meta, const CeleryException& exc,
                              const std::optional<std::string>& traceback, TimePoint date_done) {
  return MetaJson(meta, kStateFailure, ExceptionJson(exc), traceback, date_done);
}

std::string FailureResultJson(const ResultMeta& meta, const Status& error, TimePoint date_done) {
  return FailureResultJson(meta, CeleryExceptionFor(error), FormatTraceback(error), date_done);
}

std::string NotRegisteredResultJson(const ResultMeta& meta, std::string_view task_name,
                                    TimePoint date_done) {
  return FailureResultJson(meta, NotRegisteredException(task_name), std::nullopt, date_done);
}

std::string StartedResultJson(const ResultMeta& meta, int64_t pid, std::string_view hostname) {
  return MetaJson(meta, kStateStarted, ojson{{"pid", pid}, {"hostname", std::string(hostname)}},
                  std::nullopt, std::nullopt);
}

std::string RetryResultJson(const ResultMeta& meta, const Status& cause) {
  return MetaJson(meta, kStateRetry, ExceptionJson(CeleryExceptionFor(cause)),
                  FormatTraceback(cause), std::nullopt);
}

std::string RevokedResultJson(const ResultMeta& meta, std::string_view reason,
                              TimePoint date_done) {
  return MetaJson(meta, kStateRevoked, ExceptionJson(TaskRevokedException(reason)), std::nullopt,
                  date_done);
}

nlohmann::json PythonWorkerSuccessWrapper(std::string_view task_id, std::string_view subtask_id,
                                          std::string_view execution_id,
                                          const nlohmann::json& final_result,
                                          std::string_view completed_at) {
  return nlohmann::json{{"task_id", std::string(task_id)},
                        {"subtask_id", std::string(subtask_id)},
                        {"execution_id", std::string(execution_id)},
                        {"result", final_result},
                        {"completed_at", std::string(completed_at)}};
}

}  // namespace veil::worker
