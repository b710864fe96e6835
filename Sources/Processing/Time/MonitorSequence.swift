// `public` only so the lock can be used from `@inlinable` code (specialised in the caller's module);
// no Synchronization type appears in the public API.
public import Synchronization

extension AsyncSequence {
    /// Passes every item on unchanged and reports, every `interval` of `clock`, how many items passed
    /// and at what rate.
    ///
    /// Counting costs one uncontended lock per item in the consuming task. A timer task, started with the
    /// first `next()`, calls `report` at each interval end, also for idle intervals (count 0); when the
    /// input ends a last report covers the partial interval. Cancelling the consuming task, or releasing
    /// its iterator, stops the timer. `report` runs on the timer task: keep it short.
    /// - Parameters:
    ///   - interval: The reporting period (at least 1 ns).
    ///   - clock: The clock; `ContinuousClock` by default.
    ///   - report: Receives each interval's figures.
    /// - Returns: The same items.
    @inlinable
    public func monitor<Value: Sendable, C: Clock>(
        every interval: Duration,
        clock: C = ContinuousClock(),
        report: @escaping @Sendable (MonitorReport) -> Void
    ) -> MonitorSequence<Self, Value, C>
    where Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        MonitorSequence(base: self, interval: .nanoseconds(DurationMath.span(interval)), clock: clock, report: report)
    }
}

/// The sequence returned by `monitor(every:clock:report:)`.
public struct MonitorSequence<Base: AsyncSequence, Value: Sendable, C: Clock>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let interval: Duration
    @usableFromInline let clock: C
    @usableFromInline let report: @Sendable (MonitorReport) -> Void

    @inlinable
    init(base: Base, interval: Duration, clock: C, report: @escaping @Sendable (MonitorReport) -> Void) {
        self.base = base
        self.interval = interval
        self.clock = clock
        self.report = report
    }

    /// Creates an iterator; its timer starts with the first call to `next()`.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), sequence: self)
    }

    /// Iterator of ``MonitorSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let interval: Duration
        @usableFromInline let clock: C
        @usableFromInline let report: @Sendable (MonitorReport) -> Void
        @usableFromInline var meter: MonitorMeter<C>?
        @usableFromInline var finished = false

        @inlinable
        init(base: Base.AsyncIterator, sequence: MonitorSequence) {
            self.base = base
            interval = sequence.interval
            clock = sequence.clock
            report = sequence.report
        }

        /// The next item, counted.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            guard !finished else { return nil }
            let meter = meter ?? startMeter()
            guard let item = await base.next(isolation: actor) else {
                finished = true
                meter.finish(reportingLast: !Task.isCancelled)
                self.meter = nil
                return nil
            }
            meter.count(failure: !item.isSuccess)
            return item
        }

        /// The next item, counted.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }

        @inlinable
        mutating func startMeter() -> MonitorMeter<C> {
            let meter = MonitorMeter(interval: interval, clock: clock, report: report)
            self.meter = meter
            return meter
        }
    }
}

/// The counters and timer of one monitoring iterator; releasing it stops the timer.
@usableFromInline
final class MonitorMeter<C: Clock>: Sendable where C.Duration == Duration {
    @usableFromInline
    struct Counts {
        @usableFromInline var count = 0
        @usableFromInline var failures = 0
        @usableFromInline var intervalStart: C.Instant
        @usableFromInline var finished = false

        @inlinable
        init(intervalStart: C.Instant) {
            self.intervalStart = intervalStart
        }
    }

    @usableFromInline let counts: Mutex<Counts>
    @usableFromInline let clock: C
    @usableFromInline let report: @Sendable (MonitorReport) -> Void
    @usableFromInline let timer: Mutex<Task<Void, Never>?> = Mutex(nil)

    @inlinable
    init(interval: Duration, clock: C, report: @escaping @Sendable (MonitorReport) -> Void) {
        let start = clock.now
        counts = Mutex(Counts(intervalStart: start))
        self.clock = clock
        self.report = report
        let task = Task { [weakMeter = WeakMeter(self)] in
            var deadline = start.advanced(by: interval)
            while true {
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                } catch {
                    return
                }
                guard let meter = weakMeter.meter, meter.close(at: deadline) else { return }
                deadline = deadline.advanced(by: interval)
            }
        }
        timer.withLock { $0 = task }
    }

    deinit {
        timer.withLock { $0?.cancel() }
    }

    @inlinable
    func count(failure: Bool) {
        counts.withLock { counts in
            counts.count += 1
            if failure { counts.failures += 1 }
        }
    }

    /// Reports the interval ending at `end`; `false` once finished.
    @inlinable
    func close(at end: C.Instant) -> Bool {
        let figures = counts.withLock { counts -> MonitorReport? in
            guard !counts.finished else { return nil }
            defer {
                counts.count = 0
                counts.failures = 0
                counts.intervalStart = end
            }
            return MonitorReport(
                count: counts.count,
                failures: counts.failures,
                interval: counts.intervalStart.duration(to: end)
            )
        }
        guard let figures else { return false }
        report(figures)
        return true
    }

    /// Stops the timer; optionally reports the partial last interval.
    @inlinable
    func finish(reportingLast: Bool) {
        timer.withLock { $0?.cancel() }
        let now = clock.now
        let figures = counts.withLock { counts -> MonitorReport? in
            guard !counts.finished else { return nil }
            counts.finished = true
            return MonitorReport(
                count: counts.count,
                failures: counts.failures,
                interval: counts.intervalStart.duration(to: now)
            )
        }
        if reportingLast, let figures { report(figures) }
    }
}

/// A weak reference to a meter, so its timer task does not keep it (and itself) alive.
@usableFromInline
struct WeakMeter<C: Clock>: Sendable where C.Duration == Duration {
    @usableFromInline weak var meter: MonitorMeter<C>?

    @inlinable
    init(_ meter: MonitorMeter<C>) {
        self.meter = meter
    }
}

// MARK: - Sendable

extension MonitorSequence: Sendable where Base: Sendable {}
