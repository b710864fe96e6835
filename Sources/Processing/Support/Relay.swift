// `public` only so the relay's lock can be used from `@inlinable` code (specialised in the caller's
// module); no Synchronization type appears in the public API.
public import Synchronization

/// The state an operator's background stage keeps inside its ``Relay``.
@usableFromInline
protocol RelayCore: Sendable {
    /// Whether the relay's timer task should wake up (the core has a deadline to wait for).
    var wantsTimer: Bool { get }
}

/// A core for relays that only move elements.
@usableFromInline
struct PassThroughCore: RelayCore {
    @inlinable
    init() {}

    @inlinable
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
///
/// Everything is `@inlinable` so that it is specialised for the element type in the caller's module:
/// unspecialised generic code spends most of its time looking up generic metadata.
@usableFromInline
final class Relay<Element: Sendable, Core: RelayCore>: Sendable {
    @usableFromInline
    enum Overflow: Sendable {
        case wait
        case dropNewest
        case dropOldest
    }

    @usableFromInline
    enum SendResult: Sendable {
        case enqueued
        case dropped
        case terminated
    }

    @usableFromInline
    struct State: Sendable {
        @usableFromInline var core: Core
        @usableFromInline var ready: Ring<Element>
        @usableFromInline let capacity: Int
        @usableFromInline var consumer: Continuation<Element?>?
        @usableFromInline var producers: [(id: Int, continuation: Continuation<Bool>)] = []
        @usableFromInline var nextProducerID = 0
        @usableFromInline var timer: Continuation<Bool>?
        @usableFromInline var finished = false
        @usableFromInline var terminated = false
        @usableFromInline var task: Task<Void, Never>?

        @inlinable
        init(core: Core, capacity: Int) {
            self.core = core
            self.capacity = capacity
            ready = Ring(capacity: capacity)
        }

        /// Wakes the first waiting producer when there is room again.
        @inlinable
        mutating func producerToWake() -> Continuation<Bool>? {
            guard ready.count < capacity, !producers.isEmpty else { return nil }
            return producers.removeFirst().continuation
        }

        /// Hands the first ready element to a waiting consumer, if both exist.
        @inlinable
        mutating func handOver() -> Handover {
            guard consumer != nil, let element = ready.popFirst() else { return Handover() }
            defer { consumer = nil }
            return Handover(consumer: consumer, element: element)
        }

        /// Wakes the parked timer when the core now wants it.
        @inlinable
        mutating func timerToWake() -> Continuation<Bool>? {
            guard timer != nil, core.wantsTimer else { return nil }
            defer { timer = nil }
            return timer
        }
    }

    /// A consumer to resume, outside the lock, with an element.
    @usableFromInline
    struct Handover: Sendable {
        @usableFromInline var consumer: Continuation<Element?>?
        @usableFromInline var element: Element?

        @inlinable
        init(consumer: Continuation<Element?>? = nil, element: Element? = nil) {
            self.consumer = consumer
            self.element = element
        }

        @inlinable
        func resume() {
            consumer?.resume(returning: element)
        }
    }

    @usableFromInline
    enum Poll: Sendable {
        case element(Element, wake: Continuation<Bool>?)
        case end
        case empty
    }

    @usableFromInline let state: Mutex<State>

    @inlinable
    init(capacity: Int, core: Core) {
        state = Mutex(State(core: core, capacity: Swift.max(1, capacity)))
    }

    // MARK: - Lifecycle

    /// Records the background task so termination can cancel it; cancels it at once if already terminated.
    @inlinable
    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    /// Waiters to wake (and the task to cancel) outside the lock when the relay terminates or finishes.
    @usableFromInline
    struct Waiters: Sendable {
        @usableFromInline var handover = Handover()
        @usableFromInline var producers: [(id: Int, continuation: Continuation<Bool>)] = []
        @usableFromInline var timer: Continuation<Bool>?
        @usableFromInline var task: Task<Void, Never>?

        @inlinable
        init() {}

        /// Cancels the task, hands the consumer its element (or the end), and stops producers and timer.
        @inlinable
        func release() {
            task?.cancel()
            handover.resume()
            for producer in producers { producer.continuation.resume(returning: false) }
            timer?.resume(returning: false)
        }
    }

    /// The consumer is gone: cancel the background task, wake everyone, drop what is queued.
    @inlinable
    func terminate() {
        let waiters = state.withLock { state -> Waiters in
            guard !state.terminated else { return Waiters() }
            state.terminated = true
            state.ready.removeAll()
            var waiters = Waiters()
            waiters.handover.consumer = state.consumer
            state.consumer = nil
            swap(&waiters.producers, &state.producers)
            swap(&waiters.timer, &state.timer)
            swap(&waiters.task, &state.task)
            return waiters
        }
        waiters.release()
    }

    /// No more input: run `flush` on the core, then let the consumer drain `ready` and end.
    @inlinable
    func finish(_ flush: (inout Core, inout Ring<Element>) -> Void = { _, _ in }) {
        let waiters = state.withLock { state -> Waiters in
            guard !state.terminated, !state.finished else { return Waiters() }
            flush(&state.core, &state.ready)
            state.finished = true
            var waiters = Waiters()
            // A consumer still waiting gets the first flushed element, or the end.
            waiters.handover = state.handOver()
            if waiters.handover.consumer == nil {
                waiters.handover.consumer = state.consumer
                state.consumer = nil
            }
            swap(&waiters.producers, &state.producers)
            swap(&waiters.timer, &state.timer)
            return waiters
        }
        waiters.release()
    }

    // MARK: - Consumer

    /// The next output; `nil` once finished and drained, or when the consuming task is cancelled.
    @inlinable
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
            await withContinuation { (continuation: Continuation<Element?>) in
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

    @inlinable
    func poll() -> Poll {
        state.withLock { state in
            if let element = state.ready.popFirst() {
                return .element(element, wake: state.producerToWake())
            }
            return state.finished || state.terminated ? .end : .empty
        }
    }

    // MARK: - Producers

    /// Waits until `ready` has room; `false` when the relay terminated or finished (stop producing).
    @inlinable
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
            await withContinuation { (continuation: Continuation<Bool>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.terminated || state.finished || Task.isCancelled { return false }
                    if state.ready.count < state.capacity { return true }
                    state.producers.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Continuation<Bool>? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
    }

    /// Updates the core and queues outputs in one critical section; wakes the consumer and the timer
    /// as needed. Returns `nil` without running `body` once terminated.
    @inlinable
    @discardableResult
    func update<R>(_ body: (inout Core, inout Ring<Element>) -> R) -> R? {
        let (result, handover, timer) = state.withLock { state in
            guard !state.terminated else { return (R?.none, Handover(), Continuation<Bool>?.none) }
            let result = body(&state.core, &state.ready)
            return (result, state.handOver(), state.timerToWake())
        }
        handover.resume()
        timer?.resume(returning: true)
        return result
    }

    /// Like ``update(_:)``, for a pump: returns whether it may go on producing without waiting
    /// (`false` when `ready` is full, or the relay finished or terminated).
    @inlinable
    func updateHasRoom(_ body: (inout Core, inout Ring<Element>) -> Void) -> Bool {
        let (room, handover, timer) = state.withLock { state in
            guard !state.terminated else { return (false, Handover(), Continuation<Bool>?.none) }
            body(&state.core, &state.ready)
            let handover = state.handOver()
            return (state.ready.count < state.capacity && !state.finished, handover, state.timerToWake())
        }
        handover.resume()
        timer?.resume(returning: true)
        return room
    }

    /// Queues one element under `overflow` without waiting; `nil` when it must wait for room.
    @inlinable
    func trySend(_ element: Element, overflow: Overflow) -> SendResult? {
        let (result, handover) = state.withLock { state -> (SendResult?, Handover) in
            if state.terminated || state.finished { return (.terminated, Handover()) }
            var result = SendResult.enqueued
            if state.ready.count >= state.capacity {
                switch overflow {
                case .wait:
                    return (nil, Handover())
                case .dropNewest:
                    return (.dropped, Handover())
                case .dropOldest:
                    _ = state.ready.popFirst()
                    result = .dropped
                }
            }
            state.ready.append(element)
            return (result, state.handOver())
        }
        handover.resume()
        return result
    }

    /// Queues one element under `overflow`, waiting for room when `overflow` is `.wait`.
    @inlinable
    func send(_ element: Element, overflow: Overflow) async -> SendResult {
        while true {
            if let result = trySend(element, overflow: overflow) { return result }
            guard await waitForCapacity() else { return .terminated }
        }
    }

    // MARK: - Timer

    /// Parks the timer task until the core wants it; `false` when the relay finished or terminated.
    @inlinable
    func waitForTimerWork() async -> Bool {
        await withTaskCancellationHandler {
            await withContinuation { (continuation: Continuation<Bool>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.terminated || state.finished || Task.isCancelled { return false }
                    if state.core.wantsTimer { return true }
                    state.timer = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let timer = state.withLock { state -> Continuation<Bool>? in
                defer { state.timer = nil }
                return state.timer
            }
            timer?.resume(returning: false)
        }
    }
}

/// Owns a relay for one iterator: releasing the iterator terminates the relay and its task.
@usableFromInline
final class RelayHandle<Element: Sendable, Core: RelayCore>: Sendable {
    @usableFromInline let relay: Relay<Element, Core>

    @inlinable
    init(_ relay: Relay<Element, Core>) {
        self.relay = relay
    }

    deinit {
        relay.terminate()
    }
}

// MARK: - BufferPolicy

extension Relay.Overflow {
    @inlinable
    init(_ overflow: BufferPolicy.Overflow) {
        switch overflow {
        case .block: self = .wait
        case .dropNewest: self = .dropNewest
        case .dropOldest: self = .dropOldest
        }
    }
}
