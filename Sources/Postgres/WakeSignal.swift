import Synchronization

/// A wake-up that one waiter at a time awaits with a timeout; a signal while nobody waits is kept for the next
/// wait (signals coalesce: many become one wake-up).
///
/// States: idle (no signal, no waiter) → signalled (a signal kept) or waiting (a waiter parked); a signal or the
/// waiter's timeout or cancellation resumes the waiter exactly once and returns to idle.
final class WakeSignal: Sendable {
    private struct State {
        var signalled = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
        /// A wait whose timeout or cancellation came before it parked: it returns as soon as it tries to park.
        var expiredID: UInt64?
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or the next one to wait.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.signalled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal (at once if one was kept), after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let id = state.withLock { state -> UInt64? in
            if state.signalled {
                state.signalled = false
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.signalled || state.expiredID == id {
                        state.signalled = false
                        state.expiredID = nil
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            resume(id)
        }
        timer.cancel()
    }

    private func resume(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else {
                if id == state.nextID { state.expiredID = id }  // not parked yet
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
