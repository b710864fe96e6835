import Synchronization

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

    let base: Base
    let interval: Duration
    let clock: C
    let report: @Sendable (MonitorReport) -> Void

    init(base: Base, interval: Duration, clock: C, report: @escaping @Sendable (MonitorReport) -> Void) {
        self.base = base
        self.interval = interval
        self.clock = clock
        self.report = report
    }

    /// Creates an iterator; its timer starts with the first call to `next()`.
    /// - Returns: The iterator.
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), sequence: self)
    }

    /// Iterator of ``MonitorSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        private var base: Base.AsyncIterator
        private let interval: Duration
        private let clock: C
        private let report: @Sendable (MonitorReport) -> Void
        private var meter: MonitorMeter<C>?
        private var finished = false

        init(base: Base.AsyncIterator, sequence: MonitorSequence) {
            self.base = base
            interval = sequence.interval
            clock = sequence.clock
            report = sequence.report
        }

        /// The next item, counted.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
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
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }

        private mutating func startMeter() -> MonitorMeter<C> {
            let meter = MonitorMeter(interval: interval, clock: clock, report: report)
            self.meter = meter
            return meter
        }
    }
}

/// The counters and timer of one monitoring iterator; releasing it stops the timer.
final class MonitorMeter<C: Clock>: Sendable where C.Duration == Duration {
    private struct Counts {
        var count = 0
        var failures = 0
        var intervalStart: C.Instant
        var finished = false
    }

    private let counts: Mutex<Counts>
    private let clock: C
    private let report: @Sendable (MonitorReport) -> Void
    private let timer: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(interval: Duration, clock: C, report: @escaping @Sendable (MonitorReport) -> Void) {
        let start = clock.now
        counts = Mutex(Counts(intervalStart: start))
        self.clock = clock
        self.report = report
        let task = Task { [counts = WeakMeter(self)] in
            var deadline = start.advanced(by: interval)
            while true {
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                } catch {
                    return
                }
                guard let meter = counts.meter, meter.close(at: deadline) else { return }
                deadline = deadline.advanced(by: interval)
            }
        }
        timer.withLock { $0 = task }
    }

    deinit {
        timer.withLock { $0?.cancel() }
    }

    func count(failure: Bool) {
        counts.withLock { counts in
            counts.count += 1
            if failure { counts.failures += 1 }
        }
    }

    /// Reports the interval ending at `end`; `false` once finished.
    fileprivate func close(at end: C.Instant) -> Bool {
        let figures = counts.withLock { counts -> MonitorReport? in
            guard !counts.finished else { return nil }
            defer {
                counts.count = 0
                counts.failures = 0
                counts.intervalStart = end
            }
            return MonitorReport(count: counts.count, failures: counts.failures, interval: counts.intervalStart.duration(to: end))
        }
        guard let figures else { return false }
        report(figures)
        return true
    }

    /// Stops the timer; optionally reports the partial last interval.
    func finish(reportingLast: Bool) {
        timer.withLock { $0?.cancel() }
        let now = clock.now
        let figures = counts.withLock { counts -> MonitorReport? in
            guard !counts.finished else { return nil }
            counts.finished = true
            return MonitorReport(count: counts.count, failures: counts.failures, interval: counts.intervalStart.duration(to: now))
        }
        if reportingLast, let figures { report(figures) }
    }
}

/// A weak reference to a meter, so its timer task does not keep it (and itself) alive.
private struct WeakMeter<C: Clock>: Sendable where C.Duration == Duration {
    weak var meter: MonitorMeter<C>?

    init(_ meter: MonitorMeter<C>) {
        self.meter = meter
    }
}

// MARK: - Sendable

extension MonitorSequence: Sendable where Base: Sendable {}
