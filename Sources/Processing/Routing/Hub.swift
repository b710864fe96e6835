// `public` only so the lock can be used from `@inlinable` code (specialised in the caller's module);
// no Synchronization type appears in the public API.
public import Synchronization

/// One input, several outputs: the engine behind broadcast, partition, route and the dead-letter split.
///
/// A pump task (started by the first `next()` on any output) pulls the input and hands each item to the
/// output(s) chosen by `route`. Each output has its own bounded queue and ``BufferPolicy``: `.block`
/// makes the pump wait for that output (and so stalls the others, as asked); drop policies drop and
/// count. An output whose consumer has ended (or that was released without being iterated) is
/// detached: items routed to it are counted as dropped, never delivered silently nowhere. When every
/// output is detached the pump is cancelled.
@usableFromInline
final class Hub<Value: Sendable>: Sendable {
    /// A route value meaning "every output".
    @inlinable
    static var everyOutput: Int { -1 }

    @usableFromInline
    struct Output: Sendable {
        @usableFromInline var queue: Ring<StreamItem<Value>>
        @usableFromInline let policy: BufferPolicy
        @usableFromInline var consumer: Continuation<StreamItem<Value>?>?
        @usableFromInline var claimed = false
        @usableFromInline var detached = false

        @inlinable
        init(policy: BufferPolicy) {
            self.policy = policy
            queue = Ring(capacity: policy.capacity)
        }
    }

    @usableFromInline
    struct State: Sendable {
        @usableFromInline var outputs: [Output]
        /// The pump waiting for room in `output`; resumed with `.wait` to retry, `.terminated` to stop.
        @usableFromInline var pump: (output: Int, continuation: Continuation<Delivery>)?
        @usableFromInline var started = false
        @usableFromInline var finished = false
        @usableFromInline var terminated = false
        @usableFromInline var task: Task<Void, Never>?

        @inlinable
        init(outputs: [Output]) {
            self.outputs = outputs
        }

        /// The pump, if it waits for room in output `index` (which the caller just made).
        @inlinable
        mutating func takePump(waitingFor index: Int) -> Continuation<Delivery>? {
            guard let waiting = pump, waiting.output == index else { return nil }
            pump = nil
            return waiting.continuation
        }
    }

    @usableFromInline
    enum Delivery: Sendable {
        case done
        case wait
        case terminated
    }

    /// Items dropped per output (by its drop policy, or because the output was detached).
    @usableFromInline let dropped: [ItemCounter]
    @usableFromInline let state: Mutex<State>
    @usableFromInline let route: @Sendable (StreamItem<Value>) -> Int
    @usableFromInline let pumpBody: @Sendable (Hub<Value>) async -> Void

    /// - Parameters:
    ///   - policies: One buffer policy per output.
    ///   - route: The output index for an item, or ``everyOutput``; must be in range.
    ///   - base: The input.
    @inlinable
    init<Base: AsyncSequence & Sendable>(
        base: Base,
        policies: [BufferPolicy],
        route: @escaping @Sendable (StreamItem<Value>) -> Int
    ) where Base.Element == StreamItem<Value>, Base.Failure == Never {
        dropped = policies.map { _ in ItemCounter() }
        state = Mutex(State(outputs: policies.map { Output(policy: $0) }))
        self.route = route
        pumpBody = { hub in
            var iterator = base.makeAsyncIterator()
            while let item = await iterator.next(isolation: nil) {
                guard await hub.deliver(item) else { return }
            }
            hub.finish()
        }
    }

    /// Sequences over each output; output `i` yields the items routed to `i`.
    @inlinable
    func makeOutputs() -> [HubOutput<Value>] {
        dropped.indices.map { HubOutput(token: HubOutput.SequenceToken(hub: self, index: $0)) }
    }

    // MARK: - Pump

    /// Starts the pump task; called once, by the first `next()` of any output.
    @inlinable
    func launchPump() {
        let pumpBody = pumpBody
        let task = Task { await pumpBody(self) }
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    @inlinable
    func deliver(_ item: StreamItem<Value>) async -> Bool {
        let target = route(item)
        if target == Self.everyOutput {
            for index in dropped.indices {
                guard await deliver(item, to: index) else { return false }
            }
            return true
        }
        return await deliver(item, to: target)
    }

    @inlinable
    func deliver(_ item: StreamItem<Value>, to index: Int) async -> Bool {
        while true {
            switch offer(item, to: index, waiter: nil) {
            case .done: return true
            case .terminated: return false
            case .wait: break
            }
            let outcome = await withTaskCancellationHandler {
                await withContinuation { (continuation: Continuation<Delivery>) in
                    let delivery = offer(item, to: index, waiter: continuation)
                    if delivery != .wait { continuation.resume(returning: delivery) }
                }
            } onCancel: {
                let pump = state.withLock { state -> Continuation<Delivery>? in
                    defer { state.pump = nil }
                    return state.pump?.continuation
                }
                pump?.resume(returning: .terminated)
            }
            switch outcome {
            case .done: return true
            case .terminated: return false
            case .wait: continue
            }
        }
    }

    /// Tries to place `item` in output `index`. With a `waiter`, registers it when the pump must wait.
    @inlinable
    func offer(
        _ item: StreamItem<Value>,
        to index: Int,
        waiter: Continuation<Delivery>?
    ) -> Delivery {
        let (delivery, consumer, element) = state.withLock {
            state -> (Delivery, Continuation<StreamItem<Value>?>?, StreamItem<Value>?) in
            if state.terminated || Task.isCancelled { return (.terminated, nil, nil) }
            if state.outputs[index].detached {
                dropped[index].increment()
                return (.done, nil, nil)
            }
            if state.outputs[index].queue.count >= state.outputs[index].policy.capacity {
                switch state.outputs[index].policy.overflow {
                case .block:
                    if let waiter { state.pump = (index, waiter) }
                    return (.wait, nil, nil)
                case .dropNewest:
                    dropped[index].increment()
                    return (.done, nil, nil)
                case .dropOldest:
                    _ = state.outputs[index].queue.popFirst()
                    dropped[index].increment()
                }
            }
            state.outputs[index].queue.append(item)
            if let consumer = state.outputs[index].consumer {
                state.outputs[index].consumer = nil
                return (.done, consumer, state.outputs[index].queue.popFirst())
            }
            return (.done, nil, nil)
        }
        consumer?.resume(returning: element)
        return delivery
    }

    @inlinable
    func finish() {
        let consumers = state.withLock { state -> [Continuation<StreamItem<Value>?>] in
            state.finished = true
            var consumers: [Continuation<StreamItem<Value>?>] = []
            for index in state.outputs.indices {
                if let consumer = state.outputs[index].consumer {
                    consumers.append(consumer)
                    state.outputs[index].consumer = nil
                }
            }
            return consumers
        }
        for consumer in consumers { consumer.resume(returning: nil) }
    }

    // MARK: - Outputs

    /// Claims output `index` for one iterator; `false` if it was already claimed or detached.
    @inlinable
    func claim(_ index: Int) -> Bool {
        state.withLock { state in
            guard !state.outputs[index].claimed, !state.outputs[index].detached else { return false }
            state.outputs[index].claimed = true
            return true
        }
    }

    /// The sequence value of output `index` was released: detach it unless an iterator claimed it.
    @inlinable
    func sequenceReleased(_ index: Int) {
        let claimed = state.withLock { $0.outputs[index].claimed }
        if !claimed { detach(index) }
    }

    /// Output `index` will never be consumed again.
    @inlinable
    func detach(_ index: Int) {
        let (consumer, pump, task, stop) = state.withLock {
            state -> (Continuation<StreamItem<Value>?>?, Continuation<Delivery>?, Task<Void, Never>?, Bool) in
            guard !state.outputs[index].detached else { return (nil, nil, nil, false) }
            state.outputs[index].detached = true
            dropped[index].increment(by: state.outputs[index].queue.count)
            state.outputs[index].queue.removeAll()
            let consumer = state.outputs[index].consumer
            state.outputs[index].consumer = nil
            if state.outputs.allSatisfy(\.detached) {
                state.terminated = true
                defer {
                    state.pump = nil
                    state.task = nil
                }
                return (consumer, state.pump?.continuation, state.task, true)
            }
            return (consumer, state.takePump(waitingFor: index), nil, false)
        }
        task?.cancel()
        consumer?.resume(returning: nil)
        // A pump waiting for this output retries and finds it detached (or stops, if all are).
        pump?.resume(returning: stop ? .terminated : .wait)
    }

    @inlinable
    func next(_ index: Int) async -> StreamItem<Value>? {
        if Task.isCancelled {
            detach(index)
            return nil
        }
        let (fast, pump, start) = state.withLock { state -> (StreamItem<Value>??, Continuation<Delivery>?, Bool) in
            let start = !state.started && !state.terminated
            if start { state.started = true }
            if state.outputs[index].detached || state.terminated { return (.some(nil), nil, start) }
            if let element = state.outputs[index].queue.popFirst() {
                return (.some(element), state.takePump(waitingFor: index), start)
            }
            return (state.finished ? .some(nil) : nil, nil, start)
        }
        if start { launchPump() }
        pump?.resume(returning: .wait)
        if let fast { return fast }
        return await withTaskCancellationHandler {
            await withContinuation { (continuation: Continuation<StreamItem<Value>?>) in
                let (result, pump) = state.withLock { state -> (StreamItem<Value>??, Continuation<Delivery>?) in
                    if state.outputs[index].detached || state.terminated { return (.some(nil), nil) }
                    if let element = state.outputs[index].queue.popFirst() {
                        return (.some(element), state.takePump(waitingFor: index))
                    }
                    if state.finished || state.outputs[index].consumer != nil { return (.some(nil), nil) }
                    state.outputs[index].consumer = continuation
                    return (nil, nil)
                }
                if let result { continuation.resume(returning: result) }
                pump?.resume(returning: .wait)
            }
        } onCancel: {
            detach(index)
        }
    }
}

/// One output of a broadcast, partition, route or dead-letter split: the items routed to it.
///
/// Iterate each output once, from its own task. The input is pulled from the moment the first output
/// of the group is iterated; until an output is iterated its items wait in its buffer under its
/// ``BufferPolicy``. When an output's iteration ends (the loop exits, the task is cancelled) or the
/// output is released without ever being iterated, it is detached: items routed to it from then on are
/// counted as dropped. When every output is detached the input is no longer pulled.
public struct HubOutput<Value: Sendable>: AsyncSequence, Sendable {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline
    final class SequenceToken: Sendable {
        @usableFromInline let hub: Hub<Value>
        @usableFromInline let index: Int

        @inlinable
        init(hub: Hub<Value>, index: Int) {
            self.hub = hub
            self.index = index
        }

        deinit {
            hub.sequenceReleased(index)
        }
    }

    @usableFromInline
    final class IterationToken: Sendable {
        @usableFromInline let hub: Hub<Value>
        @usableFromInline let index: Int
        @usableFromInline let claimed: Bool

        @inlinable
        init(hub: Hub<Value>, index: Int) {
            self.hub = hub
            self.index = index
            claimed = hub.claim(index)
        }

        deinit {
            if claimed { hub.detach(index) }
        }
    }

    @usableFromInline let token: SequenceToken

    @inlinable
    init(token: SequenceToken) {
        self.token = token
    }

    /// Creates the output's iterator; a second iterator of the same output yields nothing.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(token: IterationToken(hub: token.hub, index: token.index))
    }

    /// Iterator of ``HubOutput``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline let token: IterationToken

        @inlinable
        init(token: IterationToken) {
            self.token = token
        }

        /// The next item routed to this output.
        /// - Returns: The next item, or `nil` when the input ended, or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            guard token.claimed else { return nil }
            return await token.hub.next(token.index)
        }
    }
}
