#if canImport(Glibc)
import Glibc
#endif

/// Bounds the rate of a compaction's reads and writes, and stops it when its task is cancelled (the store
/// closing). Used on a thread that may block.
struct CompactionPacer {
    /// At most this many bytes per second (nil or 0: no bound).
    let bytesPerSecond: Int64?
    private let start = ContinuousClock.now
    private var bytes: Int64 = 0

    init(bytesPerSecond: Int64?) { self.bytesPerSecond = bytesPerSecond }

    /// Counts `count` bytes and sleeps while the compaction is ahead of its rate.
    /// - Throws: `CancellationError` when the task is cancelled.
    mutating func pace(_ count: Int) throws {
        try Task.checkCancellation()
        bytes += Int64(count)
        guard let rate = bytesPerSecond, rate > 0 else { return }
        let due = Double(bytes) / Double(rate)
        let elapsed = ContinuousClock.now - start
        let ahead = due - (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        if ahead > 0 { usleep(UInt32(min(ahead, 1) * 1_000_000)) }
    }
}
