extension AsyncSequence {
    /// Transforms values with up to `workers` concurrent calls of an asynchronous `transform`, in input
    /// order or in completion order; failures pass through; memory is bounded by `bufferLimit`.
    ///
    /// A background task pulls the input and `workers` worker tasks run `transform`. At most
    /// `bufferLimit` items are pulled and not yet delivered (queued, running, or done and waiting).
    /// In ordered mode a slow item holds back later results, which wait in a reorder buffer of at most
    /// `bufferLimit` slots; when it is full the input is no longer pulled (backpressure) instead of
    /// growing without bound. A slow consumer likewise stops the pulling once `bufferLimit` results
    /// wait. A thrown error becomes a failure carrying the original value; metadata is kept.
    /// Cancelling the consuming task, or releasing its iterator, cancels the pump and every worker
    /// (a running `transform` sees the cancellation).
    /// - Parameters:
    ///   - workers: Concurrent `transform` calls (at least 1).
    ///   - ordered: Deliver in input order (`true`, the default) or as soon as each result is ready.
    ///   - bufferLimit: Items in flight at most; `nil` means `workers * 4`; raised to `workers` if lower.
    ///   - stage: The name recorded in failures raised here; `"concurrentMap"` by default.
    ///   - transform: The asynchronous transformation; it may throw.
    /// - Returns: A sequence of transformed items.
    @inlinable
    public func concurrentMap<Input: Sendable, Output: Sendable>(
        workers: Int,
        ordered: Bool = true,
        bufferLimit: Int? = nil,
        stage: String = "concurrentMap",
        _ transform: @escaping @Sendable (Input) async throws -> Output
    ) -> ConcurrentMapSequence<Self, Input, Output>
    where Self: Sendable, Element == StreamItem<Input>, Failure == Never {
        let workers = Swift.max(1, workers)
        return ConcurrentMapSequence(
            base: self,
            workers: workers,
            ordered: ordered,
            limit: Swift.max(workers, bufferLimit ?? workers * 4),
            stage: stage,
            transform: transform
        )
    }
}

/// The sequence returned by `concurrentMap(workers:ordered:bufferLimit:stage:_:)`.
public struct ConcurrentMapSequence<Base: AsyncSequence & Sendable, Input: Sendable, Output: Sendable>: AsyncSequence,
    Sendable
where Base.Element == StreamItem<Input>, Base.Failure == Never {
    public typealias Element = StreamItem<Output>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let workers: Int
    @usableFromInline let ordered: Bool
    @usableFromInline let limit: Int
    @usableFromInline let stage: String
    @usableFromInline let transform: @Sendable (Input) async throws -> Output

    @inlinable
    init(
        base: Base,
        workers: Int,
        ordered: Bool,
        limit: Int,
        stage: String,
        transform: @escaping @Sendable (Input) async throws -> Output
    ) {
        self.base = base
        self.workers = workers
        self.ordered = ordered
        self.limit = limit
        self.stage = stage
        self.transform = transform
    }

    /// Creates an iterator; its tasks start with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    /// Iterator of ``ConcurrentMapSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Output>
        public typealias Failure = Never

        @usableFromInline let sequence: ConcurrentMapSequence
        @usableFromInline var handle: ConcurrentMapHandle<Input, Output>?

        @inlinable
        init(sequence: ConcurrentMapSequence) {
            self.sequence = sequence
        }

        /// The next result, in input order when ordered.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Output>? {
            if let handle { return await handle.state.next() }
            if Task.isCancelled { return nil }
            let state = ConcurrentMapState<Input, Output>(ordered: sequence.ordered, limit: sequence.limit)
            handle = ConcurrentMapHandle(state)
            let (base, workers, stage, transform) = (
                sequence.base, sequence.workers, sequence.stage, sequence.transform
            )
            state.attach(
                Task {
                    await withDiscardingTaskGroup { group in
                        for _ in 0..<workers {
                            group.addTask {
                                await state.work(stage: stage, transform: transform)
                            }
                        }
                        var iterator = base.makeAsyncIterator()
                        var permitted = await state.acquire()
                        while permitted {
                            guard let item = await iterator.next(isolation: nil) else {
                                state.release()
                                break
                            }
                            if let granted = state.submit(item) {
                                permitted = granted
                            } else {
                                permitted = await state.acquire()
                            }
                        }
                        state.finishInput()
                    }
                }
            )
            return await state.next()
        }
    }
}

/// Owns the state of one concurrent-map iterator: releasing the iterator terminates it.
@usableFromInline
final class ConcurrentMapHandle<Input: Sendable, Output: Sendable>: Sendable {
    @usableFromInline let state: ConcurrentMapState<Input, Output>

    @inlinable
    init(_ state: ConcurrentMapState<Input, Output>) {
        self.state = state
    }

    deinit {
        state.terminate()
    }
}
