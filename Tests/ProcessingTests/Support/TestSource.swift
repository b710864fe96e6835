import StreamKitProcessing
import Synchronization

/// A source a test feeds by hand, with synchronisation points instead of sleeps.
///
/// ``send(_:)`` queues an element and returns once the consumer has taken everything queued and is
/// waiting for more: at that point the stage reading this source has fully processed the element.
/// The source observes its consumer's end (iterator released or task cancelled), which is how tests
/// check that no stage keeps running after cancellation. It is meant to be iterated once.
final class TestSource<Element: Sendable>: AsyncSequence, Sendable {
    typealias Failure = Never

    private struct State {
        var queue: [Element] = []
        var consumer: CheckedContinuation<Element?, Never>?
        var finished = false
        var terminated = false
        var pulled = 0
        var demandWaiters: [CheckedContinuation<Void, Never>] = []
        var terminationWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    /// How many elements the consumer has taken.
    var pulled: Int { state.withLock { $0.pulled } }

    /// Whether the consumer ended (released its iterator or was cancelled).
    var isTerminated: Bool { state.withLock { $0.terminated } }

    /// Queues `element` without waiting.
    func yield(_ element: Element) {
        let consumer = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            guard !state.finished, !state.terminated else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                state.pulled += 1
                return consumer
            }
            state.queue.append(element)
            return nil
        }
        consumer?.resume(returning: element)
    }

    /// Queues `element`, then waits until the consumer is waiting for the next one.
    func send(_ element: Element) async {
        yield(element)
        await waitForDemand()
    }

    /// Sends each element in turn.
    func send(contentsOf elements: [Element]) async {
        for element in elements { await send(element) }
    }

    /// Waits until the consumer has taken everything queued and waits for more (or has ended).
    func waitForDemand() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.terminated || (state.consumer != nil && state.queue.isEmpty) { return true }
                state.demandWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Ends the source: the consumer gets `nil` after the queued elements.
    func finish() {
        let consumer = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.queue.isEmpty ? state.consumer : nil
        }
        consumer?.resume(returning: nil)
    }

    /// Waits until the consumer has ended.
    func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.terminated { return true }
                state.terminationWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(token: Token(source: self))
    }

    struct Iterator: AsyncIteratorProtocol {
        typealias Failure = Never
        let token: Token

        mutating func next() async -> Element? {
            await token.source.take()
        }

        mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            await token.source.take()
        }
    }

    /// Marks the source terminated when the iterator that holds it is released.
    final class Token: Sendable {
        let source: TestSource

        init(source: TestSource) {
            self.source = source
        }

        deinit {
            source.terminate()
        }
    }

    private func take() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let (result, waiters) = state.withLock { state -> (Element??, [CheckedContinuation<Void, Never>]) in
                    if state.terminated || Task.isCancelled { return (.some(nil), []) }
                    if !state.queue.isEmpty {
                        state.pulled += 1
                        return (.some(state.queue.removeFirst()), [])
                    }
                    if state.finished { return (.some(nil), []) }
                    state.consumer = continuation
                    defer { state.demandWaiters = [] }
                    return (nil, state.demandWaiters)
                }
                if let result { continuation.resume(returning: result) }
                for waiter in waiters { waiter.resume() }
            }
        } onCancel: {
            terminate()
        }
    }

    private func terminate() {
        let (consumer, waiters) = state.withLock {
            state -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) in
            guard !state.terminated else { return (nil, []) }
            state.terminated = true
            defer {
                state.consumer = nil
                state.demandWaiters = []
                state.terminationWaiters = []
            }
            return (state.consumer, state.demandWaiters + state.terminationWaiters)
        }
        consumer?.resume(returning: nil)
        for waiter in waiters { waiter.resume() }
    }
}
