import StreamKitEngine
import StreamKitLogFiles

/// How a client retries an operation whose opening failed with a retryable error: how many attempts, and
/// how long to wait between them.
///
/// The wait before retry *n* (n ≥ 1) is `initialBackoff × multiplier^(n-1)`, capped at `maxBackoff`, then
/// scaled by a random factor in `1 ± jitter` and capped at `maxBackoff` again. Only errors that are a
/// `StreamKitError` with `StreamKitError.isRetryable` set are retried — never by matching message text;
/// cancellation and every other error end the operation at once.
///
/// Retries cover *opening* an operation (reaching the store, later dialling a server), never a write that may
/// have been applied: a produce that failed after its first acknowledgement is not replayed.
///
/// ```swift
/// var policy = RetryPolicy.aggressive
/// policy.jitter = 0   // deterministic delays
/// let client = StreamKitClient(transport: .inProcess(registry), configuration: .init(retryPolicy: policy))
/// ```
public struct RetryPolicy: Sendable {
    /// Most attempts in total, the first included. Values below 1 count as 1.
    public var maxAttempts: Int
    /// Wait before the first retry. Zero or negative falls back to 100 ms.
    public var initialBackoff: Duration
    /// Longest wait between attempts. Zero or negative falls back to 10 s.
    public var maxBackoff: Duration
    /// Growth of the wait per retry. Values below 1 fall back to 2.
    public var multiplier: Double
    /// Relative spread of each wait: 0.25 makes it vary by ±25 %. 0 disables jitter. Clamped to 0…1.
    public var jitter: Double
    /// A uniform random number in `0..<1` for the jitter; replace it in tests.
    public var random: @Sendable () -> Double

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - maxAttempts: Most attempts, the first included.
    ///   - initialBackoff: Wait before the first retry.
    ///   - maxBackoff: Longest wait.
    ///   - multiplier: Growth of the wait per retry.
    ///   - jitter: Relative spread of each wait (default ±25 %).
    ///   - random: Uniform random numbers in `0..<1` (default the system generator).
    public init(
        maxAttempts: Int, initialBackoff: Duration, maxBackoff: Duration, multiplier: Double, jitter: Double = 0.25,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.random = random
    }

    /// 5 attempts, 100 ms → 5 s, ×2, ±25 % jitter.
    public static var `default`: RetryPolicy {
        RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .seconds(5), multiplier: 2)
    }

    /// 8 attempts, 200 ms → 15 s, ×1.5, ±25 % jitter: for callers that prefer waiting to failing.
    public static var aggressive: RetryPolicy {
        RetryPolicy(maxAttempts: 8, initialBackoff: .milliseconds(200), maxBackoff: .seconds(15), multiplier: 1.5)
    }

    /// One attempt: errors surface at once.
    public static var none: RetryPolicy {
        RetryPolicy(maxAttempts: 1, initialBackoff: .milliseconds(100), maxBackoff: .seconds(10), multiplier: 2)
    }

    /// The attempts the policy allows, at least 1.
    public var effectiveMaxAttempts: Int { max(1, maxAttempts) }

    /// The wait before retry number `retry` (1 = the wait after the first failed attempt).
    ///
    /// - Parameter retry: The retry's number, from 1.
    /// - Returns: The wait, jitter included, between 0 and the (effective) maximum backoff.
    public func delay(beforeRetry retry: Int) -> Duration {
        .nanoseconds(Int64(clamping: delayNanoseconds(beforeRetry: retry)))
    }

    /// Whether the policy retries `error`: only a `StreamKitError` whose code is retryable.
    ///
    /// - Parameter error: The error an attempt threw.
    /// - Returns: `true` for `storeUnavailable`, `overloaded` and `storeClosing` from the store; `false` for
    ///   every other error, cancellation included.
    public static func isRetryable(_ error: any Error) -> Bool {
        (error as? StreamKitError)?.isRetryable ?? false
    }

    func delayNanoseconds(beforeRetry retry: Int) -> UInt64 {
        let initial = Self.nanoseconds(initialBackoff, fallback: 100_000_000)
        let cap = Self.nanoseconds(maxBackoff, fallback: 10_000_000_000)
        let growth = multiplier >= 1 && multiplier.isFinite ? multiplier : 2
        var base = Double(initial)
        var step = 1
        while step < retry && base < Double(cap) {
            base *= growth
            step += 1
        }
        base = min(base, Double(cap))
        let spread = jitter.isFinite ? min(max(jitter, 0), 1) : 0
        let factor = spread == 0 ? 1 : 1 + spread * (2 * min(max(random(), 0), 1) - 1)
        let delay = min(max(base * factor, 0), Double(cap))
        return delay >= Double(UInt64.max) ? .max : UInt64(delay)
    }

    /// Whole nanoseconds of `duration`, or `fallback` when it is zero or negative.
    static func nanoseconds(_ duration: Duration, fallback: UInt64) -> UInt64 {
        guard duration > .zero else { return fallback }
        return UInt64(max(duration.nanoseconds, 1))
    }
}
