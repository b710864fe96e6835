import Synchronization

/// Runs `body` in a task of its own and returns its result, or nil when `timeout` passes first; the task is then
/// cancelled and left to end by itself. Unlike a task group, this returns on time even when `body` ignores
/// cancellation (a database client waiting on a dead server, a harness looking for hangs). Cancelling the caller
/// cancels `body`'s task and still waits for its result or the timeout.
package func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    let slot = Mutex<CheckedContinuation<T?, Never>?>(nil)
    let resume: @Sendable (T?) -> Void = { value in
        slot.withLock { continuation -> CheckedContinuation<T?, Never>? in
            defer { continuation = nil }
            return continuation
        }?.resume(returning: value)
    }
    let work = Mutex<Task<Void, Never>?>(nil)
    let timer = Mutex<Task<Void, Never>?>(nil)
    let value = await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            slot.withLock { $0 = continuation }
            work.withLock { $0 = Task { resume(await body()) } }
            timer.withLock {
                $0 = Task {
                    try? await Task.sleep(for: timeout)
                    resume(nil)
                }
            }
        }
    } onCancel: {
        work.withLock { $0 }?.cancel()
    }
    timer.withLock { $0 }?.cancel()
    if value == nil { work.withLock { $0 }?.cancel() }
    return value
}
