/// Errors raised by the operators themselves (as opposed to errors of your own stages).
///
/// They reach you inside an ``ItemFailure`` that carries the affected item. Match on ``code``; new
/// codes may be added without breaking your `switch` statements.
public struct ProcessingError: Error, Hashable, Sendable {
    /// The kind of error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case lateItem
            case circuitOpen
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// An event-time window received an item whose windows had already closed.
        public static let lateItem = Code(.lateItem)
        /// A circuit breaker rejected the call because it is open (or its half-open trials are taken).
        public static let circuitOpen = Code(.circuitOpen)

        /// The code's name, e.g. `lateItem`.
        public var description: String {
            switch base {
            case .lateItem: "lateItem"
            case .circuitOpen: "circuitOpen"
            }
        }
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// Whether trying the same item again later can succeed.
    public var isRetryable: Bool
    /// How long to wait before a retry can help, when known (the remaining open time of a breaker).
    public var retryAfter: Duration?

    /// An item arrived after every window it belongs to had closed.
    /// - Parameters:
    ///   - timestamp: The item's event time.
    ///   - watermark: The event time up to which windows were already closed.
    /// - Returns: The error.
    public static func lateItem(timestamp: Duration, watermark: Duration) -> ProcessingError {
        ProcessingError(
            code: .lateItem,
            message: "item at \(timestamp) arrived after its windows closed (watermark \(watermark))",
            isRetryable: false,
            retryAfter: nil
        )
    }

    /// A circuit breaker rejected a call.
    /// - Parameter retryAfter: The time left until the breaker lets a trial call through, if known.
    /// - Returns: The error.
    public static func circuitOpen(retryAfter: Duration?) -> ProcessingError {
        ProcessingError(
            code: .circuitOpen,
            message: retryAfter.map { "circuit breaker is open; retry after \($0)" } ?? "circuit breaker is open",
            isRetryable: true,
            retryAfter: retryAfter
        )
    }
}

// MARK: - CustomStringConvertible

extension ProcessingError: CustomStringConvertible {
    /// The code and message, e.g. `circuitOpen: circuit breaker is open`.
    public var description: String { "\(code): \(message)" }
}
