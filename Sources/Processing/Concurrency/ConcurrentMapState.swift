import Synchronization

/// The shared state of one concurrent-map iterator: the work queue, the results (a reorder window in
/// ordered mode), the permits that bound memory, and the waiting pump, workers and consumer.
///
/// Permits: the pump takes one before pulling an item; the consumer returns it when it takes the
/// item's result. So at most `limit` items are queued, running or waiting for delivery. In ordered
/// mode results live in `limit` slots indexed by sequence number, which never collide because every
/// outstanding sequence number is within `limit` of the next one to deliver.
final class ConcurrentMapState<Input: Sendable, Output: Sendable>: Sendable {
    struct Work: Sendable {
        var sequence: Int
        var value: Input
        var metadata: Metadata
    }

    private struct State: Sendable {
        let ordered: Bool
        let limit: Int
        var nextSequence = 0
        var nextDelivery = 0
        var outstanding = 0
        var work = Ring<Work>()
        var slots: [StreamItem<Output>?]
        var completed = Ring<StreamItem<Output>>()
        var pump: CheckedContinuation<Bool, Never>?
        var idleWorkers: [CheckedContinuation<Work?, Never>] = []
        var consumer: CheckedContinuation<StreamItem<Output>?, Never>?
        var inputFinished = false
        var terminated = false
        var task: Task<Void, Never>?

        init(ordered: Bool, limit: Int) {
            self.ordered = ordered
            self.limit = limit
            slots = ordered ? Array(repeating: nil, count: limit) : []
        }

        /// Takes the next deliverable result and returns its permit.
        mutating func takeDeliverable() -> StreamItem<Output>? {
            let result: StreamItem<Output>?
            if ordered {
                let slot = nextDelivery % limit
                result = slots[slot]
                if result != nil {
                    slots[slot] = nil
                    nextDelivery += 1
                }
            } else {
                result = completed.popFirst()
            }
            if result != nil { outstanding -= 1 }
            return result
        }

        var isDrained: Bool { inputFinished && outstanding == 0 }

        mutating func pumpToWake() -> CheckedContinuation<Bool, Never>? {
            guard outstanding < limit, let pump else { return nil }
            self.pump = nil
            return pump
        }
    }

    private let state: Mutex<State>

    init(ordered: Bool, limit: Int) {
        state = Mutex(State(ordered: ordered, limit: limit))
    }

    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    func terminate() {
        let (pump, workers, consumer, task) = state.withLock { state in
            guard !state.terminated else {
                return (nil, [], nil, nil) as (CheckedContinuation<Bool, Never>?, [CheckedContinuation<Work?, Never>], CheckedContinuation<StreamItem<Output>?, Never>?, Task<Void, Never>?)
            }
            state.terminated = true
            state.work.removeAll()
            state.completed.removeAll()
            state.slots = []
            defer {
                state.pump = nil
                state.idleWorkers = []
                state.consumer = nil
                state.task = nil
            }
            return (state.pump, state.idleWorkers, state.consumer, state.task)
        }
        task?.cancel()
        pump?.resume(returning: false)
        for worker in workers { worker.resume(returning: nil) }
        consumer?.resume(returning: nil)
    }

    // MARK: - Pump

    /// Takes a permit for one more item; waits while `limit` items are outstanding.
    func acquire() async -> Bool {
        let fast = state.withLock { state -> Bool? in
            if state.terminated { return false }
            if state.outstanding < state.limit {
                state.outstanding += 1
                return true
            }
            return nil
        }
        if let fast { return fast }
        return await withTaskCancellationHandler {
            let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.terminated || Task.isCancelled { return false }
                    if state.outstanding < state.limit { return true }
                    state.pump = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            guard granted else { return false }
            return state.withLock { state -> Bool in
                guard !state.terminated else { return false }
                state.outstanding += 1
                return true
            }
        } onCancel: {
            let pump = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.pump = nil }
                return state.pump
            }
            pump?.resume(returning: false)
        }
    }

    /// Returns a permit that was not used (the input ended).
    func release() {
        state.withLock { $0.outstanding -= 1 }
    }

    /// Queues a pulled item: a value for a worker, a failure straight to the results.
    func submit(_ item: StreamItem<Input>) {
        let (worker, work, handover) = state.withLock { state -> (CheckedContinuation<Work?, Never>?, Work?, Handover) in
            guard !state.terminated else { return (nil, nil, Handover()) }
            let sequence = state.nextSequence
            state.nextSequence += 1
            switch item.outcome {
            case .success(let value):
                let work = Work(sequence: sequence, value: value, metadata: item.metadata)
                if !state.idleWorkers.isEmpty {
                    return (state.idleWorkers.removeLast(), work, Handover())
                }
                state.work.append(work)
                return (nil, nil, Handover())
            case .failure(let failure):
                let result = StreamItem<Output>(failure: failure, metadata: item.metadata)
                return (nil, nil, Self.complete(&state, sequence: sequence, result))
            }
        }
        worker?.resume(returning: work)
        handover.resume()
    }

    /// The input ended: idle workers exit, and the consumer ends once everything is delivered.
    func finishInput() {
        let (workers, consumer) = state.withLock { state in
            state.inputFinished = true
            var consumer: CheckedContinuation<StreamItem<Output>?, Never>?
            if state.isDrained {
                consumer = state.consumer
                state.consumer = nil
            }
            defer { state.idleWorkers = [] }
            return (state.idleWorkers, consumer)
        }
        for worker in workers { worker.resume(returning: nil) }
        consumer?.resume(returning: nil)
    }

    // MARK: - Workers

    /// A worker's loop: take work, transform, complete, until the input is finished and drained.
    func work(stage: String, transform: @Sendable (Input) async throws -> Output) async {
        while let work = await takeWork() {
            let result: StreamItem<Output>
            do {
                result = StreamItem(try await transform(work.value), metadata: work.metadata)
            } catch {
                result = StreamItem(failure: ItemFailure(error, item: work.value, stage: stage), metadata: work.metadata)
            }
            let handover = state.withLock { state -> Handover in
                guard !state.terminated else { return Handover() }
                return Self.complete(&state, sequence: work.sequence, result)
            }
            handover.resume()
        }
    }

    private func takeWork() async -> Work? {
        let fast = state.withLock { state -> Work?? in
            if state.terminated { return .some(nil) }
            if let work = state.work.popFirst() { return .some(work) }
            if state.inputFinished { return .some(nil) }
            return nil
        }
        if let fast { return fast }
        // Cancellation reaches parked workers through `terminate()`, which resumes them with `nil`.
        return await withCheckedContinuation { (continuation: CheckedContinuation<Work?, Never>) in
            let immediate = state.withLock { state -> Work?? in
                if state.terminated { return .some(nil) }
                if let work = state.work.popFirst() { return .some(work) }
                if state.inputFinished { return .some(nil) }
                state.idleWorkers.append(continuation)
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// What `complete` hands over: the result for a waiting consumer, and the pump to wake when
    /// that delivery returned a permit.
    private struct Handover: Sendable {
        var consumer: CheckedContinuation<StreamItem<Output>?, Never>?
        var delivered: StreamItem<Output>?
        var pump: CheckedContinuation<Bool, Never>?

        func resume() {
            consumer?.resume(returning: delivered)
            pump?.resume(returning: true)
        }
    }

    /// Stores a result; hands the next deliverable one to a waiting consumer.
    private static func complete(_ state: inout State, sequence: Int, _ result: StreamItem<Output>) -> Handover {
        if state.ordered {
            state.slots[sequence % state.limit] = result
        } else {
            state.completed.append(result)
        }
        guard let consumer = state.consumer, let delivered = state.takeDeliverable() else { return Handover() }
        state.consumer = nil
        return Handover(consumer: consumer, delivered: delivered, pump: state.pumpToWake())
    }

    // MARK: - Consumer

    func next() async -> StreamItem<Output>? {
        if Task.isCancelled {
            terminate()
            return nil
        }
        let fast = state.withLock { state -> (StreamItem<Output>??, CheckedContinuation<Bool, Never>?) in
            if state.terminated { return (.some(nil), nil) }
            if let result = state.takeDeliverable() { return (.some(result), state.pumpToWake()) }
            if state.isDrained { return (.some(nil), nil) }
            return (nil, nil)
        }
        if let result = fast.0 {
            fast.1?.resume(returning: true)
            return result
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StreamItem<Output>?, Never>) in
                let (immediate, pump) = state.withLock { state -> (StreamItem<Output>??, CheckedContinuation<Bool, Never>?) in
                    if state.terminated || state.consumer != nil { return (.some(nil), nil) }
                    if let result = state.takeDeliverable() { return (.some(result), state.pumpToWake()) }
                    if state.isDrained { return (.some(nil), nil) }
                    state.consumer = continuation
                    return (nil, nil)
                }
                if let immediate { continuation.resume(returning: immediate) }
                pump?.resume(returning: true)
            }
        } onCancel: {
            terminate()
        }
    }
}
