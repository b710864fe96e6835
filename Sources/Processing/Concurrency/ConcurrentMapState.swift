// `public` only so the lock can be used from `@inlinable` code (specialised in the caller's module);
// no Synchronization type appears in the public API.
public import Synchronization

/// The shared state of one concurrent-map iterator: the work queue, the results (a reorder window in
/// ordered mode), the permits that bound memory, and the waiting pump, workers and consumer.
///
/// Permits: the pump takes one before pulling an item; the consumer returns it when it takes the
/// item's result. So at most `limit` items are queued, running or waiting for delivery. In ordered
/// mode results live in `limit` slots indexed by sequence number, which never collide because every
/// outstanding sequence number is within `limit` of the next one to deliver.
@usableFromInline
final class ConcurrentMapState<Input: Sendable, Output: Sendable>: Sendable {
    @usableFromInline
    struct Work: Sendable {
        @usableFromInline var sequence: Int
        @usableFromInline var value: Input
        @usableFromInline var metadata: Metadata

        @inlinable
        init(sequence: Int, value: Input, metadata: Metadata) {
            self.sequence = sequence
            self.value = value
            self.metadata = metadata
        }
    }

    @usableFromInline
    struct State: Sendable {
        @usableFromInline let ordered: Bool
        @usableFromInline let limit: Int
        @usableFromInline var nextSequence = 0
        @usableFromInline var nextDelivery = 0
        @usableFromInline var outstanding = 0
        @usableFromInline var work = Ring<Work>()
        @usableFromInline var slots: [StreamItem<Output>?]
        @usableFromInline var completed = Ring<StreamItem<Output>>()
        @usableFromInline var pump: Continuation<Bool>?
        @usableFromInline var idleWorkers: [Continuation<Work?>] = []
        @usableFromInline var consumer: Continuation<StreamItem<Output>?>?
        @usableFromInline var inputFinished = false
        @usableFromInline var terminated = false
        @usableFromInline var task: Task<Void, Never>?

        @inlinable
        init(ordered: Bool, limit: Int) {
            self.ordered = ordered
            self.limit = limit
            slots = ordered ? Array(repeating: nil, count: limit) : []
        }

        /// Takes the next deliverable result and returns its permit.
        @inlinable
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

        @inlinable
        var isDrained: Bool { inputFinished && outstanding == 0 }

        @inlinable
        mutating func pumpToWake() -> Continuation<Bool>? {
            guard outstanding < limit, let pump else { return nil }
            self.pump = nil
            return pump
        }
    }

    @usableFromInline let state: Mutex<State>

    @inlinable
    init(ordered: Bool, limit: Int) {
        state = Mutex(State(ordered: ordered, limit: limit))
    }

    @inlinable
    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.terminated { return true }
            state.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    /// Everyone waiting when the state terminates, to be woken (and the task cancelled) outside the lock.
    @usableFromInline
    struct Waiters: Sendable {
        @usableFromInline var pump: Continuation<Bool>?
        @usableFromInline var workers: [Continuation<Work?>] = []
        @usableFromInline var consumer: Continuation<StreamItem<Output>?>?
        @usableFromInline var task: Task<Void, Never>?

        @inlinable
        init() {}

        @inlinable
        func release() {
            task?.cancel()
            pump?.resume(returning: false)
            for worker in workers { worker.resume(returning: nil) }
            consumer?.resume(returning: nil)
        }
    }

    @inlinable
    func terminate() {
        let waiters = state.withLock { state -> Waiters in
            guard !state.terminated else { return Waiters() }
            state.terminated = true
            state.work.removeAll()
            state.completed.removeAll()
            state.slots = []
            var waiters = Waiters()
            swap(&waiters.pump, &state.pump)
            swap(&waiters.workers, &state.idleWorkers)
            swap(&waiters.consumer, &state.consumer)
            swap(&waiters.task, &state.task)
            return waiters
        }
        waiters.release()
    }

    // MARK: - Pump

    /// Takes a permit for one more item; waits while `limit` items are outstanding.
    @inlinable
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
            let granted = await withContinuation { (continuation: Continuation<Bool>) in
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
            let pump = state.withLock { state -> Continuation<Bool>? in
                defer { state.pump = nil }
                return state.pump
            }
            pump?.resume(returning: false)
        }
    }

    /// Returns a permit that was not used (the input ended).
    @inlinable
    func release() {
        state.withLock { $0.outstanding -= 1 }
    }

    /// Queues a pulled item (a value for a worker, a failure straight to the results) and takes the
    /// permit for the next item in the same critical section: `true` granted, `false` terminated,
    /// `nil` none free (call ``acquire()``).
    @inlinable
    func submit(_ item: StreamItem<Input>) -> Bool? {
        let (worker, work, handover, permit) = state.withLock {
            state -> (Continuation<Work?>?, Work?, Handover, Bool?) in
            guard !state.terminated else { return (nil, nil, Handover(), false) }
            let sequence = state.nextSequence
            state.nextSequence += 1
            var worker: Continuation<Work?>?
            var work: Work?
            var handover = Handover()
            switch item.outcome {
            case .success(let value):
                let pending = Work(sequence: sequence, value: value, metadata: item.metadata)
                if !state.idleWorkers.isEmpty {
                    worker = state.idleWorkers.removeLast()
                    work = pending
                } else {
                    state.work.append(pending)
                }
            case .failure(let failure):
                handover = Self.complete(
                    &state,
                    sequence: sequence,
                    StreamItem(failure: failure, metadata: item.metadata)
                )
            }
            var permit: Bool?
            if state.outstanding < state.limit {
                state.outstanding += 1
                permit = true
            }
            return (worker, work, handover, permit)
        }
        worker?.resume(returning: work)
        handover.resume()
        return permit
    }

    /// The input ended: idle workers exit, and the consumer ends once everything is delivered.
    @inlinable
    func finishInput() {
        let (workers, consumer) = state.withLock { state in
            state.inputFinished = true
            var consumer: Continuation<StreamItem<Output>?>?
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
    @inlinable
    func work(stage: String, transform: @Sendable (Input) async throws -> Output) async {
        var next = await takeWork()
        while let work = next {
            let result: StreamItem<Output>
            do {
                result = StreamItem(try await transform(work.value), metadata: work.metadata)
            } catch {
                result = StreamItem(
                    failure: ItemFailure(error, item: work.value, stage: stage),
                    metadata: work.metadata
                )
            }
            // Store the result and take the next work item under one lock.
            let (handover, queued) = state.withLock { state -> (Handover, Work??) in
                guard !state.terminated else { return (Handover(), .some(nil)) }
                let handover = Self.complete(&state, sequence: work.sequence, result)
                if let queued = state.work.popFirst() { return (handover, .some(queued)) }
                return (handover, state.inputFinished ? .some(nil) : nil)
            }
            handover.resume()
            if let queued {
                next = queued
            } else {
                next = await takeWork()
            }
        }
    }

    @inlinable
    func takeWork() async -> Work? {
        let fast = state.withLock { state -> Work?? in
            if state.terminated { return .some(nil) }
            if let work = state.work.popFirst() { return .some(work) }
            if state.inputFinished { return .some(nil) }
            return nil
        }
        if let fast { return fast }
        // Cancellation reaches parked workers through `terminate()`, which resumes them with `nil`.
        return await withContinuation { (continuation: Continuation<Work?>) in
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
    @usableFromInline
    struct Handover: Sendable {
        @usableFromInline var consumer: Continuation<StreamItem<Output>?>?
        @usableFromInline var delivered: StreamItem<Output>?
        @usableFromInline var pump: Continuation<Bool>?

        @inlinable
        init(
            consumer: Continuation<StreamItem<Output>?>? = nil,
            delivered: StreamItem<Output>? = nil,
            pump: Continuation<Bool>? = nil
        ) {
            self.consumer = consumer
            self.delivered = delivered
            self.pump = pump
        }

        @inlinable
        func resume() {
            consumer?.resume(returning: delivered)
            pump?.resume(returning: true)
        }
    }

    /// Stores a result; hands the next deliverable one to a waiting consumer.
    @inlinable
    static func complete(_ state: inout State, sequence: Int, _ result: StreamItem<Output>) -> Handover {
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

    @inlinable
    func next() async -> StreamItem<Output>? {
        if Task.isCancelled {
            terminate()
            return nil
        }
        let fast = state.withLock { state -> (StreamItem<Output>??, Continuation<Bool>?) in
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
            await withContinuation { (continuation: Continuation<StreamItem<Output>?>) in
                let (immediate, pump) = state.withLock { state -> (StreamItem<Output>??, Continuation<Bool>?) in
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
