import Synchronization

/// The client's background tasks (subscription dispatchers, lease scopes, worker heartbeats), so that
/// closing the client can cancel them all and wait for them.
///
/// A `Mutex` guards the table; a task is inserted under the lock that creates it, so a task that finishes at
/// once still removes itself.
final class BackgroundTasks: Sendable {
    private struct State {
        var closed = false
        var nextID: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Whether ``cancelAll()`` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The number of running tasks.
    var count: Int { state.withLock { $0.tasks.count } }

    /// Starts `body` as a tracked task, or returns nil when the client is closed.
    @discardableResult
    func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        state.withLock { state -> Task<Void, Never>? in
            guard !state.closed else { return nil }
            state.nextID += 1
            let id = state.nextID
            let task = Task { [weak self] in
                await body()
                self?.finished(id)
            }
            state.tasks[id] = task
            return task
        }
    }

    private func finished(_ id: UInt64) {
        state.withLock { _ = $0.tasks.removeValue(forKey: id) }
    }

    /// Refuses new tasks, cancels the running ones and waits for them to end.
    func cancelAll() async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.closed = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
