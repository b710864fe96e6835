extension AsyncSequence {
    /// Delays values so that at most `permits` go out per `period`, with bursts of up to `burst`; it
    /// queues (through backpressure) and never drops. Failures pass without waiting or using a permit.
    ///
    /// A token bucket (implemented as the equivalent generic cell rate algorithm): a permit is earned
    /// every `period / permits`, up to `burst` saved permits. When none is available the consuming task
    /// sleeps on `clock` until one is, and nothing more is pulled from upstream meanwhile, so at most
    /// one value waits here. Cancelling the consuming task ends the sequence, sleep included.
    /// - Parameters:
    ///   - permits: Values per `period` (at least 1).
    ///   - period: The period; zero or less disables the limit.
    ///   - burst: Values that may go out back to back after an idle spell (at least 1); 1 by default.
    ///   - clock: The clock that paces the values; `ContinuousClock` by default.
    /// - Returns: The same items, paced.
    @inlinable
    public func rateLimit<Value: Sendable, C: Clock>(
        _ permits: Int,
        per period: Duration,
        burst: Int = 1,
        clock: C = ContinuousClock()
    ) -> RateLimitSequence<Self, Value, C>
    where Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        let interval = period > .zero ? period / Swift.max(1, permits) : .zero
        return RateLimitSequence(base: self, interval: interval, burst: Swift.max(1, burst), clock: clock)
    }
}

/// The sequence returned by `rateLimit(_:per:burst:clock:)`.
public struct RateLimitSequence<Base: AsyncSequence, Value: Sendable, C: Clock>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let interval: Duration
    @usableFromInline let burst: Int
    @usableFromInline let clock: C

    @inlinable
    init(base: Base, interval: Duration, burst: Int, clock: C) {
        self.base = base
        self.interval = interval
        self.burst = burst
        self.clock = clock
    }

    /// Creates an iterator with a full bucket.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), interval: interval, burst: burst, clock: clock)
    }

    /// Iterator of ``RateLimitSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let interval: Duration
        @usableFromInline let tolerance: Duration
        @usableFromInline let clock: C
        /// The theoretical arrival time of the next value (GCRA); `nil` until the first value.
        @usableFromInline var theoreticalArrival: C.Instant?
        @usableFromInline var finished = false

        @inlinable
        init(base: Base.AsyncIterator, interval: Duration, burst: Int, clock: C) {
            self.base = base
            self.interval = interval
            tolerance = interval * (burst - 1)
            self.clock = clock
        }

        /// The next item, once a permit is available for it.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            guard !finished, let item = await base.next(isolation: actor) else { return nil }
            guard item.isSuccess, interval > .zero else { return item }
            let now = clock.now
            let arrival = theoreticalArrival ?? now
            let allowedAt = arrival.advanced(by: .zero - tolerance)
            var emittedAt = now
            if now < allowedAt {
                do {
                    try await clock.sleep(until: allowedAt, tolerance: nil)
                } catch {
                    finished = true
                    return nil
                }
                emittedAt = allowedAt
            }
            theoreticalArrival = Swift.max(arrival, emittedAt).advanced(by: interval)
            return item
        }

        /// The next item, once a permit is available for it.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension RateLimitSequence: Sendable where Base: Sendable {}
