#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time for the engine's timers (lease expiry, worker presence, idle eviction, heartbeats), in
/// nanoseconds, replaceable by a manual clock in tests.
public struct EngineClock: Sendable {
    /// Monotonic nanoseconds (any origin).
    public var now: @Sendable () -> UInt64
    /// Suspends for about `nanoseconds`; throws `CancellationError` when the task is cancelled.
    public var sleep: @Sendable (_ nanoseconds: UInt64) async throws -> Void

    /// Creates a clock from its two functions.
    public init(
        now: @escaping @Sendable () -> UInt64, sleep: @escaping @Sendable (_ nanoseconds: UInt64) async throws -> Void
    ) {
        self.now = now
        self.sleep = sleep
    }

    /// The system's monotonic clock and `Task.sleep`.
    public static let system = EngineClock(
        now: {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        },
        sleep: { nanoseconds in try await Task.sleep(nanoseconds: nanoseconds) })
}
