import Synchronization

/// Consumes a sequence in a background task and hands its elements to the test one at a time.
///
/// ``next()`` waits for the next element (or the end) without sleeping; ``cancel()`` cancels the
/// consuming task, which must stop every stage of the pipeline.
final class Collector<Element: Sendable>: Sendable {
    private struct State {
        var received: [Element] = []
        var cursor = 0
        var finished = false
        var waiter: CheckedContinuation<Element?, Never>?
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == Element, S.Failure == Never {
        let started = Task { [self] in
            for await element in sequence {
                deliver(element)
            }
            end()
        }
        task.withLock { $0 = started }
    }

    deinit {
        task.withLock { $0?.cancel() }
    }

    /// The next element, or `nil` once the sequence ended.
    func next() async -> Element? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
            let result = state.withLock { state -> Element?? in
                if state.cursor < state.received.count {
                    state.cursor += 1
                    return .some(state.received[state.cursor - 1])
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let result { continuation.resume(returning: result) }
        }
    }

    /// The next `count` elements (fewer if the sequence ends).
    func next(_ count: Int) async -> [Element] {
        var elements: [Element] = []
        for _ in 0..<count {
            guard let element = await next() else { break }
            elements.append(element)
        }
        return elements
    }

    /// Every remaining element until the end.
    func rest() async -> [Element] {
        var elements: [Element] = []
        while let element = await next() { elements.append(element) }
        return elements
    }

    /// Waits until the consuming loop has ended (finished or cancelled).
    func waitForEnd() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.finished { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Cancels the consuming task.
    func cancel() {
        task.withLock { $0?.cancel() }
    }

    /// Elements received so far and not yet taken with `next()`.
    var buffered: Int { state.withLock { $0.received.count - $0.cursor } }

    private func deliver(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            state.received.append(element)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.cursor += 1
            return waiter
        }
        waiter?.resume(returning: element)
    }

    private func end() {
        let (waiter, endWaiters) = state.withLock { state in
            state.finished = true
            defer {
                state.waiter = nil
                state.endWaiters = []
            }
            return (state.waiter, state.endWaiters)
        }
        waiter?.resume(returning: nil)
        for endWaiter in endWaiters { endWaiter.resume() }
    }
}

/// Every element of `sequence`.
func collect<S: AsyncSequence>(_ sequence: S) async -> [S.Element] where S.Failure == Never {
    var elements: [S.Element] = []
    for await element in sequence { elements.append(element) }
    return elements
}
