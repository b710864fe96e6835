import Synchronization

/// A counting semaphore bounding how many subscription handlers of one client run at once.
///
/// Waiters are served first in, first out. A `Mutex` guards the count and the queue.
final class HandlerPool: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var running = 0
        var highWater = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state: Mutex<State>
    /// The most handlers that may run at once.
    let capacity: Int

    /// Creates a pool of `capacity` slots (at least 1).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        state = Mutex(State(available: max(1, capacity)))
    }

    /// Handlers running now.
    var running: Int { state.withLock { $0.running } }

    /// The most handlers that ran at once so far.
    var highWater: Int { state.withLock { $0.highWater } }

    /// Takes a slot, waiting for one to be released.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func acquire() async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.available > 0 {
                        state.available -= 1
                        state.running += 1
                        state.highWater = max(state.highWater, state.running)
                        return .success(())
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns a slot, handing it to the longest waiter if any.
    func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                state.running -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
    }
}
