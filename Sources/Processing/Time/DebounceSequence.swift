extension AsyncSequence {
    /// Delivers a value only after `interval` has passed on `clock` without a newer value (trailing
    /// edge); failures pass at once; the pending value is delivered when the input ends.
    ///
    /// Each value replaces the pending one (keeping its own metadata) and restarts the quiet period.
    /// A failure is delivered immediately, ahead of a pending value. A background task pulls the input
    /// and a timer task sleeps on `clock`; cancelling the consuming task, or releasing its iterator,
    /// stops both and drops the pending value. An `interval` of zero or less passes everything at once.
    /// - Parameters:
    ///   - interval: The quiet period.
    ///   - clock: The clock; `ContinuousClock` by default.
    /// - Returns: The settled values and every failure.
    @inlinable
    public func debounce<Value: Sendable, C: Clock>(
        for interval: Duration,
        clock: C = ContinuousClock()
    ) -> DebounceSequence<Self, Value, C>
    where Self: Sendable, Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        DebounceSequence(base: self, interval: interval, clock: clock)
    }
}

/// The sequence returned by `debounce(for:clock:)`.
public struct DebounceSequence<Base: AsyncSequence & Sendable, Value: Sendable, C: Clock>: AsyncSequence, Sendable
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let interval: Duration
    @usableFromInline let clock: C

    @inlinable
    init(base: Base, interval: Duration, clock: C) {
        self.base = base
        self.interval = interval
        self.clock = clock
    }

    /// Creates an iterator; its background tasks start with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        let (interval, clock) = (interval, clock)
        return Iterator(
            driver: TimedDriver(base: base, clock: clock, capacity: 2) {
                DebounceCore(interval: interval, clock: clock)
            }
        )
    }

    /// Iterator of ``DebounceSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var driver: TimedDriver<Base, DebounceCore<Value, C>, C>

        @inlinable
        init(driver: TimedDriver<Base, DebounceCore<Value, C>, C>) {
            self.driver = driver
        }

        /// The next settled value or failure.
        /// - Returns: The next item, or `nil` at the end or on cancellation.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await driver.next()
        }
    }
}

/// The state of one debouncing iterator.
@usableFromInline
struct DebounceCore<Value: Sendable, C: Clock>: TimedCore where C.Duration == Duration {
    @usableFromInline let interval: Duration
    @usableFromInline let clock: C
    @usableFromInline var pending: StreamItem<Value>?
    @usableFromInline var deadline: C.Instant?

    @inlinable
    init(interval: Duration, clock: C) {
        self.interval = interval
        self.clock = clock
    }

    @inlinable
    mutating func receive(_ input: StreamItem<Value>, into output: inout Ring<StreamItem<Value>>) {
        guard input.isSuccess, interval > .zero else {
            output.append(input)
            return
        }
        pending = input
        deadline = clock.now.advanced(by: interval)
    }

    @inlinable
    mutating func fire(into output: inout Ring<StreamItem<Value>>) {
        guard let deadline, deadline <= clock.now else { return }
        flush(into: &output)
    }

    @inlinable
    mutating func flush(into output: inout Ring<StreamItem<Value>>) {
        if let pending { output.append(pending) }
        pending = nil
        deadline = nil
    }
}
