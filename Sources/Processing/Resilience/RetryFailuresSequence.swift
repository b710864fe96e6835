extension AsyncSequence {
    /// Retries failed items with `operation` under `policy`; a recovered item continues as a success,
    /// one that keeps failing continues as a failure with its attempt count.
    ///
    /// For each failure whose attempts are below `policy.maxAttempts` and whose error the policy
    /// accepts, waits the policy's backoff on `clock`, then calls `operation` with the failure (read
    /// the original input with `failure.item(as:)`). Values pass untouched. The item's metadata is kept
    /// either way. Retries run one item at a time in the consuming task, so while one is waiting nothing
    /// more is pulled (backpressure); for concurrent retries use `ItemRetryPolicy.run` inside
    /// `concurrentMap`. Cancelling the consuming task ends the sequence, waits included.
    /// - Parameters:
    ///   - policy: Attempts, backoff, jitter and the error classifier.
    ///   - clock: The clock to wait on; `ContinuousClock` by default.
    ///   - operation: Produces the value from a failure, or throws.
    /// - Returns: The values, the recovered values and the failures that remain.
    @inlinable
    public func retryFailures<Value: Sendable, C: Clock>(
        _ policy: ItemRetryPolicy,
        clock: C = ContinuousClock(),
        using operation: @escaping @Sendable (ItemFailure) async throws -> Value
    ) -> RetryFailuresSequence<Self, Value, C>
    where Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        RetryFailuresSequence(base: self, policy: policy, clock: clock, operation: operation)
    }
}

/// The sequence returned by `retryFailures(_:clock:using:)`.
public struct RetryFailuresSequence<Base: AsyncSequence, Value: Sendable, C: Clock>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let policy: ItemRetryPolicy
    @usableFromInline let clock: C
    @usableFromInline let operation: @Sendable (ItemFailure) async throws -> Value

    @inlinable
    init(
        base: Base, policy: ItemRetryPolicy, clock: C,
        operation: @escaping @Sendable (ItemFailure) async throws -> Value
    ) {
        self.base = base
        self.policy = policy
        self.clock = clock
        self.operation = operation
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), policy: policy, clock: clock, operation: operation)
    }

    /// Iterator of ``RetryFailuresSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let policy: ItemRetryPolicy
        @usableFromInline let clock: C
        @usableFromInline let operation: @Sendable (ItemFailure) async throws -> Value
        @usableFromInline var finished = false

        @inlinable
        init(
            base: Base.AsyncIterator,
            policy: ItemRetryPolicy,
            clock: C,
            operation: @escaping @Sendable (ItemFailure) async throws -> Value
        ) {
            self.base = base
            self.policy = policy
            self.clock = clock
            self.operation = operation
        }

        /// The next value, recovered value or remaining failure.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            guard !finished, let item = await base.next(isolation: actor) else { return nil }
            guard case .failure(var failure) = item.outcome else { return item }
            while policy.allowsRetry(after: failure.error, attempts: failure.attempts) {
                do {
                    let wait = policy.delay(beforeRetry: failure.attempts)
                    try await clock.sleep(until: clock.now.advanced(by: wait), tolerance: nil)
                } catch {
                    finished = true
                    return nil
                }
                do {
                    return StreamItem(try await operation(failure), metadata: item.metadata)
                } catch {
                    if Task.isCancelled {
                        finished = true
                        return nil
                    }
                    failure = failure.retried(attempts: failure.attempts + 1, error: error)
                }
            }
            return StreamItem(failure: failure, metadata: item.metadata)
        }

        /// The next value, recovered value or remaining failure.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension RetryFailuresSequence: Sendable where Base: Sendable {}
