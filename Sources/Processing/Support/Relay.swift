import Synchronization

/// The state an operator's background stage keeps inside its ``Relay``.
protocol RelayCore: Sendable {
    /// Whether the relay's timer task should wake up (the core has a deadline to wait for).
    var wantsTimer: Bool { get }
}

/// A core for relays that only move elements.
struct PassThroughCore: RelayCore {
    var wantsTimer: Bool { false }
}

/// The hand-off between an operator's background task(s) and the single consuming task.
///
/// Producers (a pump that pulls upstream, a timer) put outputs into a bounded `ready` queue under one
/// lock, together with any operator state (`Core`) they update, so outputs are ordered exactly as the
/// state machine produced them. The consumer takes them out with ``next()``. Backpressure: producers
/// wait in ``waitForCapacity()`` or ``send(_:overflow:)`` while `ready` is full. Termination (the
/// consumer was cancelled or its iterator was released) cancels the background task, wakes every
/// waiter and drops what was queued.
final class Relay<Element: Sendable, Core: RelayCore>: Sendable {
    enum Overflow: Sendable {
        case wait
        case dropNewest
        case dropOldest
    }

    enum SendResult: Sendable {
        case enqueued
        case dropped
        case terminated
    }

    private struct State: Sendable {
        var core: Core
        var ready: Ring<Element>
        let capacity: Int
        var consumer: CheckedContinuation<Element?, Never>?
        var producers: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextProducerID = 0
        var timer: CheckedContinuation<Bool, Never>?
        var finished = false
        var terminated = false
        var task: Task<Void, Never>?

        /// Wakes the first waiting producer when there is room again.
        mutating func producerToWake() -> CheckedContinuation<Bool, Never>? {
            guard ready.count < capacity, !producers.isEmpty else { return nil }
            return producers.removeFirst().continuation
        }
    }

    private enum Poll {
        case element(Element, wake: CheckedContinuation<Bool, Never>?)
        case end
        case empty
    }

    private let state: Mutex<State>

    init(capacity: Int, core: Core) {
        state = Mutex(State(core: core, ready: Ring(capacity: Swift.max(1, capacity)), capacity: Swift.max(1, capacity)))
    }

    // MARK: - Lifecycle

    /// Records the background task so termination can cancel it; cancels it at once if already terminated.
    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    /// The consumer is gone: cancel the background task, wake everyone, drop what is queued.
    func terminate() {
        let (consumer, producers, timer, task) = state.withLock { state in
            if state.terminated { return (nil, [], nil, nil) as (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Bool, Never>], CheckedContinuation<Bool, Never>?, Task<Void, Never>?) }
            state.terminated = true
            state.ready.removeAll()
            defer {
                state.consumer = nil
                state.producers = []
                state.timer = nil
                state.task = nil
            }
            return (state.consumer, state.producers.map(\.continuation), state.timer, state.task)
        }
        task?.cancel()
        consumer?.resume(returning: nil)
        for producer in producers { producer.resume(returning: false) }
        timer?.resume(returning: false)
    }

    /// No more input: run `flush` on the core, then let the consumer drain `ready` and end.
    func finish(_ flush: (inout Core, inout Ring<Element>) -> Void = { _, _ in }) {
        let (consumer, element, producers, timer) = state.withLock { state in
            guard !state.terminated, !state.finished else {
                return (nil, nil, [], nil) as (CheckedContinuation<Element?, Never>?, Element?, [CheckedContinuation<Bool, Never>], CheckedContinuation<Bool, Never>?)
            }
            flush(&state.core, &state.ready)
            state.finished = true
            let consumer = state.consumer
            state.consumer = nil
            let element = consumer == nil ? nil : state.ready.popFirst()
            defer {
                state.producers = []
                state.timer = nil
            }
            return (consumer, element, state.producers.map(\.continuation), state.timer)
        }
        consumer?.resume(returning: element)
        for producer in producers { producer.resume(returning: false) }
        timer?.resume(returning: false)
    }

    // MARK: - Consumer

    /// The next output; `nil` once finished and drained, or when the consuming task is cancelled.
    func next() async -> Element? {
        if Task.isCancelled {
            terminate()
            return nil
        }
        switch poll() {
        case .element(let element, let wake):
            wake?.resume(returning: true)
            return element
        case .end:
            return nil
        case .empty:
            break
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let immediate = state.withLock { state -> Poll in
                    if let element = state.ready.popFirst() {
                        return .element(element, wake: state.producerToWake())
                    }
                    if state.finished || state.terminated || state.consumer != nil { return .end }
                    state.consumer = continuation
                    return .empty
                }
                switch immediate {
                case .element(let element, let wake):
                    continuation.resume(returning: element)
                    wake?.resume(returning: true)
                case .end:
                    continuation.resume(returning: nil)
                case .empty:
                    break
                }
            }
        } onCancel: {
            terminate()
        }
    }

    private func poll() -> Poll {
        state.withLock { state in
            if let element = state.ready.popFirst() {
                return .element(element, wake: state.producerToWake())
            }
            return state.finished || state.terminated ? .end : .empty
        }
    }

    // MARK: - Producers

    /// Waits until `ready` has room; `false` when the relay terminated or finished (stop producing).
    func waitForCapacity() async -> Bool {
        let fast = state.withLock { state -> Bool? in
            if state.terminated || state.finished { return false }
            return state.ready.count < state.capacity ? true : nil
        }
        if let fast { return fast }
        let id = state.withLock { state in
            state.nextProducerID += 1
            return state.nextProducerID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.terminated || state.finished || Task.isCancelled { return false }
                    if state.ready.count < state.capacity { return true }
                    state.producers.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
    }

    /// Updates the core and queues outputs in one critical section; wakes the consumer and the timer
    /// as needed. Returns `nil` without running `body` once terminated.
    @discardableResult
    func update<R>(_ body: (inout Core, inout Ring<Element>) -> R) -> R? {
        let (result, consumer, element, timer) = state.withLock { state in
            guard !state.terminated else {
                return (nil, nil, nil, nil) as (R?, CheckedContinuation<Element?, Never>?, Element?, CheckedContinuation<Bool, Never>?)
            }
            let result = body(&state.core, &state.ready)
            var consumer: CheckedContinuation<Element?, Never>?
            var element: Element?
            if state.consumer != nil, let first = state.ready.popFirst() {
                consumer = state.consumer
                state.consumer = nil
                element = first
            }
            var timer: CheckedContinuation<Bool, Never>?
            if state.timer != nil, state.core.wantsTimer {
                timer = state.timer
                state.timer = nil
            }
            return (result, consumer, element, timer)
        }
        consumer?.resume(returning: element)
        timer?.resume(returning: true)
        return result
    }

    /// Queues one element under `overflow` (for plain relays: buffer, fan-in).
    func send(_ element: Element, overflow: Overflow) async -> SendResult {
        while true {
            let outcome = state.withLock { state -> (SendResult?, CheckedContinuation<Element?, Never>?, Element?) in
                if state.terminated || state.finished { return (.terminated, nil, nil) }
                var result: SendResult?
                if state.ready.count < state.capacity {
                    state.ready.append(element)
                    result = .enqueued
                } else {
                    switch overflow {
                    case .wait:
                        return (nil, nil, nil)
                    case .dropNewest:
                        return (.dropped, nil, nil)
                    case .dropOldest:
                        _ = state.ready.popFirst()
                        state.ready.append(element)
                        result = .dropped
                    }
                }
                if state.consumer != nil, let first = state.ready.popFirst() {
                    let consumer = state.consumer
                    state.consumer = nil
                    return (result, consumer, first)
                }
                return (result, nil, nil)
            }
            if let result = outcome.0 {
                outcome.1?.resume(returning: outcome.2)
                return result
            }
            guard await waitForCapacity() else { return .terminated }
        }
    }

    // MARK: - Timer

    /// Parks the timer task until the core wants it; `false` when the relay finished or terminated.
    func waitForTimerWork() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.terminated || state.finished || Task.isCancelled { return false }
                    if state.core.wantsTimer { return true }
                    state.timer = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let timer = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.timer = nil }
                return state.timer
            }
            timer?.resume(returning: false)
        }
    }
}

/// Owns a relay for one iterator: releasing the iterator terminates the relay and its task.
final class RelayHandle<Element: Sendable, Core: RelayCore>: Sendable {
    let relay: Relay<Element, Core>

    init(_ relay: Relay<Element, Core>) {
        self.relay = relay
    }

    deinit {
        relay.terminate()
    }
}
