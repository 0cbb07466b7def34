#include "veil/runtime/redact.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <string_view>

namespace veil::runtime {
namespace {

constexpr std::array<std::string_view, 7> kSecretWords = {
    "password", "passwd", "secret", "token", "private_key", "api_key", "sk"};
// Keys that match a secret word but hold no secret.
constexpr std::array<std::string_view, 1> kNotSecret = {"sk_keeper"};

bool IsSeparator(char c) { return c == '_' || c == '-' || c == '.' || c == ' '; }

// camelCase keys ("clientSecret", "apiKey") are split into segments like snake_case.
std::string Snake(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(key[i - 1]))) {
      out.push_back('_');
    }
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

bool ContainsAtBoundary(const std::string& s, std::string_view word) {
  for (size_t pos = s.find(word); pos != std::string::npos; pos = s.find(word, pos + 1)) {
    bool start_ok = pos == 0 || IsSeparator(s[pos - 1]);
    size_t end = pos + word.size();
    bool end_ok = end == s.size() || IsSeparator(s[end]);
    if (start_ok && end_ok) return true;
  }
  return false;
}

const std::regex& UrlPasswordRegex() {
  // scheme://[user]:password@host  -> keep scheme, user and host.
  static const std::regex* re =
      new std::regex(R"(([A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):([^@/\s]+)@)");
  return *re;
}

bool IsPemPrivateKey(const std::string& s) {
  return s.find("-----BEGIN") != std::string::npos && s.find("PRIVATE KEY") != std::string::npos;
}

}  // namespace

bool IsSecretKey(const std::string& key) {
  std::string k = Snake(key);
  for (auto ns : kNotSecret) {
    if (k == ns) return false;
  }
  return std::any_of(kSecretWords.begin(), kSecretWords.end(),
                     [&](std::string_view w) { return ContainsAtBoundary(k, w); });
}

std::string RedactString(const std::string& text) {
  if (IsPemPrivateKey(text)) return kRedacted;
  if (text.find("://") == std::string::npos) return text;
  return std::regex_replace(text, UrlPasswordRegex(), std::string("$1:") + kRedacted + "@");
}

nlohmann::json RedactSecrets(const nlohmann::json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) {
      out[k] = (IsSecretKey(k) && !v.is_null()) ? nlohmann::json(kRedacted) : RedactSecrets(v);
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(RedactSecrets(v));
    return out;
  }
  if (value.is_string()) return RedactString(value.get<std::string>());
  return value;
}

}  // namespace veil::runtime
