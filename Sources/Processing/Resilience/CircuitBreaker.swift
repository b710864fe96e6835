import Synchronization

/// Stops calling a failing dependency for a while, then lets a few trial calls test it.
///
/// **Closed**: calls go through; outcomes are counted over a rolling time window (`rollingWindow`,
/// split into `windowBuckets` buckets, on `clock`). When at least `minimumRequests` outcomes are in
/// the window and the failure rate reaches `failureRateThreshold`, the breaker opens.
/// **Open**: calls are rejected at once with ``ProcessingError/Code/circuitOpen`` until `openTimeout`
/// has passed on the clock; the first call or ``state`` read after that moves it to half-open.
/// **Half-open**: up to `halfOpenTrials` calls go through; if all of them succeed the breaker closes
/// with a fresh window, if one fails it opens again; extra calls are rejected meanwhile.
/// Errors that `isFailure` rejects (cancellation, by default) count as neither success nor failure.
///
/// Use it around the call a stage makes; a rejection then becomes a failed item that carries the input:
/// ```swift
/// let breaker = CircuitBreaker()
/// let enriched = orders.concurrentMap(workers: 4) { order in
///     try await breaker.run { try await pricing.quote(order) }
/// }
/// ```
public final class CircuitBreaker<C: Clock>: Sendable where C.Duration == Duration {
    /// The breaker's state.
    public enum State: Sendable, Hashable {
        /// Calls go through and are counted.
        case closed
        /// Calls are rejected until the open timeout passes.
        case open
        /// A limited number of trial calls go through.
        case halfOpen
    }

    /// Thresholds and timings.
    public struct Configuration: Sendable {
        /// The failure rate (0...1) of the rolling window at which the breaker opens.
        public var failureRateThreshold: Double
        /// Outcomes needed in the window before the rate is considered.
        public var minimumRequests: Int
        /// The span of the rolling window.
        public var rollingWindow: Duration
        /// Buckets the window is divided into (its time resolution).
        public var windowBuckets: Int
        /// How long the breaker stays open before allowing trials.
        public var openTimeout: Duration
        /// Trial calls in half-open state; all must succeed to close.
        public var halfOpenTrials: Int
        /// Whether an error counts as a failure; by default everything but cancellation does.
        public var isFailure: @Sendable (any Error) -> Bool

        /// Creates a configuration.
        /// - Parameters:
        ///   - failureRateThreshold: The opening failure rate, clamped to `0...1`; 0.5 by default.
        ///   - minimumRequests: Outcomes needed before opening; 10 by default; at least 1.
        ///   - rollingWindow: The window span; 60 s by default.
        ///   - windowBuckets: The window's buckets; 10 by default; at least 1.
        ///   - openTimeout: Time spent open; 30 s by default.
        ///   - halfOpenTrials: Trial calls when half-open; 3 by default; at least 1.
        ///   - isFailure: The error classifier; cancellation is never a failure.
        public init(
            failureRateThreshold: Double = 0.5,
            minimumRequests: Int = 10,
            rollingWindow: Duration = .seconds(60),
            windowBuckets: Int = 10,
            openTimeout: Duration = .seconds(30),
            halfOpenTrials: Int = 3,
            isFailure: @escaping @Sendable (any Error) -> Bool = { _ in true }
        ) {
            self.failureRateThreshold =
                failureRateThreshold.isNaN ? 0.5 : Swift.min(1, Swift.max(0, failureRateThreshold))
            self.minimumRequests = Swift.max(1, minimumRequests)
            self.rollingWindow = rollingWindow
            self.windowBuckets = Swift.max(1, windowBuckets)
            self.openTimeout = openTimeout
            self.halfOpenTrials = Swift.max(1, halfOpenTrials)
            self.isFailure = isFailure
        }
    }

    /// A snapshot of the breaker.
    public struct Statistics: Sendable, Hashable {
        /// The state when the snapshot was taken.
        public var state: State
        /// Successful calls in the rolling window (closed state).
        public var successes: Int
        /// Failed calls in the rolling window (closed state).
        public var failures: Int
        /// `failures / (successes + failures)`, or 0 with no outcome.
        public var failureRate: Double
        /// Calls rejected since the breaker was created.
        public var rejected: Int
        /// Times the breaker opened since it was created.
        public var timesOpened: Int
    }

    private struct Bucket {
        var index: Int64 = .min
        var successes = 0
        var failures = 0
    }

    private struct Machine {
        var state: State = .closed
        var buckets: [Bucket]
        var openedAt: C.Instant?
        var trialsStarted = 0
        var trialSuccesses = 0
        /// Bumped on every transition; outcomes of calls admitted in an older generation are ignored.
        var generation = 0
        var rejected = 0
        var timesOpened = 0
    }

    private enum Admission {
        case admitted(generation: Int, transitions: [(State, State)])
        case rejected(ProcessingError, transitions: [(State, State)])
    }

    private let configuration: Configuration
    private let clock: C
    private let origin: C.Instant
    private let bucketWidth: Int64
    private let onStateChange: (@Sendable (State, State) -> Void)?
    private let machine: Mutex<Machine>

    /// Creates a closed breaker.
    /// - Parameters:
    ///   - configuration: Thresholds and timings; the defaults by default.
    ///   - clock: The clock for the window and the open timeout.
    ///   - onStateChange: Called with the old and new state after every transition, outside the lock.
    public init(
        configuration: Configuration = Configuration(),
        clock: C,
        onStateChange: (@Sendable (State, State) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        origin = clock.now
        bucketWidth = DurationMath.positiveNanoseconds(configuration.rollingWindow) / Int64(configuration.windowBuckets)
        self.onStateChange = onStateChange
        machine = Mutex(Machine(buckets: Array(repeating: Bucket(), count: configuration.windowBuckets)))
    }

    /// The current state; reading it after the open timeout moves an open breaker to half-open.
    public var state: State {
        let (state, transitions) = machine.withLock { machine in
            var transitions: [(State, State)] = []
            refresh(&machine, now: clock.now, transitions: &transitions)
            return (machine.state, transitions)
        }
        notify(transitions)
        return state
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        machine.withLock { machine in
            let (successes, failures) = windowCounts(machine, now: clock.now)
            let total = successes + failures
            return Statistics(
                state: machine.state,
                successes: successes,
                failures: failures,
                failureRate: total == 0 ? 0 : Double(failures) / Double(total),
                rejected: machine.rejected,
                timesOpened: machine.timesOpened
            )
        }
    }

    /// Runs `operation` if the breaker admits it, and records the outcome.
    /// - Parameter operation: The protected call.
    /// - Returns: The operation's result.
    /// - Throws: ``ProcessingError`` with code ``ProcessingError/Code/circuitOpen`` when rejected
    ///   (with the time left until trials, when open), or the operation's own error.
    public func run<T>(_ operation: () async throws -> T) async throws -> T {
        let generation: Int
        switch admit() {
        case .rejected(let error, let transitions):
            notify(transitions)
            throw error
        case .admitted(let admitted, let transitions):
            notify(transitions)
            generation = admitted
        }
        do {
            let result = try await operation()
            record(success: true, generation: generation)
            return result
        } catch {
            if error is CancellationError || !configuration.isFailure(error) {
                release(generation: generation)
            } else {
                record(success: false, generation: generation)
            }
            throw error
        }
    }

    /// Closes the breaker and clears the window (the rejected and opened counters are kept).
    public func reset() {
        let transitions = machine.withLock { machine in
            var transitions: [(State, State)] = []
            transition(&machine, to: .closed, transitions: &transitions)
            return transitions
        }
        notify(transitions)
    }

    // MARK: - State machine (under the lock)

    private func admit() -> Admission {
        machine.withLock { machine in
            var transitions: [(State, State)] = []
            let now = clock.now
            refresh(&machine, now: now, transitions: &transitions)
            switch machine.state {
            case .closed:
                return .admitted(generation: machine.generation, transitions: transitions)
            case .halfOpen where machine.trialsStarted < configuration.halfOpenTrials:
                machine.trialsStarted += 1
                return .admitted(generation: machine.generation, transitions: transitions)
            case .halfOpen:
                machine.rejected += 1
                return .rejected(.circuitOpen(retryAfter: nil), transitions: transitions)
            case .open:
                machine.rejected += 1
                let remaining = machine.openedAt.map { now.duration(to: $0.advanced(by: configuration.openTimeout)) }
                return .rejected(.circuitOpen(retryAfter: remaining), transitions: transitions)
            }
        }
    }

    private func record(success: Bool, generation: Int) {
        let transitions = machine.withLock { machine -> [(State, State)] in
            var transitions: [(State, State)] = []
            guard generation == machine.generation else { return transitions }
            let now = clock.now
            switch machine.state {
            case .closed:
                let bucket = currentBucket(&machine, now: now)
                if success {
                    machine.buckets[bucket].successes += 1
                } else {
                    machine.buckets[bucket].failures += 1
                    let (successes, failures) = windowCounts(machine, now: now)
                    let total = successes + failures
                    if total >= configuration.minimumRequests,
                        Double(failures) / Double(total) >= configuration.failureRateThreshold
                    {
                        open(&machine, now: now, transitions: &transitions)
                    }
                }
            case .halfOpen:
                if success {
                    machine.trialSuccesses += 1
                    if machine.trialSuccesses >= configuration.halfOpenTrials {
                        transition(&machine, to: .closed, transitions: &transitions)
                    }
                } else {
                    open(&machine, now: now, transitions: &transitions)
                }
            case .open:
                break
            }
            return transitions
        }
        notify(transitions)
    }

    /// An admitted call ended with an error that is not a failure: free its trial slot, if any.
    private func release(generation: Int) {
        machine.withLock { machine in
            if generation == machine.generation, machine.state == .halfOpen {
                machine.trialsStarted -= 1
            }
        }
    }

    private func refresh(_ machine: inout Machine, now: C.Instant, transitions: inout [(State, State)]) {
        if machine.state == .open, let openedAt = machine.openedAt,
            now >= openedAt.advanced(by: configuration.openTimeout)
        {
            transition(&machine, to: .halfOpen, transitions: &transitions)
        }
    }

    private func open(_ machine: inout Machine, now: C.Instant, transitions: inout [(State, State)]) {
        transition(&machine, to: .open, transitions: &transitions)
        machine.openedAt = now
        machine.timesOpened += 1
    }

    private func transition(_ machine: inout Machine, to state: State, transitions: inout [(State, State)]) {
        let old = machine.state
        machine.state = state
        machine.generation += 1
        machine.trialsStarted = 0
        machine.trialSuccesses = 0
        if state == .closed {
            machine.buckets = Array(repeating: Bucket(), count: configuration.windowBuckets)
            machine.openedAt = nil
        }
        if old != state { transitions.append((old, state)) }
    }

    private func bucketIndex(now: C.Instant) -> Int64 {
        DurationMath.floorDivide(DurationMath.nanoseconds(origin.duration(to: now)), bucketWidth)
    }

    private func currentBucket(_ machine: inout Machine, now: C.Instant) -> Int {
        let index = bucketIndex(now: now)
        let slot = Int(
            ((index % Int64(machine.buckets.count)) + Int64(machine.buckets.count)) % Int64(machine.buckets.count)
        )
        if machine.buckets[slot].index != index {
            machine.buckets[slot] = Bucket(index: index)
        }
        return slot
    }

    private func windowCounts(_ machine: Machine, now: C.Instant) -> (successes: Int, failures: Int) {
        let current = bucketIndex(now: now)
        let oldest = current - Int64(machine.buckets.count) + 1
        var successes = 0
        var failures = 0
        for bucket in machine.buckets where bucket.index >= oldest && bucket.index <= current {
            successes += bucket.successes
            failures += bucket.failures
        }
        return (successes, failures)
    }

    private func notify(_ transitions: [(State, State)]) {
        guard let onStateChange else { return }
        for (old, new) in transitions { onStateChange(old, new) }
    }
}

// MARK: - ContinuousClock

extension CircuitBreaker where C == ContinuousClock {
    /// Creates a closed breaker on the continuous clock.
    /// - Parameters:
    ///   - configuration: Thresholds and timings; the defaults by default.
    ///   - onStateChange: Called with the old and new state after every transition, outside the lock.
    public convenience init(
        configuration: Configuration = Configuration(),
        onStateChange: (@Sendable (State, State) -> Void)? = nil
    ) {
        self.init(configuration: configuration, clock: ContinuousClock(), onStateChange: onStateChange)
    }
}
