import Synchronization

/// One input, several outputs: the engine behind broadcast, partition, route and the dead-letter split.
///
/// A pump task (started by the first output iterated) pulls the input and hands each item to the
/// output(s) chosen by `route`. Each output has its own bounded queue and ``BufferPolicy``: `.block`
/// makes the pump wait for that output (and so stalls the others, as asked); drop policies drop and
/// count. An output whose consumer has ended (or that was released without being iterated) is
/// detached: items routed to it are counted as dropped, never delivered silently nowhere. When every
/// output is detached the pump is cancelled.
final class Hub<Value: Sendable>: Sendable {
    /// A route value meaning "every output".
    static var everyOutput: Int { -1 }

    private struct Output: Sendable {
        var queue: Ring<StreamItem<Value>>
        let policy: BufferPolicy
        var consumer: CheckedContinuation<StreamItem<Value>?, Never>?
        var claimed = false
        var detached = false
    }

    private struct State: Sendable {
        var outputs: [Output]
        /// The pump waiting for room in `output`; resumed with `.wait` to retry, `.terminated` to stop.
        var pump: (output: Int, continuation: CheckedContinuation<Delivery, Never>)?
        var started = false
        var finished = false
        var terminated = false
        var task: Task<Void, Never>?
    }

    private enum Delivery: Sendable {
        case done
        case wait
        case terminated
    }

    /// Items dropped per output (by its drop policy, or because the output was detached).
    let dropped: [ItemCounter]
    private let state: Mutex<State>
    private let route: @Sendable (StreamItem<Value>) -> Int
    private let pumpBody: @Sendable (Hub<Value>) async -> Void

    /// - Parameters:
    ///   - policies: One buffer policy per output.
    ///   - route: The output index for an item, or ``everyOutput``; must be in range.
    ///   - base: The input.
    init<Base: AsyncSequence & Sendable>(
        base: Base,
        policies: [BufferPolicy],
        route: @escaping @Sendable (StreamItem<Value>) -> Int
    ) where Base.Element == StreamItem<Value>, Base.Failure == Never {
        dropped = policies.map { _ in ItemCounter() }
        state = Mutex(State(outputs: policies.map { Output(queue: Ring(capacity: $0.capacity), policy: $0) }))
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
    func makeOutputs() -> [HubOutput<Value>] {
        dropped.indices.map { HubOutput(token: HubOutput.SequenceToken(hub: self, index: $0)) }
    }

    // MARK: - Pump

    private func startIfNeeded() {
        let start = state.withLock { state -> Bool in
            guard !state.started, !state.terminated else { return false }
            state.started = true
            return true
        }
        guard start else { return }
        let pumpBody = pumpBody
        let task = Task { await pumpBody(self) }
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    private func deliver(_ item: StreamItem<Value>) async -> Bool {
        let target = route(item)
        if target == Self.everyOutput {
            for index in dropped.indices {
                guard await deliver(item, to: index) else { return false }
            }
            return true
        }
        return await deliver(item, to: target)
    }

    private func deliver(_ item: StreamItem<Value>, to index: Int) async -> Bool {
        while true {
            switch offer(item, to: index, waiter: nil) {
            case .done: return true
            case .terminated: return false
            case .wait: break
            }
            let outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Delivery, Never>) in
                    let delivery = offer(item, to: index, waiter: continuation)
                    if delivery != .wait { continuation.resume(returning: delivery) }
                }
            } onCancel: {
                let pump = state.withLock { state -> CheckedContinuation<Delivery, Never>? in
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
    private func offer(
        _ item: StreamItem<Value>,
        to index: Int,
        waiter: CheckedContinuation<Delivery, Never>?
    ) -> Delivery {
        let (delivery, consumer, element) = state.withLock { state -> (Delivery, CheckedContinuation<StreamItem<Value>?, Never>?, StreamItem<Value>?) in
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

    private func finish() {
        let consumers = state.withLock { state -> [CheckedContinuation<StreamItem<Value>?, Never>] in
            state.finished = true
            var consumers: [CheckedContinuation<StreamItem<Value>?, Never>] = []
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
    fileprivate func claim(_ index: Int) -> Bool {
        state.withLock { state in
            guard !state.outputs[index].claimed, !state.outputs[index].detached else { return false }
            state.outputs[index].claimed = true
            return true
        }
    }

    /// The sequence value of output `index` was released: detach it unless an iterator claimed it.
    fileprivate func sequenceReleased(_ index: Int) {
        let claimed = state.withLock { $0.outputs[index].claimed }
        if !claimed { detach(index) }
    }

    /// Output `index` will never be consumed again.
    fileprivate func detach(_ index: Int) {
        let (consumer, pump, task, stop) = state.withLock { state -> (CheckedContinuation<StreamItem<Value>?, Never>?, CheckedContinuation<Delivery, Never>?, Task<Void, Never>?, Bool) in
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
            if let waiting = state.pump, waiting.output == index {
                state.pump = nil
                return (consumer, waiting.continuation, nil, false)
            }
            return (consumer, nil, nil, false)
        }
        task?.cancel()
        consumer?.resume(returning: nil)
        // A pump waiting for this output retries and finds it detached (or stops, if all are).
        pump?.resume(returning: stop ? .terminated : .wait)
    }

    fileprivate func next(_ index: Int) async -> StreamItem<Value>? {
        startIfNeeded()
        if Task.isCancelled {
            detach(index)
            return nil
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StreamItem<Value>?, Never>) in
                let (result, pump) = state.withLock { state -> (StreamItem<Value>??, CheckedContinuation<Delivery, Never>?) in
                    if state.outputs[index].detached || state.terminated { return (.some(nil), nil) }
                    if let element = state.outputs[index].queue.popFirst() {
                        var pump: CheckedContinuation<Delivery, Never>?
                        if let waiting = state.pump, waiting.output == index {
                            pump = waiting.continuation
                            state.pump = nil
                        }
                        return (.some(element), pump)
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

    final class SequenceToken: Sendable {
        let hub: Hub<Value>
        let index: Int

        init(hub: Hub<Value>, index: Int) {
            self.hub = hub
            self.index = index
        }

        deinit {
            hub.sequenceReleased(index)
        }
    }

    final class IterationToken: Sendable {
        let hub: Hub<Value>
        let index: Int
        let claimed: Bool

        init(hub: Hub<Value>, index: Int) {
            self.hub = hub
            self.index = index
            claimed = hub.claim(index)
        }

        deinit {
            if claimed { hub.detach(index) }
        }
    }

    let token: SequenceToken

    init(token: SequenceToken) {
        self.token = token
    }

    /// Creates the output's iterator; a second iterator of the same output yields nothing.
    /// - Returns: The iterator.
    public func makeAsyncIterator() -> Iterator {
        Iterator(token: IterationToken(hub: token.hub, index: token.index))
    }

    /// Iterator of ``HubOutput``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        private let token: IterationToken

        init(token: IterationToken) {
            self.token = token
        }

        /// The next item routed to this output.
        /// - Returns: The next item, or `nil` when the input ended, or on cancellation.
        public mutating func next() async -> StreamItem<Value>? {
            guard token.claimed else { return nil }
            return await token.hub.next(token.index)
        }
    }
}
