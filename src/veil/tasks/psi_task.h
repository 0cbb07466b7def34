// task_type "psi": private set intersection of CSV files on key columns (SPEC §4.5,
// python-worker.md §1.2), with SQL join types and row-aligned outputs.
//
// Fields: keys {party: [col…]} (names may differ between parties, same count), input_paths,
// output_paths, receiver (default: first party, then broadcast_result is forced on), protocol
// (KKRT_PSI_2PC | PROTOCOL_KKRT | PROTOCOL_RR22 | RR22_FAST_PSI_2PC — two parties only — or
// ECDH_PSI_2PC | ECDH_PSI_3PC | ECDH_PSI_NPC | PROTOCOL_ECDH; default KKRT_PSI_2PC for two
// parties, PROTOCOL_ECDH for more; RR22_LOWCOMM/RR22_MALICIOUS/BC22/DP_PSI are rejected with
// protocol_not_supported), broadcast_result (false), sort (false), join_type (inner_join),
// left_side (receiver), allow_duplicated_keys (true: cartesian product per key),
// allow_empty_result (true), precheck_input (accepted; inputs are always checked), batch_size
// (veil extension: 4096 for ECDH, 16384 for KKRT/RR22).
//
// Phases of one party: precheck (stream the input: key columns exist, row count, duplicates;
// every party's verdict and size are exchanged so all fail together with the same reason) →
// the PSI protocol (psi/kkrt_psi.h, psi/rr22_psi.h, psi/ecdh_psi.h), which hands the receiver a
// fingerprint per row of every party → the receiver plans the join (psi/join.h) and, when
// broadcasting, sends each party its row list → each party with a row list writes its output:
// its own input rows (raw bytes, original quoting kept) in the aligned order, empty rows where it
// has no match. Output = header + rows, written atomically.
//
// Reveals: the intersection (and for outer joins the unmatched rows' count) to the receiver, and
// to every party when broadcast; every party's input size to all parties.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType PsiTaskType();

}  // namespace veil::tasks
