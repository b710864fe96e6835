#ifndef C_MALLOC_COUNTER_H
#define C_MALLOC_COUNTER_H

/// Counts heap allocations (malloc, calloc, realloc, the aligned forms) of the whole process between
/// `sk_allocations_start` and `sk_allocations_stop`, by defining the allocator's entry points in the executable
/// that links this target (only `Benchmarks` does) and passing each call on to glibc.
void sk_allocations_start(void);

/// Stops counting and returns the allocations counted since `sk_allocations_start`.
unsigned long long sk_allocations_stop(void);

#endif
