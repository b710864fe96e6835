extension AsyncSequence {
    /// Groups values into batches delivered when `size` values are collected or `latency` has passed
    /// since the first value of the batch, whichever comes first; failures bypass the batch; the partial
    /// batch is delivered when the input ends.
    ///
    /// The latency clock starts at the first value of each batch and is not restarted by later values,
    /// so no value waits longer than `latency` (plus the consumer's own delay). A failure is delivered
    /// as soon as it arrives, ahead of the batch being filled. A background task pulls the input and a
    /// timer task sleeps on `clock`; at most two finished batches wait for a slow consumer, after which
    /// the input is no longer pulled (backpressure). Cancelling the consuming task, or releasing its
    /// iterator, stops both tasks and drops the partial batch. Each batch is a new item with empty
    /// metadata.
    /// - Parameters:
    ///   - size: The most values per batch; less than 1 counts as 1.
    ///   - latency: The longest a value waits in a batch; zero or less means size only.
    ///   - clock: The clock measuring `latency`; `ContinuousClock` by default.
    /// - Returns: A sequence of batches and failures.
    @inlinable
    public func batch<Value: Sendable, C: Clock>(
        size: Int,
        latency: Duration,
        clock: C = ContinuousClock()
    ) -> BatchSequence<Self, Value, C>
    where Self: Sendable, Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        BatchSequence(base: self, size: Swift.max(1, size), latency: latency, clock: clock)
    }
}

/// The sequence returned by `batch(size:latency:clock:)`.
public struct BatchSequence<Base: AsyncSequence & Sendable, Value: Sendable, C: Clock>: AsyncSequence, Sendable
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<[Value]>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let size: Int
    @usableFromInline let latency: Duration
    @usableFromInline let clock: C

    @inlinable
    init(base: Base, size: Int, latency: Duration, clock: C) {
        self.base = base
        self.size = size
        self.latency = latency
        self.clock = clock
    }

    /// Creates an iterator; its background tasks start with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        let (size, latency, clock) = (size, latency, clock)
        return Iterator(
            driver: TimedDriver(base: base, clock: clock, capacity: 2) {
                BatchCore(size: size, latency: latency, clock: clock)
            }
        )
    }

    /// Iterator of ``BatchSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<[Value]>
        public typealias Failure = Never

        @usableFromInline var driver: TimedDriver<Base, BatchCore<Value, C>, C>

        @inlinable
        init(driver: TimedDriver<Base, BatchCore<Value, C>, C>) {
            self.driver = driver
        }

        /// The next batch or failure.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<[Value]>? {
            await driver.next()
        }
    }
}

/// The state of one batching iterator.
@usableFromInline
struct BatchCore<Value: Sendable, C: Clock>: TimedCore where C.Duration == Duration {
    @usableFromInline let size: Int
    @usableFromInline let latency: Duration
    @usableFromInline let clock: C
    @usableFromInline var batch: [Value] = []
    @usableFromInline var deadline: C.Instant?

    @inlinable
    init(size: Int, latency: Duration, clock: C) {
        self.size = size
        self.latency = latency
        self.clock = clock
    }

    @inlinable
    mutating func receive(_ input: StreamItem<Value>, into output: inout Ring<StreamItem<[Value]>>) {
        switch input.outcome {
        case .success(let value):
            if batch.isEmpty {
                batch.reserveCapacity(Swift.min(size, 1024))
                deadline = latency > .zero ? clock.now.advanced(by: latency) : nil
            }
            batch.append(value)
            if batch.count >= size { emit(into: &output) }
        case .failure(let failure):
            output.append(StreamItem(failure: failure, metadata: input.metadata))
        }
    }

    @inlinable
    mutating func fire(into output: inout Ring<StreamItem<[Value]>>) {
        guard let deadline, deadline <= clock.now else { return }
        emit(into: &output)
    }

    @inlinable
    mutating func flush(into output: inout Ring<StreamItem<[Value]>>) {
        if !batch.isEmpty { emit(into: &output) }
    }

    @inlinable
    mutating func emit(into output: inout Ring<StreamItem<[Value]>>) {
        output.append(StreamItem(batch))
        batch = []
        deadline = nil
    }
}
