import CMallocCounter

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every timed phase does first, whichever system it measures.
enum TimedPhase {
    /// Writes back every dirty page (`sync(2)` returns once write-back is done) and lets the flusher
    /// threads go idle, so that the pages the previous system left dirty — hundreds of MiB after a produce
    /// run — are not written back on the cores and the disk while the next one is measured; then resets the
    /// peak-RSS counter. On the 2-core reference VM this took the spread of repeated `engine.produce` runs
    /// from 1.1–2.0M records/s down to a few percent, for StreamKit and the peers alike.
    static func prepare() {
        sync()
        usleep(100_000)
        ResidentMemory.resetPeak()
        profilerControl("enable")
        sk_allocations_start()
    }

    /// Ends the profiled stretch begun by ``prepare()`` (what the scenario tears down stays out of the profile).
    static func finish() {
        profilerControl("disable")
    }

    /// Heap allocations of the whole process since ``prepare()`` (malloc, calloc, realloc and the aligned
    /// forms, counted by the `CMallocCounter` target); stops counting.
    static func allocations() -> UInt64 { UInt64(sk_allocations_stop()) }

    /// With `STREAMKIT_PERF_CONTROL` set to the control FIFO of `perf record -D -1 --control fifo:PATH`, the
    /// profiler samples from the start of the timed phase on (untimed set-up, such as writing what a consume
    /// scenario reads, stays out of the profile).
    static func profilerControl(_ command: String) {
        guard let path = getenv("STREAMKIT_PERF_CONTROL") else { return }
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { return }
        let line = command + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}
