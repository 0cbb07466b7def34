#include "veil/psi/join_rules.h"

namespace veil::psi::internal {

StatusOr<JoinRules> JoinRules::Create(JoinType type, size_t parties, size_t receiver, size_t left) {
  if (type != JoinType::kInner && parties != 2) {
    return ParameterError("join_needs_two_parties",
                          JoinTypeName(type) + " is defined for exactly 2 parties");
  }
  const bool left_is_receiver = left == receiver;
  const bool keep_receiver = type == JoinType::kDifference || type == JoinType::kFull ||
                             (type == JoinType::kLeft && left_is_receiver) ||
                             (type == JoinType::kRight && !left_is_receiver);
  const bool keep_other = type == JoinType::kDifference || type == JoinType::kFull ||
                          (type == JoinType::kLeft && !left_is_receiver) ||
                          (type == JoinType::kRight && left_is_receiver);
  return JoinRules(type, parties, receiver, keep_receiver, keep_other);
}

}  // namespace veil::psi::internal
