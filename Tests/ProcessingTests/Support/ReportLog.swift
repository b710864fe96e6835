import StreamKitProcessing
import Synchronization

/// Reports a test can await one by one.
final class ReportLog: Sendable {
    private let log = Inbox<MonitorReport>()

    var report: @Sendable (MonitorReport) -> Void { { [log] in log.put($0) } }

    func next() async -> MonitorReport { await log.take() }

    var count: Int { log.count }
}

/// A queue a test awaits values from, filled from any task.
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var values: [Element] = []
        var waiter: CheckedContinuation<Element, Never>?
    }

    private let state = Mutex(State())

    func put(_ value: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.values.append(value)
            return nil
        }
        waiter?.resume(returning: value)
    }

    func take() async -> Element {
        await withCheckedContinuation { (continuation: CheckedContinuation<Element, Never>) in
            let value = state.withLock { state -> Element? in
                if !state.values.isEmpty { return state.values.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }

    var count: Int { state.withLock { $0.values.count } }
}
