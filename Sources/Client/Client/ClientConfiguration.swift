public import Logging
public import Metrics
public import StreamKitEngine

/// Settings of a ``StreamKitClient``: retries, the subscription handler pool, the clock, the logger and the
/// metrics backend.
public struct ClientConfiguration: Sendable {
    /// How opening an operation is retried after a retryable error. Default ``RetryPolicy/default``.
    public var retryPolicy: RetryPolicy = .default
    /// How long one subscription handler call may run before it is abandoned (cancelled and counted in
    /// ``SubscriptionStatus/handlerTimeouts``). Zero or negative runs handlers inline, without a timeout.
    /// Default 30 s.
    public var handlerTimeout: Duration = .seconds(30)
    /// The most subscription handler calls running at once across the client's subscriptions. Values
    /// below 1 count as 1. Default 50.
    public var maxConcurrentHandlers = 50
    /// Time for every client timer: retry backoff, lease renewal, heartbeats, handler timeouts. Replace it
    /// with a manual clock in tests. Default the system's monotonic clock.
    public var clock: EngineClock = .system
    /// Receives the client's logs, with metadata `store_id`, `space`, `segment`, `subscription_id`,
    /// `attempt` and `record_count`. Default label `streamkit.client`.
    public var logger = Logger(label: "streamkit.client")
    /// The swift-metrics backend of the client's metrics (`streamkit_client_*`, see `docs/client.md`); nil (the
    /// default) uses the one bootstrapped with `MetricsSystem.bootstrap`. Set it to keep one client's metrics
    /// apart, e.g. a `TestMetrics` in tests.
    public var metricsFactory: (any MetricsFactory)?
    /// Dimensions added to every metric of the client, e.g. `[("client", "billing")]`. Default none.
    public var metricsDimensions: [(String, String)] = []

    /// The default settings.
    public init() {}

    /// Settings with the given values; the others keep their defaults.
    ///
    /// - Parameters:
    ///   - retryPolicy: How opening an operation is retried.
    ///   - handlerTimeout: Longest handler call; zero or negative runs handlers inline.
    ///   - maxConcurrentHandlers: Most handler calls at once.
    ///   - clock: Time for every client timer.
    ///   - logger: Receives the client's logs.
    public init(
        retryPolicy: RetryPolicy = .default, handlerTimeout: Duration = .seconds(30), maxConcurrentHandlers: Int = 50,
        clock: EngineClock = .system, logger: Logger = Logger(label: "streamkit.client")
    ) {
        self.retryPolicy = retryPolicy
        self.handlerTimeout = handlerTimeout
        self.maxConcurrentHandlers = maxConcurrentHandlers
        self.clock = clock
        self.logger = logger
    }
}
