// task_type "psi": private set intersection of CSV files on key columns (SPEC §4.5,
// python-worker.md §1.2), with SQL join types and row-aligned outputs.
//
// Fields: keys {party: [col…]} (names may differ between parties, same count), input_paths,
// output_paths, receiver (default: first party, then broadcast_result is forced on), protocol
// (ECDH_PSI_2PC | ECDH_PSI_3PC | ECDH_PSI_NPC | PROTOCOL_ECDH; KKRT/RR22 not supported yet),
// broadcast_result (false), sort (false), join_type (inner_join), left_side (receiver),
// allow_duplicated_keys (true: cartesian product per key), allow_empty_result (true),
// precheck_input (accepted; inputs are always checked), batch_size (4096, veil extension).
//
// Phases of one party: precheck (stream the input: key columns exist, row count, duplicates;
// every party's verdict and size are exchanged so all fail together with the same reason) →
// ECDH protocol (psi/ecdh_psi.h) → the receiver plans the join (psi/join.h) and, when
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
