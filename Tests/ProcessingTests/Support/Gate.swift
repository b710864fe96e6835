import Synchronization

/// Transform calls a test releases one by one, in any order.
final class Gate: Sendable {
    private struct State {
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        var released: Set<Int> = []
        var started: [Int] = []
        var running = 0
        var maxRunning = 0
    }

    private let state = Mutex(State())

    /// Called by the transform: waits until the test releases `value`.
    func pass(_ value: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let go = state.withLock { state -> Bool in
                state.started.append(value)
                state.running += 1
                state.maxRunning = max(state.maxRunning, state.running)
                if state.released.contains(value) { return true }
                state.waiting[value] = continuation
                return false
            }
            if go { continuation.resume() }
        }
        state.withLock { $0.running -= 1 }
    }

    func release(_ value: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.released.insert(value)
            return state.waiting.removeValue(forKey: value)
        }
        waiter?.resume()
    }

    var started: [Int] { state.withLock { $0.started } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
}
