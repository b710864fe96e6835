#pragma once
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `length` bytes, continuing from `crc`
/// (pass 0 to start). Uses SSE4.2 `crc32` instructions when the CPU has them, slicing-by-8 otherwise.
uint32_t sk_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable slicing-by-8 CRC32C, exposed so tests can check it against the hardware path.
uint32_t sk_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `sk_crc32c` runs on the SSE4.2 instruction, 0 when it uses the portable tables.
int sk_crc32c_is_hardware(void);

/// Linux `fallocate(2)` with mode 0 (allocate and extend); returns 0 or -1 with errno set.
int sk_fallocate(int fd, int64_t offset, int64_t length);

/// Fills `length` bytes at `buffer` from the kernel's random source (`getrandom(2)` on Linux,
/// `arc4random_buf` elsewhere); returns 0, or -1 with errno set.
int sk_random_bytes(void *buffer, size_t length);

/// Adds to `actions` the closing of every descriptor from `lowest` up in the spawned process (glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, 2.34+, which Swift's Glibc module does not declare), so that a
/// long-lived child (a database server) holds none of this process's sockets or files; returns 0 or an errno.
int sk_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// Resident set size of this process in bytes, from /proc/self/statm; 0 when unknown.
uint64_t sk_resident_bytes(void);

/// Peak resident set size (VmHWM) of this process in bytes, from /proc/self/status; 0 when unknown.
uint64_t sk_peak_resident_bytes(void);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif
/// Starts asynchronous write-back of a file range (Linux `sync_file_range` with SYNC_FILE_RANGE_WRITE), so a
/// later `fdatasync` has little left to do. Returns 0, or -1 with errno set (also where unsupported).
int sk_start_writeback(int fd, int64_t offset, int64_t length);
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif
/// Names the calling thread (up to 15 bytes; shown by `top -H`, `perf`, debuggers).
void sk_set_thread_name(const char *name);
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif
/// Bytes currently allocated from the C heap (glibc `mallinfo2().uordblks`); 0 where unknown.
uint64_t sk_heap_in_use(void);
#ifdef __cplusplus
}
#endif
