// Non-linear fixed-point kernels of the MPC engine (SPU's libspu/kernel/hal/fxp_approx.cc and
// SecretFlow's secretflow/utils/sigmoid.py): bit decomposition, normalisation, exp, reciprocal,
// division, log, sqrt / rsqrt and the sigmoid family.
//
//   auto x = prot.InputFxp(0, shape, rank == 0 ? &values : nullptr);
//   auto y = Sigmoid(prot, x, SigmoidMode::kReal);          // collective, like every kernel
//   Tensor<double> out = prot.OpenFxp(y);
//
// Every kernel is a free function over Protocol<T>& that uses only its public API, so it runs
// unchanged on SEMI2K, ABY3 and REF2K; it is collective (all parties call it in the same order
// with the same shapes) and element-wise on a tensor of any shape. Security is that of the
// underlying protocol (semi-honest); no kernel reveals anything, so out-of-domain inputs are not
// detected: they produce the documented (possibly meaningless) value instead of an error.
// Programming errors (shape mismatches, bad iteration counts) throw VeilException
// (AlgorithmError / ParameterError) like the protocol layer.
//
// Rounds below are communication rounds for SEMI2K with 2 parties and FM64, counted with
// SecureML's local truncation (trunc_allow_msb_error); with the default wrap-bit truncation every
// Trunc adds one round (bench_mpc reports the rounds actually used). "A2B" = log2(k) + 1 AND
// rounds (+1 carry-save level when there are 3 operands: SEMI2K 3pc and ABY3), "Msb" = the
// protocol's comparison (protocol.h).
//
// Precision and the truncation domain. Inputs are fixed point with f = fxp_fraction_bits()
// fraction bits (FM64: 18, FM128: 26); 1 ulp = 2^-f. Every MulFxp adds < 1 ulp of error. The
// error bounds below are those fxp_approx_test.cc asserts against double arithmetic on the
// *quantised* input (decode(encode(x))), for FM64 (FM128 is at least as good unless stated).
// The probabilistic truncations (ABY3, SEMI2K n > 2, 2-party SEMI2K with trunc_allow_msb_error)
// fail (an error of about 2^(k-f)) with probability about |p|/2^k for a product p before
// truncation, so the kernels keep
// their intermediate products near |result|·2^(2f) (Horner forms, split power-of-two scaling);
// the stated domains keep that probability below about 2^-20 per element on FM64.
//
// Thread safety: as Protocol (one thread per party).
#pragma once

#include <cstdint>
#include <string_view>

#include "veil/base/status.h"
#include "veil/mpc/protocol.h"

namespace veil::mpc {

// SPU's runtime defaults (populateRuntimeConfig): fxp_exp_iters and fxp_div_goldschmidt_iters.
inline constexpr int kDefaultExpIters = 8;
inline constexpr int kDefaultGoldschmidtIters = 2;
// Goldschmidt iterations used from this many fraction bits on (SPU: 3 when f >= 30).
inline constexpr int kGoldschmidtExtraIterFxpBits = 30;
// Newton iterations of rsqrt after the quadratic initial guess.
inline constexpr int kRsqrtNewtonIters = 2;

// ---- bit decomposition and normalisation ----

// Full arithmetic-to-boolean conversion: a boolean share of the k-bit two's-complement encoding
// of every element (bits.h layout, numel·k bits). The operands of BitOperands are added with
// carry-save adders down to two, then by a Kogge-Stone parallel-prefix adder (Kogge & Stone 1973;
// ABY, NDSS 2015 §III): generate/propagate over distances 1, 2, …, k/2.
// Rounds: A2B = log2(k) + 1 AND rounds (7 for FM64, 8 for FM128), + 1 with three operands.
template <RingElement T>
BShare BitDecompose(Protocol<T>& prot, const AShare<T>& x);

// Inverse of BitDecompose: the arithmetic share of the k-bit values whose bits `bits` holds
// (one BitToArith of numel·k bits, then a local weighted sum). One round.
template <RingElement T>
AShare<T> BitCompose(Protocol<T>& prot, const BShare& bits, const Shape& shape);

// Result of Normalize: x = sign · mantissa · 2^exponent.
template <RingElement T>
struct Normalized {
  // c ∈ [0.5, 1] (fixed point; c = 1 only for a negative power of two, 0 outside the domain).
  AShare<T> mantissa;
  // m as a fixed-point integer (OpenFxp gives m exactly): |x| = c · 2^m.
  AShare<T> exponent;
  // Arithmetic 0/1 shares of shape {2f, numel}: row j is 1 iff bit j is the highest set bit of
  // |x|·2^f (of |x|·2^f − 1 for negative x); all rows 0 outside the domain. Kernels derive
  // public per-exponent constants from it with local linear combinations.
  AShare<T> onehot;
  // Scaling by 2^-m as two shares (sign included when Normalize was signed):
  // y·sign·2^-m = y·scale_up + Trunc(y·scale_down, f). See ScaleByPow2.
  AShare<T> scale_up;
  AShare<T> scale_down;
  // 0/1 share of x < 0 (all zero when Normalize was unsigned).
  AShare<T> sign;
};

// SPU's normalisation (highestOneBit via a prefix-OR and a bit reversal, then B2A): for
// x ∈ [2^-f, 2^f) (signed: |x| in that range, except −2^-f) finds m with c = |x|·2^-m ∈ [0.5, 1).
// Circuit: BitDecompose; for signed inputs the bits are XORed with the sign bit (|x| − 1 for
// negatives, so c may reach 1 at negative powers of two); prefix-OR from the top over all k bits
// (log2(k) AND rounds); one-hot = y ^ (y >> 1) restricted to bits [0, 2f); one BitToArith of
// 2f + 1 bits per element; then c = x·2^-m by ScaleByPow2.
// Rounds: A2B + 6 + 1 (B2A) + 1 (sign, signed only) + 1 (mantissa) = 16 signed, 15 unsigned.
// Outside the domain (|x| ≥ 2^f, x = 0) every row of onehot is 0: mantissa, scale and exponent
// are 0. For unsigned normalisation of a negative x the result is unspecified.
template <RingElement T>
Normalized<T> Normalize(Protocol<T>& prot, const AShare<T>& x, bool is_signed);

// y · sign · 2^-m with the scale of n (one multiplication round, plus a Trunc): exact up to the
// truncation (< 1 ulp) when y·2^-m is representable.
template <RingElement T>
AShare<T> ScaleByPow2(Protocol<T>& prot, const Normalized<T>& n, const AShare<T>& y);

// ---- exp ----

// exp(x) by SPU's EXP_TAYLOR (CrypTen; Knott et al., NeurIPS 2021): (1 + x/2^n)^(2^n), one
// truncation by n and n squarings (n = iters, SPU's fxp_exp_iters = 8).
// Rounds: n (2-party SEMI2K; elsewhere each squaring adds its Trunc round, plus one).
// Error (n = 8): the method's relative error is 1 − exp(−x²/2^(n+1) + O(x³/4^n)), about x²/512
// (12% at x = −8, 3% at x = 4): asserted |exp(x) − y| ≤ (x²/500 + 3e-3)·exp(x) + 4 ulp on
// x ∈ [−8, 4], and 0 ≤ y ≤ e^-8 on [−200, −8]. Domain: x ∈ (−2^n, 8] on FM64 (towards x ≈ 12 the
// last squarings' products approach 2^64; below −2^n the base 1 + x/2^n turns negative and the
// result is meaningless). Use Sigmoid(kReal) rather than 1/(1 + Exp(−x)) for logits.
template <RingElement T>
AShare<T> Exp(Protocol<T>& prot, const AShare<T>& x, int iters = kDefaultExpIters);

// ---- reciprocal, division ----

// 1/x by SPU's Goldschmidt (Normalize signed; w = 2.9142 − 2c, e = 1 − c·w; iterate r ← r(1+e),
// e ← e² with both products in one round; scale back by 2^-m with the sign). iters = 0 selects
// SPU's default: 2, or 3 when f ≥ 30 (relative error of the method |e0|^(2^iters) with
// |e0| ≤ 0.0858: 5.4e-5 for 2 iterations).
// Rounds: 16 (Normalize) + 1 + iters + 1 = 20 (FM64 default).
// Error: asserted |1/x − y| ≤ 2e-4·|1/x| + 4 ulp for |x| ∈ [0.01, 2^f) (measured: relative
// 5.4e-5 on FM128, where the ulp term vanishes).
// Out of domain: x = 0 gives 0; |x| ≥ 2^f gives a value within 1 ulp of 1/x (0 or ±1 ulp).
template <RingElement T>
AShare<T> Reciprocal(Protocol<T>& prot, const AShare<T>& x, int iters = 0);

// x / y = x · Reciprocal(y), then one Newton correction q ← q + r·(x − q·y), which squares the
// relative error of the reciprocal. Rounds: 20 + 3.
// Error: asserted |x/y − q| ≤ 1e-4·|x/y| + 8 ulp for |x| ≤ 100, |y| ∈ [0.01, 1000] and
// |x/y| < 2^(f/2).
template <RingElement T>
AShare<T> Div(Protocol<T>& prot, const AShare<T>& x, const AShare<T>& y);

// ---- log, sqrt, rsqrt ----

// Natural logarithm: Normalize (unsigned), u = 2c − 1 ∈ [0, 1), log(1 + u) by a degree-8
// least-squares polynomial on Chebyshev nodes (max error 3.4e-8; powers in 3 rounds, one
// truncation for the sum), plus the exponent term (m − 1)·ln 2 as a local linear combination of
// the one-hot rows. Rounds: 15 + 3 = 18.
// Error: asserted |log x − y| ≤ 8 ulp (3e-5 on FM64; measured ≤ 3.5 ulp) on x ∈ [1e-3, 2^f).
// Domain: x ∈ [2^-f, 2^f); x ≤ 0 or x ≥ 2^f give an unspecified (finite) value.
template <RingElement T>
AShare<T> Log(Protocol<T>& prot, const AShare<T>& x);

// 1/√x: Normalize (unsigned); r0 = quadratic least-squares fit of c^(-1/2) on [0.5, 1]
// (relative error 4.4e-3); kRsqrtNewtonIters Newton steps r ← 1.5r − 0.5(c·r)·r² (2 rounds
// each); × √2 when m is odd; × 2^(-⌈m/2⌉) by a split power-of-two scaling.
// Rounds: 15 + 1 + 4 + 1 + 1 = 22.
// Error: asserted |x^(-1/2) − y| ≤ 1e-4·x^(-1/2) + 4 ulp on x ∈ [0.01, 2^f).
// Domain: x ∈ [2^-f, 2^f); x ≤ 0 or x ≥ 2^f give 0 (or, for x < 0, an unspecified value).
template <RingElement T>
AShare<T> Rsqrt(Protocol<T>& prot, const AShare<T>& x);

// √x = c·rsqrt(c) on the mantissa (full precision there), × √2 when m is odd, × 2^⌊m/2⌋.
// Rounds: 15 + 1 + 4 + 1 + 1 + 1 = 23.
// Error: asserted |√x − y| ≤ 1e-4·√x + 4 ulp on x ∈ [0, 2^f) (x < 2^-f gives 0).
template <RingElement T>
AShare<T> Sqrt(Protocol<T>& prot, const AShare<T>& x);

// ---- sigmoid ----

enum class SigmoidMode {
  kT1,    // SF t1: 0.5 + x/4, clipped to [0, 1] (0 for x < −2, 1 for x > 2).
  kT3,    // SF t3: 0.5 + x/4 − x³/48; 0 for x < −2, 1 for x > 2.
  kT5,    // SF t5: 0.5 + x/4 − x³/48 + x⁵/480, clipped to [0, 1].
  kMM1,   // SPU SIGMOID_MM1: 0.5 + x/8 (no clipping).
  kSeg3,  // SPU SIGMOID_SEG3: 0.5 + x/8; 0 for x < −4, 1 for x > 4.
  kReal,  // SPU SIGMOID_REAL / SF real: 1 / (1 + exp(−x)).
  kSr,    // SF sr (SS-XGB): 0.5·x/√(1 + x²) + 0.5.
};

// "t1", "t3", "t5", "mm1", "seg3", "real", "sr", case-insensitive, also with SPU's "SIGMOID_"
// prefix ("SIGMOID_MM1", "sigmoid_real"). Anything else: ParameterError("unknown_sigmoid_mode").
StatusOr<SigmoidMode> ParseSigmoidMode(std::string_view name);
// The short lower-case name ("t1", …, "sr").
std::string_view SigmoidModeName(SigmoidMode mode);

// sigmoid(x) in the given mode. Methods, rounds (SEMI2K 2pc FM64) and asserted errors against
// the mode's own formula (the SF / SPU definition) and, for real and sr, against 1/(1+e^-x):
//   t1, seg3: one Msb on [x + a, a − x] (a = 2 or 4) and one select Mul: Msb + 1 rounds;
//             |err| ≤ 4 ulp.
//   t3, t5:   Horner in x² (x², x²·q, x·r: 3 rounds) then the same clipping (t5 clips where its
//             polynomial leaves [0, 1], ±x0 with t5(x0) = 1, computed at run time; the products
//             of clipped elements are multiplied by 0, so any x in the Msb domain is safe);
//             |err| ≤ 1e-4 for t3, 2e-4 for t5 (measured 1.5e-5 and 8e-5).
//   mm1:      local + one Trunc; |err| ≤ 2 ulp.
//   real:     σ(x) = s ? 1 − σ(|x|) : σ(|x|) with s = Msb(x): exp of −|x| ≤ 0 never overflows
//             and 1 + exp(−|x|) ∈ [1, 2] needs no normalisation (Goldschmidt directly).
//             |x| is clamped to 2^n = 256 (where the Taylor base reaches 0) with two more
//             comparisons in the same Msb call. Rounds: Msb + 1 + Exp + 1 + iters + 1 = 21.
//             |σ(x) − y| ≤ 1.2e-3 (the Taylor exp error; measured ≤ 1.0e-3, largest near
//             |x| = 2.3) for any x in the Msb domain (tested up to |x| = 1e4).
//   sr:       x² (1), Rsqrt(1 + x²) (22), x·r (1): 24 rounds. |err| ≤ 1e-4 against the sr
//             formula for |x| ≤ 16 (FM64; 1 + x² must stay below 2^f). The sr formula itself
//             is up to 0.124 away from 1/(1+e^-x) (near |x| = 0.86).
template <RingElement T>
AShare<T> Sigmoid(Protocol<T>& prot, const AShare<T>& x, SigmoidMode mode);

}  // namespace veil::mpc
