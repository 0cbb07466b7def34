#include "veil/tasks/model_store.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/crypto/hash.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks::model_store {

namespace {

using nlohmann::json;

constexpr char kMagic[] = "VEILSHR1";
constexpr size_t kMagicBytes = 8;
constexpr size_t kDigestBytes = 16;

template <mpc::RingElement T>
void AppendTensor(std::string* out, const mpc::Tensor<T>& t) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    T v = t[i];
    for (size_t b = 0; b < sizeof(T); ++b) {
      out->push_back(static_cast<char>(static_cast<uint8_t>(v & 0xff)));
      v >>= 8;
    }
  }
}

template <mpc::RingElement T>
mpc::Tensor<T> ReadTensor(const std::string& data, size_t* at, const mpc::Shape& shape) {
  mpc::Tensor<T> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    T v = 0;
    for (size_t b = 0; b < sizeof(T); ++b) {
      v |= static_cast<T>(static_cast<uint8_t>(data[*at + b])) << (8 * b);
    }
    *at += sizeof(T);
    t[i] = v;
  }
  return t;
}

// What a share file must match: the model's SPU plus this party's place in it.
template <mpc::RingElement T>
json SpuDescription(const mpc::Protocol<T>& prot) {
  json d = ModelSpu(prot);
  d["world_size"] = prot.world_size();
  d["rank"] = prot.rank();
  return d;
}

Status Corrupt(const std::string& path, const std::string& why) {
  return ParameterError("model_file_corrupt", fmt::format("model share file {}: {}", path, why));
}

}  // namespace

template <mpc::RingElement T>
StatusOr<std::string> SaveShares(const std::string& path, const std::string& model_type,
                                 const mpc::Protocol<T>& prot, const std::string& party,
                                 const NamedShares<T>& tensors) {
  json header = SpuDescription(prot);
  header["format_version"] = kFormatVersion;
  header["model_type"] = model_type;
  header["party"] = party;
  json list = json::array();
  for (const auto& [name, share] : tensors) {
    list.push_back(
        {{"name", name}, {"shape", share.shape()}, {"components", share.next.empty() ? 1 : 2}});
  }
  header["tensors"] = list;
  const std::string header_text = header.dump();
  std::string data(kMagic, kMagicBytes);
  const uint32_t len = static_cast<uint32_t>(header_text.size());
  for (int b = 0; b < 4; ++b) data.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
  data += header_text;
  for (const auto& [name, share] : tensors) {
    AppendTensor(&data, share.own);
    if (!share.next.empty()) AppendTensor(&data, share.next);
  }
  const auto digest = crypto::Blake2b128(data);
  data.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  VEIL_RETURN_IF_ERROR(vertical::WriteFileAtomically(path, data));
  return crypto::Blake2b128Hex(data);
}

template <mpc::RingElement T>
StatusOr<NamedShares<T>> LoadShares(const std::string& path, const std::string& model_type,
                                    const mpc::Protocol<T>& prot,
                                    const std::string& expected_digest) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return ParameterError(
        "model_file_missing",
        fmt::format("model share file {} does not exist or cannot be read", path));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();
  if (!expected_digest.empty() && crypto::Blake2b128Hex(data) != expected_digest) {
    return Corrupt(path, "its digest does not match the model's meta file");
  }
  if (data.size() < kMagicBytes + 4 + kDigestBytes ||
      std::memcmp(data.data(), kMagic, kMagicBytes) != 0) {
    return Corrupt(path, "not a veil share file");
  }
  const std::string body = data.substr(0, data.size() - kDigestBytes);
  const auto digest = crypto::Blake2b128(body);
  if (std::memcmp(digest.data(), data.data() + body.size(), kDigestBytes) != 0) {
    return Corrupt(path, "checksum mismatch (truncated or modified)");
  }
  uint32_t len = 0;
  for (int b = 0; b < 4; ++b) {
    len |= static_cast<uint32_t>(static_cast<uint8_t>(body[kMagicBytes + b])) << (8 * b);
  }
  if (kMagicBytes + 4 + len > body.size()) return Corrupt(path, "header runs past the end");
  const json header = json::parse(body.substr(kMagicBytes + 4, len), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return Corrupt(path, "unreadable header");
  if (header.value("format_version", 0) != kFormatVersion) {
    return ParameterError(
        "model_version_unsupported",
        fmt::format("model share file {} has format_version {}; this veil "
                    "reads version {}",
                    path, header.value("format_version", json()).dump(), kFormatVersion));
  }
  if (header.value("model_type", "") != model_type) {
    return ParameterError("model_type_mismatch",
                          fmt::format("model share file {} holds a '{}' model, not '{}'", path,
                                      header.value("model_type", ""), model_type));
  }
  const json want = SpuDescription(prot);
  for (const auto& [key, value] : want.items()) {
    if (header.value(key, json()) != value) {
      return DeviceConfigError(
          "model_spu_mismatch",
          fmt::format("model share file {} was written with {} = {}, but this SPU has {}; load a "
                      "model with the SPU configuration and parties it was trained with",
                      path, key, header.value(key, json()).dump(), value.dump()));
    }
  }
  NamedShares<T> out;
  size_t at = kMagicBytes + 4 + len;
  try {
    for (const auto& t : header.at("tensors")) {
      const mpc::Shape shape = t.at("shape").get<mpc::Shape>();
      const int components = t.at("components").get<int>();
      const size_t bytes = static_cast<size_t>(mpc::NumElements(shape)) * sizeof(T) *
                           static_cast<size_t>(components);
      if (at + bytes > body.size()) return Corrupt(path, "tensor data runs past the end");
      mpc::AShare<T> share;
      share.own = ReadTensor<T>(body, &at, shape);
      if (components == 2) share.next = ReadTensor<T>(body, &at, shape);
      out.emplace_back(t.at("name").get<std::string>(), std::move(share));
    }
  } catch (const json::exception& e) {
    return Corrupt(path, std::string("bad tensor list: ") + e.what());
  }
  if (at != body.size()) return Corrupt(path, "trailing bytes");
  return out;
}

Status WriteMeta(const std::string& path, json meta) {
  meta["format_version"] = kFormatVersion;
  return vertical::WriteFileAtomically(path, meta.dump(2));
}

StatusOr<json> ReadMeta(const std::string& path, const std::string& model_type) {
  std::ifstream f(path);
  if (!f) {
    return ParameterError("model_file_missing",
                          fmt::format("model meta file {} does not exist or cannot be read", path));
  }
  json meta = json::parse(f, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) {
    return ParameterError("model_file_corrupt",
                          fmt::format("model meta file {} is not a JSON object", path));
  }
  if (meta.value("model_type", "") != model_type) {
    return ParameterError("model_type_mismatch",
                          fmt::format("{} describes a '{}' model, not '{}'", path,
                                      meta.value("model_type", ""), model_type));
  }
  if (meta.value("format_version", 0) != kFormatVersion) {
    return ParameterError("model_version_unsupported",
                          fmt::format("{} has format_version {}; this veil reads version {}", path,
                                      meta.value("format_version", json()).dump(), kFormatVersion));
  }
  return meta;
}

template StatusOr<std::string> SaveShares<uint64_t>(const std::string&, const std::string&,
                                                    const mpc::Protocol<uint64_t>&,
                                                    const std::string&,
                                                    const NamedShares<uint64_t>&);
template StatusOr<std::string> SaveShares<mpc::uint128_t>(const std::string&, const std::string&,
                                                          const mpc::Protocol<mpc::uint128_t>&,
                                                          const std::string&,
                                                          const NamedShares<mpc::uint128_t>&);
template StatusOr<NamedShares<uint64_t>> LoadShares<uint64_t>(const std::string&,
                                                              const std::string&,
                                                              const mpc::Protocol<uint64_t>&,
                                                              const std::string&);
template StatusOr<NamedShares<mpc::uint128_t>> LoadShares<mpc::uint128_t>(
    const std::string&, const std::string&, const mpc::Protocol<mpc::uint128_t>&,
    const std::string&);

}  // namespace veil::tasks::model_store
