// TuneHostAllocator: glibc malloc settings for a process whose tensors are large and short-lived.
#pragma once

namespace brain::model {

// glibc serves allocations above a (dynamic, at most 32 MiB) threshold with fresh mmap'd pages and
// returns them on free, so a tensor of that size allocated every step — decode logits [rows, V],
// sampling temporaries, activations — is page-faulted and zeroed by the kernel every time (7% of a
// decode profile in clear_page alone). This serves allocations up to 256 MiB from the heap and keeps up
// to 1 GiB of freed heap, so they are reused instead (+16% generated tokens/s, same peak RSS in DPO).
// Call first thing in main(). A no-op outside glibc, with BRAIN_DEFAULT_MALLOC=1, or when any of glibc's
// own MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ / MALLOC_TOP_PAD_ is set (the user's choice wins).
void TuneHostAllocator();

}  // namespace brain::model
