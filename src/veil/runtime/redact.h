// Secret redaction for logs and status events (SPEC §4.2 layer 3: "secrets redacted in every log
// line and event").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace veil::runtime {

// The replacement for a redacted value.
inline constexpr char kRedacted[] = "***";

// Whether an object key names a secret: it contains one of password, passwd, secret, token,
// private_key, api_key, or is / has the segment "sk" (case-insensitive; a match must start and
// end at the key's edge or at one of "_-. ", so "secretflow" and "task_id" do not match).
// "sk_keeper" names the party holding an HE key, not the key itself, and is not a secret.
bool IsSecretKey(const std::string& key);

// A deep copy of `value` where
//  - the value of every secret key (IsSecretKey) is replaced by kRedacted, whatever its type;
//  - a string holding a PEM private key is replaced by kRedacted;
//  - the password of a URL's user-info ("redis://:pw@host", "scheme://user:pw@host") is masked.
// Never fails; non-container values are returned as they are.
nlohmann::json RedactSecrets(const nlohmann::json& value);

// The string variant used for free text (messages): masks URL passwords and PEM private keys.
std::string RedactString(const std::string& text);

}  // namespace veil::runtime
