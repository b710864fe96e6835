extension AsyncSequence {
    /// Lets a value through, then drops values until `interval` has passed on `clock` since the last
    /// one let through (leading edge); failures always pass.
    ///
    /// It compares instants, needs no timer and no task, and queues nothing: to delay instead of drop,
    /// use `rateLimit`. An `interval` of zero or less lets everything through. Each iterator keeps its
    /// own state.
    /// - Parameters:
    ///   - interval: The minimum time between two values let through.
    ///   - clock: The clock; `ContinuousClock` by default.
    ///   - dropped: Counts the dropped values.
    /// - Returns: The values let through and every failure.
    @inlinable
    public func throttle<Value: Sendable, C: Clock>(
        for interval: Duration,
        clock: C = ContinuousClock(),
        dropped: ItemCounter? = nil
    ) -> ThrottleSequence<Self, Value, C> where Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        ThrottleSequence(base: self, interval: interval, clock: clock, dropped: dropped)
    }
}

/// The sequence returned by `throttle(for:clock:dropped:)`.
public struct ThrottleSequence<Base: AsyncSequence, Value: Sendable, C: Clock>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let interval: Duration
    @usableFromInline let clock: C
    @usableFromInline let dropped: ItemCounter?

    @inlinable
    init(base: Base, interval: Duration, clock: C, dropped: ItemCounter?) {
        self.base = base
        self.interval = interval
        self.clock = clock
        self.dropped = dropped
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), interval: interval, clock: clock, dropped: dropped)
    }

    /// Iterator of ``ThrottleSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let interval: Duration
        @usableFromInline let clock: C
        @usableFromInline let dropped: ItemCounter?
        @usableFromInline var lastEmitted: C.Instant?

        @inlinable
        init(base: Base.AsyncIterator, interval: Duration, clock: C, dropped: ItemCounter?) {
            self.base = base
            self.interval = interval
            self.clock = clock
            self.dropped = dropped
        }

        /// The next item that is let through.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            while let item = await base.next(isolation: actor) {
                guard item.isSuccess, interval > .zero else { return item }
                let now = clock.now
                if let lastEmitted, lastEmitted.duration(to: now) < interval {
                    dropped?.increment()
                    continue
                }
                lastEmitted = now
                return item
            }
            return nil
        }

        /// The next item that is let through.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension ThrottleSequence: Sendable where Base: Sendable {}
