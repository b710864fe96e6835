import Synchronization

/// The client's background tasks (subscription dispatchers, lease scopes, worker heartbeats), so that
/// closing the client can cancel them all and wait for them.
///
/// A `Mutex` guards the table; a task is inserted under the lock that creates it, so a task that finishes at
/// once still removes itself.
///
/// **Closing from inside.** Each task's body runs with a task-local mark naming it (inherited by the tasks it
/// starts: a handler's timeout task, a lease body's task group). Code running under that mark — a subscription
/// handler, a lease body — may close the client: ``enterClose()`` records that the task is itself waiting for
/// the close, and ``cancelAll()`` then cancels it but does not wait for it, since it cannot end before the close
/// does. It ends once its code returns.
final class BackgroundTasks: Sendable {
    /// The background task some code runs in.
    struct Mark: Sendable, Hashable {
        let owner: ObjectIdentifier
        let id: UInt64
    }

    /// The background tasks (of any client) the current code runs in, innermost last.
    @TaskLocal static var current: [Mark] = []

    private struct State {
        var closed = false
        var nextID: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
        /// Tasks whose own code is waiting for the client to close: ``cancelAll()`` does not wait for them.
        var closing: Set<UInt64> = []
        /// ``cancelAll()`` calls waiting for the other tasks to end.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []

        /// Whether every task left is one that waits for the close itself.
        var isDrained: Bool { tasks.keys.allSatisfy { closing.contains($0) } }

        mutating func takeWaitersIfDrained() -> [CheckedContinuation<Void, Never>] {
            guard isDrained else { return [] }
            defer { drainWaiters = [] }
            return drainWaiters
        }
    }

    private let state = Mutex(State())

    /// Whether ``cancelAll()`` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The number of running tasks.
    var count: Int { state.withLock { $0.tasks.count } }

    /// Starts `body` as a tracked task, or returns nil when the client is closed.
    @discardableResult
    func start(_ body: @escaping @Sendable () async -> Void) -> Handle? {
        let owner = ObjectIdentifier(self)
        return state.withLock { state -> Handle? in
            guard !state.closed else { return nil }
            state.nextID += 1
            let mark = Mark(owner: owner, id: state.nextID)
            let task = Task { [weak self] in
                await Self.$current.withValue(Self.current + [mark]) { await body() }
                self?.finished(mark.id)
            }
            state.tasks[mark.id] = task
            return Handle(mark: mark, task: task)
        }
    }

    private func finished(_ id: UInt64) {
        let waiters = state.withLock { state in
            state.tasks.removeValue(forKey: id)
            state.closing.remove(id)
            return state.takeWaitersIfDrained()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The current code is about to wait for the client to close: if it runs in one of these tasks, that task is
    /// not waited for by ``cancelAll()`` (now or already under way).
    func enterClose() {
        let owner = ObjectIdentifier(self)
        let own = Self.current.filter { $0.owner == owner }.map(\.id)
        guard !own.isEmpty else { return }
        let waiters = state.withLock { state in
            for id in own where state.tasks[id] != nil { state.closing.insert(id) }
            return state.takeWaitersIfDrained()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new tasks, cancels the running ones and waits for them to end — except those whose own code is
    /// closing the client (``enterClose()``): they are cancelled and end when that code returns.
    func cancelAll() async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.closed = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state in
                if state.isDrained { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    /// A started background task.
    struct Handle: Sendable {
        let mark: Mark
        let task: Task<Void, Never>

        /// Whether the current code runs in this task (or in a task it started).
        var isCurrent: Bool { BackgroundTasks.current.contains(mark) }

        /// Cancels the task and waits for it to end, unless the current code runs in it (it cannot wait for
        /// itself): then it only cancels it.
        func cancelAndWait() async {
            task.cancel()
            guard !isCurrent else { return }
            await task.value
        }
    }
}
