// Protocol: one party's handle on a secret-sharing engine (SPU's runtime_config.protocol), with
// the kernels every protocol offers.
//
//   RuntimeConfig config{.protocol = "SEMI2K", .field = FieldType::kFM64};
//   VEIL_ASSIGN_OR_RETURN(auto prot, CreateProtocol<uint64_t>(config, &ctx));   // collective
//   auto x = prot->InputFxp(/*owner=*/0, shape, rank == 0 ? &mine : nullptr);
//   auto y = prot->InputFxp(/*owner=*/1, shape, rank == 1 ? &theirs : nullptr);
//   auto z = prot->MulFxp(x, y);
//   Tensor<double> out = prot->OpenFxp(z);
//
// Protocols (see each header for the security model and the papers):
//   "SEMI2K"  additive n-of-n sharing over Z_2^k, n >= 2. Beaver material (beaver_type):
//             "TrustedFirstParty" (default; rank 0 deals and learns every secret: a
//             debugging/benchmark mode, as in SPU) or "ot" (exactly 2 parties; dealer-free
//             triples from IKNP OT extension, beaver_ot.h; no party is trusted).
//   "ABY3"    2-out-of-3 replicated sharing, exactly 3 parties; honest majority, semi-honest.
//   "CHEETAH" accepted as an alias of SEMI2K with beaver_type "ot" (exactly 2 parties). veil
//             does not implement SPU's CHEETAH kernels (HE matmul, silent-OT comparison); the
//             alias gives the same security model — semi-honest two-party, no dealer — with
//             SEMI2K's kernels.
//   "REF2K"   plaintext reference (every party holds every value); NOT secure, for tests.
//
// Execution model. Every kernel is collective: all parties call the same kernels in the same
// order with shapes that agree (shapes and the owner of an input are public). Messages are tagged
// "mpc/<kernel>/<sequence number>", so parties that diverge fail with a receive timeout naming the
// kernel instead of silently mixing data.
//
// Semantics. Values are elements of Z_2^k (k = 64 for uint64_t, 128 for unsigned __int128).
// Add/Sub/Mul/MatMul are exact mod 2^k. Trunc(x, f) returns floor(x/2^f) or floor(x/2^f) + 1
// (error < 1 ulp = 2^-f in fixed point). 2-party SEMI2K/CHEETAH (SPU's default, one round) never
// fails while |x| < 2^(k-2) (semi2k.h). ABY3, SEMI2K with n > 2, and 2-party SEMI2K with
// trunc_allow_msb_error (zero rounds) are probabilistic: with probability about |x|/2^k per
// element (≤ 2^(l-k) for |x| < 2^l; SecureML, Theorem 1 states 2^(l+1-k)) the result is off by
// about 2^(k-f); with FM64, f = 18 and |x| < 2^40 (products of values below 2^11) that is below
// 2^-24 per element. Msb/Less are exact when the value (the difference) lies in
// [-2^(k-1), 2^(k-1)). Fixed-point kernels (…Fxp) work on values encoded with fxp_fraction_bits()
// fraction bits; MulFxp = Trunc(Mul(x, y), f), so its error is < 2^-f plus the propagated
// encoding error (≤ (|a| + |b|)·2^-(f+1) for a·b).
//
// Errors. CreateProtocol returns a Status (DeviceConfigError for an unknown/unavailable protocol,
// a wrong party count or a beaver_type the protocol cannot use, NetworkError from the set-up
// exchange, including the base OTs of beaver_type "ot"). Kernels throw VeilException:
// NetworkError when a peer is lost or times out, AlgorithmError("shape_mismatch") for
// non-conforming operands, ParameterError for values that cannot be encoded. A party whose kernel
// throws should Abort() its link::Context so that peers fail fast; the task runtime turns the
// exception into a typed FAILURE (base/exception.h CatchAll).
//
// Thread safety: a Protocol belongs to one party and is used from one thread at a time; kernels
// parallelise internally with base ParallelFor. The link::Context must outlive the Protocol.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/bytes.h"
#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/mpc/bits.h"
#include "veil/mpc/ring.h"

namespace veil::mpc {

inline constexpr char kProtocolSemi2k[] = "SEMI2K";
inline constexpr char kProtocolAby3[] = "ABY3";
inline constexpr char kProtocolCheetah[] = "CHEETAH";
inline constexpr char kProtocolRef2k[] = "REF2K";

// SPU's beaver_type values this engine understands (compared case-insensitively).
inline constexpr char kBeaverTrustedFirstParty[] = "TrustedFirstParty";
inline constexpr char kBeaverOt[] = "ot";

// The subset of SPU's RuntimeConfig this engine reads.
struct RuntimeConfig {
  std::string protocol = kProtocolSemi2k;
  FieldType field = FieldType::kFM64;
  // 0 selects the field default (18 for FM64, 26 for FM128). Valid: 1 .. k/2 - 2.
  int fxp_fraction_bits = 0;
  // Where SEMI2K's Beaver material comes from: "" (the protocol's default: TrustedFirstParty for
  // SEMI2K, ot for CHEETAH), "TrustedFirstParty" or "ot" (two parties only). ABY3 and REF2K
  // need no triples and accept only "" or "TrustedFirstParty" (SPU configs often carry it).
  std::string beaver_type;
  // SPU's trunc_allow_msb_error. false (SPU's default): 2-party SEMI2K truncates with the
  // wrap-bit protocol (one round, exact up to 1 ulp for |x| < 2^(k-2)); true: SecureML's local
  // truncation (no round, fails with probability about |x|/2^k). No effect on other protocols.
  bool trunc_allow_msb_error = false;
};

// The beaver_type `config` resolves to (kBeaverTrustedFirstParty or kBeaverOt), after defaults;
// DeviceConfigError("unknown_beaver_type") for other values.
StatusOr<std::string> EffectiveBeaverType(const RuntimeConfig& config);

// Checks the config against the party count without touching the network.
Status ValidateRuntimeConfig(const RuntimeConfig& config, size_t world_size);

// Arithmetic share of a tensor. SEMI2K/REF2K use `own` only (x_i, with x = Σ x_i mod 2^k for
// SEMI2K); ABY3 holds (own, next) = (x_i, x_{i+1 mod 3}) with x = x_0 + x_1 + x_2.
template <RingElement T>
struct AShare {
  Tensor<T> own;
  Tensor<T> next;
  const Shape& shape() const { return own.shape(); }
  int64_t numel() const { return own.numel(); }
};

// Boolean (XOR) share of a packed bit string of nbits bits (bits.h layout), same component
// convention as AShare.
struct BShare {
  int64_t nbits = 0;
  Words own;
  Words next;
};

// A right-hand matrix operand prepared once for many products x·Y with the same secret Y
// (Protocol::PrepareMatMul). Opaque to callers.
template <RingElement T>
struct PreparedOperand {
  AShare<T> y;  // the operand itself (empty when `masked`)
  Shape shape;  // Y's shape
  bool masked = false;
  Tensor<T> f;      // SEMI2K with a trusted first party: F = Y − B, opened once
  Tensor<T> b;      // this party's share of the mask B
  Tensor<T> sum_b;  // rank 0 (the dealer): B
};

template <RingElement T>
class Protocol {
 public:
  using Share = AShare<T>;
  static constexpr int kRingBits = RingTraits<T>::kBits;

  virtual ~Protocol() = default;
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;

  const std::string& name() const { return name_; }
  FieldType field() const { return RingTraits<T>::kField; }
  int fxp_fraction_bits() const { return fxp_bits_; }
  size_t rank() const { return ctx_->rank(); }
  size_t world_size() const { return ctx_->world_size(); }
  link::Context& link() const { return *ctx_; }

  // ---- input and output ----
  // Secret-shares the owner's tensor. `value` is non-null exactly at rank == owner and must have
  // `shape`; the other parties pass nullptr and the same shape.
  virtual Share Input(size_t owner, const Shape& shape, const Tensor<T>* value) = 0;
  // Reconstructs x at every party.
  virtual Tensor<T> Open(const Share& x) = 0;
  // Reconstructs x at party `to` only; the others get nullopt and receive no message (only `to`
  // is sent the shares it lacks).
  virtual std::optional<Tensor<T>> RevealTo(const Share& x, size_t to) = 0;

  // ---- local (communication-free) linear operations ----
  Share Add(const Share& x, const Share& y) const;
  Share Sub(const Share& x, const Share& y) const;
  Share Neg(const Share& x) const;
  // x + c for a public c of x's shape.
  virtual Share AddPublic(const Share& x, const Tensor<T>& c) const = 0;
  Share SubPublic(const Share& x, const Tensor<T>& c) const;
  // Element-wise x · c for a public c of x's shape, and x · s for a public scalar.
  Share MulPublic(const Share& x, const Tensor<T>& c) const;
  Share MulScalar(const Share& x, T s) const;

  // ---- multiplications and truncation ----
  // Element-wise product mod 2^k.
  virtual Share Mul(const Share& x, const Share& y) = 0;
  // (m x k) · (k x n) product mod 2^k.
  virtual Share MatMul(const Share& x, const Share& y) = 0;
  // Probabilistic arithmetic shift right by `bits` (see Semantics above).
  virtual Share Trunc(const Share& x, int bits) = 0;
  // Products with one operand reused many times (k x n, e.g. a secret data matrix). SEMI2K with a
  // trusted first party masks Y once with a random B and opens F = Y − B once; every later
  // MatMulPrepared draws a fresh A with C = A·B and opens only E = X − A (m x k), as SecureML
  // (Mohassel–Zhang, S&P 2017, §4.2) reuses the masked data matrix across mini-batches. Reusing
  // B is secure because each E is masked by a fresh A. Other protocols keep Y and call MatMul
  // (ABY3's MatMul never sends Y). Same result as MatMul(x, y).
  virtual PreparedOperand<T> PrepareMatMul(const Share& y) {
    PreparedOperand<T> p;
    p.y = y;
    p.shape = y.shape();
    return p;
  }
  virtual Share MatMulPrepared(const Share& x, const PreparedOperand<T>& y) {
    return MatMul(x, y.y);
  }

  // ---- boolean layer (used by the comparison kernels) ----
  virtual BShare And(const BShare& x, const BShare& y) = 0;
  BShare Xor(const BShare& x, const BShare& y) const;
  // Boolean shares of k-bit operands whose sum mod 2^k is x (the local first step of a share
  // conversion: each arithmetic component becomes its own boolean operand).
  virtual std::vector<BShare> BitOperands(const Share& x) = 0;
  // Arithmetic share of the bits (0 or 1 per element) of a boolean share of numel(shape) bits.
  virtual Share BitToArith(const BShare& bits, const Shape& shape) = 0;

  // ---- comparison family ----
  // Most significant bit (1 iff x < 0 in the signed view) as a boolean share of one bit per
  // element. Circuit: the operands of BitOperands are added with carry-save adders (one AND
  // round per level) down to two, a and b; then msb = a_{k-1} ^ b_{k-1} ^ carry, where the carry
  // into bit k-1 comes from a log2(k)-level generate/propagate reduction tree (each level halves
  // the bits and costs one AND round), for log2(k) + 1 AND rounds in total with two operands.
  BShare MsbBits(const Share& x);
  // Carry-save adders (three k-bit operands to two per adder, s = a ^ b ^ c and
  // carry = maj(a, b, c) << 1, every adder of a level in one AND round) until at most two
  // operands remain; their sum mod 2^k is that of `ops`. The first step of MsbBits and of a full
  // bit decomposition (fxp_approx.h).
  std::vector<BShare> CarrySaveReduce(std::vector<BShare> ops);
  // Msb as an arithmetic 0/1 share.
  Share Msb(const Share& x);
  // 1 if x < y else 0 (exact when y - x does not wrap).
  Share Less(const Share& x, const Share& y);
  // cond ? a : b, with cond an arithmetic 0/1 share: b + cond·(a − b).
  Share Select(const Share& cond, const Share& a, const Share& b);
  // max(x, 0) = x − msb(x)·x.
  Share Relu(const Share& x);

  // ---- fixed point (fxp_fraction_bits() fraction bits) ----
  // Encodes a public double tensor; throws VeilException(ParameterError) if it does not fit.
  Tensor<T> EncodePublic(const Tensor<double>& v) const;
  // One public real with fxp_fraction_bits() + extra_bits fraction bits (extra bits keep the
  // precision of small multipliers; Trunc by the total afterwards). Throws as EncodePublic.
  T EncodeScalar(double v, int extra_bits = 0) const;
  Share InputFxp(size_t owner, const Shape& shape, const Tensor<double>* value);
  Tensor<double> OpenFxp(const Share& x);
  std::optional<Tensor<double>> RevealFxpTo(const Share& x, size_t to);
  Share MulFxp(const Share& x, const Share& y);
  Share MatMulFxp(const Share& x, const Share& y);

 protected:
  Protocol(std::string name, link::Context* ctx, int fxp_bits)
      : name_(std::move(name)), ctx_(ctx), fxp_bits_(fxp_bits) {}

  // A fresh tag for one kernel invocation; every party derives the same sequence.
  std::string NextTag(std::string_view kernel);
  // Link helpers that throw VeilException on failure.
  void SendOrThrow(size_t to, const std::string& tag, Buffer payload);
  // Fails with AlgorithmError("unexpected_message_size") unless the message has expected_bytes.
  Buffer RecvOrThrow(size_t from, const std::string& tag, size_t expected_bytes);

 private:
  std::string name_;
  link::Context* ctx_;
  int fxp_bits_;
  uint64_t seq_ = 0;
};

// Names that CreateProtocol accepts.
std::vector<std::string> ProtocolNames();

// Builds this party's protocol. Collective: every party of ctx calls it with the same config.
// Validates the config, checks that all parties agree on it, and establishes the pairwise PRG
// seeds (setup.h) before returning. T must match config.field.
template <RingElement T>
StatusOr<std::unique_ptr<Protocol<T>>> CreateProtocol(const RuntimeConfig& config,
                                                      link::Context* ctx);

}  // namespace veil::mpc
