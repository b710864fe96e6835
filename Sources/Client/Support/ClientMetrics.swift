import Metrics
import StreamKitEngine
import Synchronization

/// The client's swift-metrics instruments, created once per client (never per call) from its factory
/// (``ClientConfiguration/metricsFactory``, or the bootstrapped `MetricsSystem.factory`).
///
/// | metric | type | dimensions |
/// |---|---|---|
/// | `streamkit_client_operation_duration_seconds` | timer | `operation` |
/// | `streamkit_client_operation_errors_total` | counter | `operation`, `code` |
/// | `streamkit_client_retries_total` | counter | `operation` |
/// | `streamkit_client_reconnects_total` | counter | |
/// | `streamkit_client_resumed_reads_total` | counter | |
/// | `streamkit_client_handler_timeouts_total` | counter | |
/// | `streamkit_client_handler_failures_total` | counter | |
/// | `streamkit_client_coalesced_updates_total` | counter | |
/// | `streamkit_client_records_produced_total` | counter | |
/// | `streamkit_client_entries_consumed_total` | counter | |
///
/// Every metric also carries ``ClientConfiguration/metricsDimensions``. The per-operation instruments of the
/// known operations are made up front, so the hot path is a dictionary lookup and the handler's own work; error
/// counters (one per operation and code) are made on first use, under a `Mutex`.
final class ClientMetrics: Sendable {
    /// The operations the client and its transports report, each a value of the `operation` dimension.
    static let operations = [
        "produce", "publish", "peek", "consumeSegment", "consume", "spaces", "segments", "subscribe",
        "acquireLease", "renewLease", "releaseLease", "registerWorker", "workerHeartbeat", "unregisterWorker",
        "workerInventory", "deleteEntries", "retention", "setRetention", "createConsumer", "consumers", "acknowledge",
        "deleteConsumer", "workerInventoryUpdates",
    ]

    private let factory: any MetricsFactory
    private let dimensions: [(String, String)]
    private let durations: [String: Timer]
    private let retries: [String: Counter]
    /// Instruments made on first use: error counters, and those of an operation not in ``operations``.
    private let lazy = Mutex<(errors: [String: Counter], durations: [String: Timer], retries: [String: Counter])>(
        ([:], [:], [:]))

    private let reconnects: Counter
    private let resumedReads: Counter
    private let handlerTimeouts: Counter
    private let handlerFailures: Counter
    private let coalescedUpdates: Counter
    private let recordsProduced: Counter
    private let entriesConsumed: Counter

    /// What the plain counters count.
    enum Event {
        /// A connection established again after one was lost (WebSocket transport).
        case reconnect
        /// A read reopened after a lost connection (WebSocket transport).
        case resumedRead
        /// A subscription handler call abandoned after the handler timeout.
        case handlerTimeout
        /// A subscription handler call that threw.
        case handlerFailure
        /// Statuses replaced by a newer one before the handler took them.
        case coalescedUpdates
        /// Records committed by produce and publish.
        case recordsProduced
        /// Entries handed out by reads.
        case entriesConsumed
    }

    /// Creates the instruments.
    ///
    /// - Parameters:
    ///   - factory: The backend; nil uses the bootstrapped `MetricsSystem.factory`.
    ///   - dimensions: Added to every metric (after its own dimensions).
    init(factory: (any MetricsFactory)?, dimensions: [(String, String)] = []) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        self.dimensions = dimensions
        durations = Dictionary(
            uniqueKeysWithValues: Self.operations.map { operation in
                (operation, Self.timer(operation, factory: factory, dimensions: dimensions))
            })
        retries = Dictionary(
            uniqueKeysWithValues: Self.operations.map { operation in
                (operation, Self.retryCounter(operation, factory: factory, dimensions: dimensions))
            })
        func counter(_ label: String) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        reconnects = counter("streamkit_client_reconnects_total")
        resumedReads = counter("streamkit_client_resumed_reads_total")
        handlerTimeouts = counter("streamkit_client_handler_timeouts_total")
        handlerFailures = counter("streamkit_client_handler_failures_total")
        coalescedUpdates = counter("streamkit_client_coalesced_updates_total")
        recordsProduced = counter("streamkit_client_records_produced_total")
        entriesConsumed = counter("streamkit_client_entries_consumed_total")
    }

    // MARK: - Recording

    /// Adds `amount` (at least 1 to do anything) to the counter of `event`.
    func count(_ event: Event, by amount: Int = 1) {
        guard amount > 0 else { return }
        let counter =
            switch event {
            case .reconnect: reconnects
            case .resumedRead: resumedReads
            case .handlerTimeout: handlerTimeouts
            case .handlerFailure: handlerFailures
            case .coalescedUpdates: coalescedUpdates
            case .recordsProduced: recordsProduced
            case .entriesConsumed: entriesConsumed
            }
        counter.increment(by: Int64(amount))
    }

    /// Records how long one operation took (a stream: from its opening to its end).
    func recordDuration(_ operation: String, nanoseconds: Int64) {
        let timer =
            durations[operation]
            ?? lazy.withLock { made in
                if let timer = made.durations[operation] { return timer }
                let timer = Self.timer(operation, factory: factory, dimensions: dimensions)
                made.durations[operation] = timer
                return timer
            }
        timer.recordNanoseconds(nanoseconds)
    }

    /// Counts a retry of opening `operation`.
    func recordRetry(_ operation: String) {
        let counter =
            retries[operation]
            ?? lazy.withLock { made in
                if let counter = made.retries[operation] { return counter }
                let counter = Self.retryCounter(operation, factory: factory, dimensions: dimensions)
                made.retries[operation] = counter
                return counter
            }
        counter.increment()
    }

    /// Counts a failed operation by its error code (`unknown` for an error that is not a `StreamKitError`).
    /// Cancellation is not a failure and is not counted.
    func recordError(_ operation: String, _ error: any Error) {
        guard !(error is CancellationError) else { return }
        let code = (error as? StreamKitError).map { "\($0.code)" } ?? "unknown"
        let key = "\(operation)/\(code)"
        let counter = lazy.withLock { made in
            if let counter = made.errors[key] { return counter }
            let counter = Counter(
                label: "streamkit_client_operation_errors_total",
                dimensions: [("operation", operation), ("code", code)] + dimensions, factory: factory)
            made.errors[key] = counter
            return counter
        }
        counter.increment()
    }

    // MARK: - Making instruments

    private static func timer(_ operation: String, factory: any MetricsFactory, dimensions: [(String, String)]) -> Timer
    {
        Timer(
            label: "streamkit_client_operation_duration_seconds", dimensions: [("operation", operation)] + dimensions,
            factory: factory)
    }

    private static func retryCounter(
        _ operation: String, factory: any MetricsFactory, dimensions: [(String, String)]
    ) -> Counter {
        Counter(
            label: "streamkit_client_retries_total", dimensions: [("operation", operation)] + dimensions,
            factory: factory)
    }
}
