#include "veil/mpc/protocol.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "veil/base/exception.h"
#include "veil/mpc/aby3.h"
#include "veil/mpc/beaver_ot.h"
#include "veil/mpc/ref2k.h"
#include "veil/mpc/semi2k.h"
#include "veil/mpc/setup.h"

namespace veil::mpc {

namespace {

// Bumped whenever the messages of any kernel or of the set-up change; peers compare it at set-up.
// v2: beaver_type joined the agreed description (and "ot" adds the base-OT set-up).
// v3: 2-party SEMI2K truncation exchanges a wrap-bit product unless trunc_allow_msb_error.
constexpr int kWireVersion = 3;

// ---- boolean-share helpers (both components; `next` is empty outside ABY3) ----
BShare BXor(const BShare& a, const BShare& b) {
  BShare out = a;
  XorInPlace(&out.own, b.own);
  XorInPlace(&out.next, b.next);
  return out;
}

void BShiftElementsLeft1(BShare* x, int ring_bits) {
  ShiftElementsLeft1(&x->own, ring_bits);
  if (!x->next.empty()) ShiftElementsLeft1(&x->next, ring_bits);
}

BShare BConcat(const BShare& a, const BShare& b) {
  return BShare{a.nbits + b.nbits, Concat(a.own, b.own),
                a.next.empty() ? Words() : Concat(a.next, b.next)};
}

// `count` words starting at word `begin`, as a string of nbits bits.
BShare BSlice(const BShare& x, int64_t begin, int64_t count, int64_t nbits) {
  return BShare{nbits, Slice(x.own, begin, count),
                x.next.empty() ? Words() : Slice(x.next, begin, count)};
}

void BDeinterleave(const BShare& x, BShare* even, BShare* odd) {
  even->nbits = odd->nbits = x.nbits / 2;
  Deinterleave(x.own, x.nbits, &even->own, &odd->own);
  if (x.next.empty()) {
    even->next.clear();
    odd->next.clear();
  } else {
    Deinterleave(x.next, x.nbits, &even->next, &odd->next);
  }
}

BShare BTopBits(const BShare& x, int64_t n, int ring_bits) {
  return BShare{n, TopBits(x.own, n, ring_bits),
                x.next.empty() ? Words() : TopBits(x.next, n, ring_bits)};
}

// ---- registry ----
// What a factory needs besides the link: the configured name, fraction bits, seeds, beaver type.
struct ProtocolParams {
  std::string name;
  int fxp;
  PartySeeds seeds;
  std::string beaver;  // EffectiveBeaverType
  bool trunc_allow_msb_error = false;
};

template <RingElement T>
using Factory = std::unique_ptr<Protocol<T>> (*)(link::Context*, const ProtocolParams&);

// Throws (CreateProtocol turns that into a Status) when the OT set-up fails.
template <RingElement T>
std::unique_ptr<Protocol<T>> MakeSemi2k(link::Context* ctx, const ProtocolParams& p) {
  std::unique_ptr<BeaverSource<T>> beaver;
  if (p.beaver == kBeaverOt) {
    beaver = ValueOrThrow(OtBeaver<T>::Create(ctx, p.seeds));
  } else {
    beaver = std::make_unique<TrustedFirstPartyBeaver<T>>(ctx->rank(), ctx->world_size(), p.seeds);
  }
  return std::make_unique<Semi2kProtocol<T>>(p.name, ctx, p.fxp, p.seeds, std::move(beaver),
                                             p.trunc_allow_msb_error);
}
template <RingElement T>
std::unique_ptr<Protocol<T>> MakeAby3(link::Context* ctx, const ProtocolParams& p) {
  return std::make_unique<Aby3Protocol<T>>(ctx, p.fxp, p.seeds);
}
template <RingElement T>
std::unique_ptr<Protocol<T>> MakeRef2k(link::Context* ctx, const ProtocolParams& p) {
  return std::make_unique<Ref2kProtocol<T>>(ctx, p.fxp);
}

struct ProtocolEntry {
  const char* name;
  size_t min_parties;
  size_t max_parties;
  // The beaver_type used when the config leaves it empty; nullptr: the protocol uses no Beaver
  // material (only "" or TrustedFirstParty are accepted, and ignored).
  const char* default_beaver;
  Factory<uint64_t> make64;
  Factory<uint128_t> make128;
};

constexpr size_t kAnyParties = std::numeric_limits<size_t>::max();

const ProtocolEntry kProtocols[] = {
    {kProtocolSemi2k, 2, kAnyParties, kBeaverTrustedFirstParty, &MakeSemi2k<uint64_t>,
     &MakeSemi2k<uint128_t>},
    {kProtocolAby3, 3, 3, nullptr, &MakeAby3<uint64_t>, &MakeAby3<uint128_t>},
    // SEMI2K's kernels with OT triples (SPU's CHEETAH is also two-party and dealer-free).
    {kProtocolCheetah, 2, 2, kBeaverOt, &MakeSemi2k<uint64_t>, &MakeSemi2k<uint128_t>},
    {kProtocolRef2k, 1, kAnyParties, nullptr, &MakeRef2k<uint64_t>, &MakeRef2k<uint128_t>},
};

const ProtocolEntry* FindProtocol(std::string_view name) {
  for (const auto& e : kProtocols) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int EffectiveFxpBits(const RuntimeConfig& config) {
  return config.fxp_fraction_bits == 0 ? DefaultFxpFractionBits(config.field)
                                       : config.fxp_fraction_bits;
}

}  // namespace

StatusOr<std::string> EffectiveBeaverType(const RuntimeConfig& config) {
  const ProtocolEntry* e = FindProtocol(config.protocol);
  if (config.beaver_type.empty()) {
    return std::string(e != nullptr && e->default_beaver != nullptr ? e->default_beaver
                                                                    : kBeaverTrustedFirstParty);
  }
  for (const char* known : {kBeaverTrustedFirstParty, kBeaverOt}) {
    if (EqualsIgnoreCase(config.beaver_type, known)) return std::string(known);
  }
  return DeviceConfigError("unknown_beaver_type", "beaver_type '" + config.beaver_type +
                                                      "' is not one of " +
                                                      kBeaverTrustedFirstParty + ", " + kBeaverOt);
}

std::vector<std::string> ProtocolNames() {
  std::vector<std::string> names;
  for (const auto& e : kProtocols) names.emplace_back(e.name);
  return names;
}

Status ValidateRuntimeConfig(const RuntimeConfig& config, size_t world_size) {
  const ProtocolEntry* e = FindProtocol(config.protocol);
  if (e == nullptr) {
    std::string known;
    for (const auto& n : ProtocolNames()) known += (known.empty() ? "" : ", ") + n;
    return DeviceConfigError("unknown_protocol",
                             "protocol '" + config.protocol + "' is not one of " + known);
  }
  if (world_size < e->min_parties || world_size > e->max_parties) {
    std::string want = e->min_parties == e->max_parties
                           ? "exactly " + std::to_string(e->min_parties)
                           : "at least " + std::to_string(e->min_parties);
    return DeviceConfigError("bad_world_size", config.protocol + " needs " + want +
                                                   " parties, got " + std::to_string(world_size));
  }
  VEIL_ASSIGN_OR_RETURN(const std::string beaver, EffectiveBeaverType(config));
  if (beaver == kBeaverOt) {
    if (e->default_beaver == nullptr) {
      return DeviceConfigError("bad_beaver_type", config.protocol +
                                                      " uses no Beaver triples; beaver_type 'ot' "
                                                      "applies to SEMI2K (two parties) only");
    }
    if (world_size != 2) {
      return DeviceConfigError("bad_world_size",
                               config.protocol +
                                   " with beaver_type 'ot' (dealer-free OT triples) needs exactly "
                                   "2 parties, got " +
                                   std::to_string(world_size));
    }
  } else if (e->default_beaver != nullptr && std::string_view(e->default_beaver) == kBeaverOt) {
    return DeviceConfigError("bad_beaver_type",
                             config.protocol + " always uses OT-generated triples; beaver_type '" +
                                 config.beaver_type + "' contradicts it");
  }
  const int k = FieldBits(config.field);
  if (config.fxp_fraction_bits < 0 || config.fxp_fraction_bits > k / 2 - 2) {
    return DeviceConfigError("bad_fxp_fraction_bits",
                             "fxp_fraction_bits " + std::to_string(config.fxp_fraction_bits) +
                                 " is outside 1.." + std::to_string(k / 2 - 2) +
                                 " (0: default) for " + std::string(FieldTypeName(config.field)));
  }
  return Status();
}

template <RingElement T>
StatusOr<std::unique_ptr<Protocol<T>>> CreateProtocol(const RuntimeConfig& config,
                                                      link::Context* ctx) {
  if (config.field != RingTraits<T>::kField) {
    return DeviceConfigError("field_mismatch",
                             "config field " + std::string(FieldTypeName(config.field)) +
                                 " does not match the ring type " +
                                 std::string(FieldTypeName(RingTraits<T>::kField)));
  }
  VEIL_RETURN_IF_ERROR(ValidateRuntimeConfig(config, ctx->world_size()));
  ProtocolParams params;
  params.name = config.protocol;
  params.fxp = EffectiveFxpBits(config);
  VEIL_ASSIGN_OR_RETURN(params.beaver, EffectiveBeaverType(config));
  const std::string description =
      "veil-mpc/v" + std::to_string(kWireVersion) + " protocol=" + config.protocol +
      " field=" + std::string(FieldTypeName(config.field)) + " fxp=" + std::to_string(params.fxp) +
      " beaver=" + params.beaver + " trunc_msb_error=" + (config.trunc_allow_msb_error ? "1" : "0");
  params.trunc_allow_msb_error = config.trunc_allow_msb_error;
  VEIL_RETURN_IF_ERROR(CheckPeerConfig(*ctx, description));
  VEIL_ASSIGN_OR_RETURN(params.seeds, AgreeSeeds(*ctx));
  const ProtocolEntry* e = FindProtocol(config.protocol);
  std::unique_ptr<Protocol<T>> out;
  VEIL_RETURN_IF_ERROR(CatchAll([&]() -> Status {
    if constexpr (std::is_same_v<T, uint64_t>) {
      out = e->make64(ctx, params);
    } else {
      out = e->make128(ctx, params);
    }
    return Status();
  }));
  return out;
}

// ---- Protocol: link helpers ----
template <RingElement T>
std::string Protocol<T>::NextTag(std::string_view kernel) {
  return "mpc/" + std::string(kernel) + "/" + std::to_string(seq_++);
}

template <RingElement T>
void Protocol<T>::SendOrThrow(size_t to, const std::string& tag, Buffer payload) {
  ThrowIfError(ctx_->Send(to, tag, std::move(payload)));
}

template <RingElement T>
Buffer Protocol<T>::RecvOrThrow(size_t from, const std::string& tag, size_t expected_bytes) {
  Buffer b = ValueOrThrow(ctx_->Recv(from, tag));
  VEIL_ENFORCE(b.size() == expected_bytes, AlgorithmError, "unexpected_message_size",
               "message '" + tag + "' from " + ctx_->party_name(from) + " has " +
                   std::to_string(b.size()) + " bytes, expected " + std::to_string(expected_bytes));
  return b;
}

// ---- Protocol: local linear operations ----
template <RingElement T>
AShare<T> Protocol<T>::Add(const Share& x, const Share& y) const {
  return Share{mpc::Add(x.own, y.own), x.next.empty() ? Tensor<T>() : mpc::Add(x.next, y.next)};
}

template <RingElement T>
AShare<T> Protocol<T>::Sub(const Share& x, const Share& y) const {
  return Share{mpc::Sub(x.own, y.own), x.next.empty() ? Tensor<T>() : mpc::Sub(x.next, y.next)};
}

template <RingElement T>
AShare<T> Protocol<T>::Neg(const Share& x) const {
  return Share{mpc::Neg(x.own), x.next.empty() ? Tensor<T>() : mpc::Neg(x.next)};
}

template <RingElement T>
AShare<T> Protocol<T>::SubPublic(const Share& x, const Tensor<T>& c) const {
  return AddPublic(x, mpc::Neg(c));
}

template <RingElement T>
AShare<T> Protocol<T>::MulPublic(const Share& x, const Tensor<T>& c) const {
  return Share{mpc::Mul(x.own, c), x.next.empty() ? Tensor<T>() : mpc::Mul(x.next, c)};
}

template <RingElement T>
AShare<T> Protocol<T>::MulScalar(const Share& x, T s) const {
  return Share{mpc::MulScalar(x.own, s), x.next.empty() ? Tensor<T>() : mpc::MulScalar(x.next, s)};
}

template <RingElement T>
BShare Protocol<T>::Xor(const BShare& x, const BShare& y) const {
  VEIL_ENFORCE(x.nbits == y.nbits, AlgorithmError, "shape_mismatch",
               "xor of bit strings of different lengths");
  return BXor(x, y);
}

// ---- Protocol: comparison family ----
template <RingElement T>
std::vector<BShare> Protocol<T>::CarrySaveReduce(std::vector<BShare> ops) {
  constexpr int k = kRingBits;
  // maj(a, b, c) = ((a ^ c) & (b ^ c)) ^ c.
  while (ops.size() > 2) {
    const size_t groups = ops.size() / 3;
    BShare lhs{0, {}, {}}, rhs{0, {}, {}};
    for (size_t g = 0; g < groups; ++g) {
      const BShare& c = ops[3 * g + 2];
      lhs = g == 0 ? BXor(ops[3 * g], c) : BConcat(lhs, BXor(ops[3 * g], c));
      rhs = g == 0 ? BXor(ops[3 * g + 1], c) : BConcat(rhs, BXor(ops[3 * g + 1], c));
    }
    const BShare prod = And(lhs, rhs);
    const int64_t words = static_cast<int64_t>(ops[0].own.size());
    std::vector<BShare> reduced;
    for (size_t g = 0; g < groups; ++g) {
      const BShare& a = ops[3 * g];
      const BShare& b = ops[3 * g + 1];
      const BShare& c = ops[3 * g + 2];
      BShare carry = BXor(BSlice(prod, g * words, words, a.nbits), c);
      BShiftElementsLeft1(&carry, k);
      reduced.push_back(BXor(BXor(a, b), c));
      reduced.push_back(std::move(carry));
    }
    for (size_t i = 3 * groups; i < ops.size(); ++i) reduced.push_back(std::move(ops[i]));
    ops = std::move(reduced);
  }
  return ops;
}

template <RingElement T>
BShare Protocol<T>::MsbBits(const Share& x) {
  constexpr int k = kRingBits;
  const int64_t n = x.numel();
  std::vector<BShare> ops = CarrySaveReduce(BitOperands(x));
  VEIL_ENFORCE(ops.size() == 2, InternalError, "bad_operands", "msb needs two operands");
  BShare a = std::move(ops[0]), b = std::move(ops[1]);
  // msb(a + b) = a_{k-1} ^ b_{k-1} ^ carry into bit k-1. After shifting both operands left by
  // one, the carry into bit k-1 is the group generate bit over all k positions.
  BShare p = BXor(a, b);
  const BShare top = BTopBits(p, n, k);
  BShiftElementsLeft1(&a, k);
  BShiftElementsLeft1(&b, k);
  BShiftElementsLeft1(&p, k);
  BShare g = And(a, b);
  // Reduction tree: (G, P)_hi ∘ (G, P)_lo = (G_hi ^ (P_hi & G_lo), P_hi & P_lo), bit pairs
  // (2j+1, 2j) of every element per level; both ANDs of a level share one round.
  for (int m = k; m > 1; m /= 2) {
    BShare ge, go, pe, po;
    BDeinterleave(g, &ge, &go);
    BDeinterleave(p, &pe, &po);
    const int64_t words = static_cast<int64_t>(ge.own.size());
    if (m == 2) {
      g = BXor(go, And(po, ge));
      break;
    }
    const BShare prod = And(BConcat(po, po), BConcat(ge, pe));
    g = BXor(go, BSlice(prod, 0, words, go.nbits));
    p = BSlice(prod, words, words, po.nbits);
  }
  return BXor(top, g);
}

template <RingElement T>
AShare<T> Protocol<T>::Msb(const Share& x) {
  return BitToArith(MsbBits(x), x.shape());
}

template <RingElement T>
AShare<T> Protocol<T>::Less(const Share& x, const Share& y) {
  return Msb(Sub(x, y));
}

template <RingElement T>
AShare<T> Protocol<T>::Select(const Share& cond, const Share& a, const Share& b) {
  return Add(b, Mul(cond, Sub(a, b)));
}

template <RingElement T>
AShare<T> Protocol<T>::Relu(const Share& x) {
  return Sub(x, Mul(Msb(x), x));
}

// ---- Protocol: fixed point ----
template <RingElement T>
Tensor<T> Protocol<T>::EncodePublic(const Tensor<double>& v) const {
  return ValueOrThrow(EncodeFixedPoint<T>(v, fxp_bits_));
}

template <RingElement T>
T Protocol<T>::EncodeScalar(double v, int extra_bits) const {
  return ValueOrThrow(EncodeFixedPointScalar<T>(v, fxp_bits_ + extra_bits));
}

template <RingElement T>
AShare<T> Protocol<T>::InputFxp(size_t owner, const Shape& shape, const Tensor<double>* value) {
  if (value == nullptr) return Input(owner, shape, nullptr);
  const Tensor<T> encoded = EncodePublic(*value);
  return Input(owner, shape, &encoded);
}

template <RingElement T>
Tensor<double> Protocol<T>::OpenFxp(const Share& x) {
  return DecodeFixedPoint(Open(x), fxp_bits_);
}

template <RingElement T>
std::optional<Tensor<double>> Protocol<T>::RevealFxpTo(const Share& x, size_t to) {
  auto v = RevealTo(x, to);
  if (!v) return std::nullopt;
  return DecodeFixedPoint(*v, fxp_bits_);
}

template <RingElement T>
AShare<T> Protocol<T>::MulFxp(const Share& x, const Share& y) {
  return Trunc(Mul(x, y), fxp_bits_);
}

template <RingElement T>
AShare<T> Protocol<T>::MatMulFxp(const Share& x, const Share& y) {
  return Trunc(MatMul(x, y), fxp_bits_);
}

template class Protocol<uint64_t>;
template class Protocol<uint128_t>;
template StatusOr<std::unique_ptr<Protocol<uint64_t>>> CreateProtocol<uint64_t>(
    const RuntimeConfig&, link::Context*);
template StatusOr<std::unique_ptr<Protocol<uint128_t>>> CreateProtocol<uint128_t>(
    const RuntimeConfig&, link::Context*);

}  // namespace veil::mpc
