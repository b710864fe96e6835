import Logging
import StreamKitEngine

// MARK: - Running an operation

extension RetryPolicy {
    /// Runs `operation`, retrying it after retryable errors with this policy's backoff on `clock`.
    ///
    /// - Parameters:
    ///   - clock: Sleeps between attempts (a manual clock in tests).
    ///   - logger: Receives a warning per retry, with `attempt` and `metadata`.
    ///   - metadata: Context for the logs (`store_id`, `space` …).
    ///   - shouldStop: Checked before each retry; `true` ends the loop with the last error (the client closed).
    ///   - onRetry: Called before each retry's wait (the client counts retries).
    ///   - operation: The attempt.
    /// - Returns: What the first successful attempt returns.
    /// - Throws: The last attempt's error, or `CancellationError` when a wait is cancelled.
    nonisolated(nonsending) func run<T>(
        clock: EngineClock, logger: Logger, metadata: Logger.Metadata = [:],
        shouldStop: @Sendable () -> Bool = { false }, onRetry: () -> Void = {},
        _ operation: nonisolated(nonsending) () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard attempt < effectiveMaxAttempts, Self.isRetryable(error), !shouldStop() else { throw error }
                let delay = delayNanoseconds(beforeRetry: attempt)
                var context = metadata
                context["attempt"] = "\(attempt)"
                context["retry_in_ms"] = "\(delay / 1_000_000)"
                context["error"] = "\(error)"
                logger.warning("operation failed, retrying", metadata: context)
                onRetry()
                try await clock.sleep(delay)
                attempt += 1
            }
        }
    }
}
