package import StreamKitEngine
import Synchronization

/// A monotonic clock that moves only when a test calls ``advance(by:)``; its `sleep` suspends until an
/// advance passes the sleeper's deadline (or the sleeping task is cancelled).
package final class ManualClock: Sendable {
    private struct Sleeper {
        let id: UInt64
        let deadline: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: UInt64
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
    }

    private let state: Mutex<State>

    /// Starts at `now` nanoseconds (an arbitrary non-zero origin by default).
    package init(now: UInt64 = 1_000 * 1_000_000_000) {
        state = Mutex(State(now: now))
    }

    /// The current reading, nanoseconds.
    package var now: UInt64 { state.withLock { $0.now } }

    /// The number of tasks suspended in `sleep`.
    package var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The clock to put into a `StoreConfiguration`.
    package var engineClock: EngineClock {
        EngineClock(now: { [self] in now }, sleep: { [self] in try await sleep($0) })
    }

    /// Moves the clock forward and wakes every sleeper whose deadline has been reached.
    package func advance(by nanoseconds: UInt64) {
        let due = state.withLock { state -> [Sleeper] in
            state.now += nanoseconds
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Suspends until the clock has advanced by `nanoseconds`; throws `CancellationError` when cancelled.
    package func sleep(_ nanoseconds: UInt64) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let deadline = state.now + nanoseconds
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
