// Model storage of the secure models (ss_lr, ss_xgb): each party keeps only its own shares plus
// a JSON meta file; nothing of the model is ever revealed. Format: docs/MODELS.md.
//
// Share file ("<model_path>" for ss_lr, "<model_path>.weight_<i>.share" for ss_xgb): binary,
//   magic "VEILSHR1" (8 bytes)
//   header length (uint32 little-endian) + header JSON (UTF-8):
//     {"format_version": 1, "model_type", "protocol", "field", "fxp_fraction_bits",
//      "world_size", "rank", "party", "tensors": [{"name", "shape", "components"}]}
//   the tensors' ring elements, in header order: for each tensor its `components` share
//     components (SEMI2K/REF2K: own; ABY3: own then next), each numel elements of k/8 bytes,
//     little-endian
//   BLAKE2b-128 of everything before it (16 bytes).
// Meta file ("<model_path>.meta.json"): the task's JSON (model_type, parties, features, ...),
//   written with "format_version" and "share_digest" (hex BLAKE2b-128 of the share file) added.
//
// Loading checks, with clear errors (ParameterError unless stated):
//   missing file → "model_file_missing"; bad magic, truncated file or checksum mismatch →
//   "model_file_corrupt"; meta model_type other than expected → "model_type_mismatch"; share
//   written for another protocol / field / fraction bits / party count / rank →
//   DeviceConfigError "model_spu_mismatch"; unknown format_version → "model_version_unsupported".
//
// Files are written atomically (temporary file + rename). Thread safety: functions only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/mpc/protocol.h"

namespace veil::tasks::model_store {

inline constexpr int kFormatVersion = 1;

template <mpc::RingElement T>
using NamedShares = std::vector<std::pair<std::string, mpc::AShare<T>>>;

// The SPU a model was trained under, as model metas record it: {protocol, field,
// fxp_fraction_bits} with the fraction bits actually used (never SPU's 0 = "default").
template <mpc::RingElement T>
nlohmann::json ModelSpu(const mpc::Protocol<T>& prot) {
  return {{"protocol", prot.name()},
          {"field", std::string(mpc::FieldTypeName(prot.field()))},
          {"fxp_fraction_bits", prot.fxp_fraction_bits()}};
}

// Writes this party's shares of `tensors` to `path`; returns the file's digest (hex).
template <mpc::RingElement T>
StatusOr<std::string> SaveShares(const std::string& path, const std::string& model_type,
                                 const mpc::Protocol<T>& prot, const std::string& party,
                                 const NamedShares<T>& tensors);

// Reads the shares written by SaveShares for this party under `prot` (same protocol, field,
// fraction bits, party count and rank), checking `expected_digest` when non-empty. The tensors
// come back in file order.
template <mpc::RingElement T>
StatusOr<NamedShares<T>> LoadShares(const std::string& path, const std::string& model_type,
                                    const mpc::Protocol<T>& prot,
                                    const std::string& expected_digest);

// Writes `meta` (plus format_version) to `path` as pretty JSON, atomically.
Status WriteMeta(const std::string& path, nlohmann::json meta);
// Reads a meta file and checks its model_type and format_version.
StatusOr<nlohmann::json> ReadMeta(const std::string& path, const std::string& model_type);

}  // namespace veil::tasks::model_store
