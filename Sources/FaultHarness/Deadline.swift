import Synchronization

/// Runs `body` in a task of its own and returns its result, or nil when `timeout` passes first; the task is then
/// cancelled and left to end by itself. Unlike a task group, this returns on time even when `body` ignores
/// cancellation, which is what a harness looking for hangs needs.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    let slot = Mutex<CheckedContinuation<T?, Never>?>(nil)
    let resume: @Sendable (T?) -> Void = { value in slot.withLock { continuation -> CheckedContinuation<T?, Never>? in
            defer { continuation = nil }
            return continuation
        }?.resume(returning: value) }
    let work = Mutex<Task<Void, Never>?>(nil)
    let timer = Mutex<Task<Void, Never>?>(nil)
    let value = await withCheckedContinuation { continuation in
        slot.withLock { $0 = continuation }
        work.withLock { $0 = Task { resume(await body()) } }
        timer.withLock {
            $0 = Task {
                try? await Task.sleep(for: timeout)
                resume(nil)
            }
        }
    }
    timer.withLock { $0 }?.cancel()
    if value == nil { work.withLock { $0 }?.cancel() }
    return value
}
