internal import CStreamKitSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pthread mutex with a few condition variables, for the hand-offs between producers, the WAL thread and
/// the sealer thread, and between a reader and its read-ahead thread (Swift's `Mutex` has no condition
/// variable). The protected state lives in the owner and
/// is only touched inside `withLock`.
final class ConditionLock: @unchecked Sendable {
    /// The conditions threads wait on.
    enum Condition: Int, CaseIterable {
        /// Work for the WAL thread: a pending batch, a checkpoint, close, or a WAL file to delete.
        case walWork
        /// Work for the sealer thread: a full block to compress and write, or exit.
        case sealerWork
        /// A block buffer came back to the free pool, or the sealer or syncer went idle.
        case sealerProgress
        /// Enough block buffers came back for the block builder to go on, or the writer failed.
        case blocksFreed
        /// Work for the syncer thread: a log file to sync, or exit.
        case syncerWork
        /// Room for a reader's read-ahead thread to decode another block, or stop (``BlockReadAhead``).
        case readAheadWork
        /// A block the read-ahead thread decoded is ready, or the thread exited.
        case readAheadReady
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        conditions = .allocate(capacity: Condition.allCases.count)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for i in 0..<Condition.allCases.count { pthread_cond_init(conditions + i, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for i in 0..<Condition.allCases.count { pthread_cond_destroy(conditions + i) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal on `condition`; call only inside `withLock`.
    func wait(_ condition: Condition) { pthread_cond_wait(conditions + condition.rawValue, mutex) }

    /// Waits for a signal on `condition` or until `nanoseconds` pass; call only inside `withLock`.
    func wait(_ condition: Condition, nanoseconds: Int64) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int64(now.tv_nsec) + nanoseconds
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(conditions + condition.rawValue, mutex, &deadline)
    }

    func signal(_ condition: Condition) { pthread_cond_signal(conditions + condition.rawValue) }
    func broadcast(_ condition: Condition) { pthread_cond_broadcast(conditions + condition.rawValue) }
}

/// Monotonic nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Wall-clock nanoseconds since the Unix epoch.
@inline(__always)
func realtimeNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Starts a detached POSIX thread running `body`; returns the `pthread_create` error, or 0.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> Int32 {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(
        Box {
            sk_set_thread_name(String(name.prefix(15)))
            body()
        })
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
    if rc != 0 {
        box.release()
    } else {
        pthread_detach(thread)
    }
    return rc
}
