import Logging
import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the client lends its transport: the retry policy, the clock, the logger, the metrics, and whether it is
/// closed.
struct TransportContext: Sendable {
    var retryPolicy: RetryPolicy
    var clock: EngineClock
    var logger: Logger
    /// The client's metrics (retries, reconnects, resumed reads).
    var metrics: ClientMetrics
    /// True once the client is closing: retries stop and new operations fail with `storeClosing`.
    var isClosed: @Sendable () -> Bool

    /// Runs `open` under the retry policy, failing with `storeClosing` once the client is closed.
    ///
    /// - Parameters:
    ///   - operation: The operation's name, for the logs and the retry counter.
    ///   - store: The store concerned, for the logs and errors.
    ///   - stopIf: Also ends the retries when true (the transport itself is closing).
    ///   - open: The attempt.
    nonisolated(nonsending) func retrying<T>(
        _ operation: String, store: UUID, stopIf: @escaping @Sendable () -> Bool = { false },
        _ open: nonisolated(nonsending) () async throws -> T
    ) async throws -> T {
        let isClosed = self.isClosed
        let metrics = self.metrics
        return try await retryPolicy.run(
            clock: clock, logger: logger, metadata: ["store_id": "\(store)", "operation": "\(operation)"],
            shouldStop: { isClosed() || stopIf() }, onRetry: { metrics.recordRetry(operation) }
        ) {
            guard !isClosed() else { throw StreamKitError.clientClosed(storeID: store) }
            return try await open()
        }
    }
}
