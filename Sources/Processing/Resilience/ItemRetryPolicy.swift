/// When and how long to wait before trying a failed operation again: exponential backoff with jitter
/// and an error classifier.
///
/// Attempt 1 is the first call. Before retry `n` (attempt `n + 1`) the policy waits
/// `initialDelay × multiplier^(n-1)`, capped at `maxDelay`, then scaled by a random factor in
/// `[1 - jitter, 1]`. So the first retry waits about `initialDelay`, not twice that. A retry happens
/// only while attempts remain and `shouldRetry` accepts the error; cancellation is never retried.
///
/// ```swift
/// let policy = ItemRetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(50))
/// let body = try await policy.run { attempt in try await fetch(id) }
/// ```
public struct ItemRetryPolicy: Sendable {
    /// Total attempts, the first call included (at least 1).
    public var maxAttempts: Int
    /// The wait before the first retry.
    public var initialDelay: Duration
    /// The growth factor of the wait from one retry to the next (at least 1).
    public var multiplier: Double
    /// The longest wait before a retry, before jitter.
    public var maxDelay: Duration
    /// The random reduction of each wait, from 0 (none) to 1 (anywhere between zero and the full wait).
    public var jitter: Double
    /// Whether an error is worth retrying; `CancellationError` is never retried whatever this says.
    public var shouldRetry: @Sendable (any Error) -> Bool

    /// Creates a policy.
    /// - Parameters:
    ///   - maxAttempts: Total attempts, the first included; 3 by default; less than 1 counts as 1.
    ///   - initialDelay: The wait before the first retry; 100 ms by default.
    ///   - multiplier: The growth factor of the wait; 2 by default; less than 1 counts as 1.
    ///   - maxDelay: The cap on a wait before jitter; 30 s by default.
    ///   - jitter: The random reduction, clamped to `0...1`; 0.5 by default (waits of 50–100 %).
    ///   - shouldRetry: The error classifier; by default every error except cancellation is retried.
    public init(
        maxAttempts: Int = 3,
        initialDelay: Duration = .milliseconds(100),
        multiplier: Double = 2,
        maxDelay: Duration = .seconds(30),
        jitter: Double = 0.5,
        shouldRetry: @escaping @Sendable (any Error) -> Bool = { _ in true }
    ) {
        self.maxAttempts = Swift.max(1, maxAttempts)
        self.initialDelay = Swift.max(.zero, initialDelay)
        self.multiplier = multiplier.isNaN ? 1 : Swift.max(1, multiplier)
        self.maxDelay = Swift.max(.zero, maxDelay)
        self.jitter = jitter.isNaN ? 0 : Swift.min(1, Swift.max(0, jitter))
        self.shouldRetry = shouldRetry
    }

    /// A policy that never retries.
    public static var never: ItemRetryPolicy { ItemRetryPolicy(maxAttempts: 1) }

    /// Whether attempt `attempts + 1` should follow a failure with `error`.
    /// - Parameters:
    ///   - error: The error of the last attempt.
    ///   - attempts: The attempts made so far.
    /// - Returns: `true` when attempts remain, the error is not a cancellation and `shouldRetry` accepts it.
    public func allowsRetry(after error: any Error, attempts: Int) -> Bool {
        attempts < maxAttempts && !(error is CancellationError) && shouldRetry(error)
    }

    /// The wait before retry `retry` (1 for the first retry), with jitter drawn from `generator`.
    /// - Parameters:
    ///   - retry: The retry number, from 1.
    ///   - generator: The source of the jitter.
    /// - Returns: The wait.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = Self.seconds(maxDelay)
        var seconds = Swift.min(Self.seconds(initialDelay), cap)
        var step = 1
        while step < retry, seconds < cap {
            seconds = Swift.min(seconds * multiplier, cap)
            step += 1
        }
        if jitter > 0 {
            seconds *= 1 - jitter * Double.random(in: 0..<1, using: &generator)
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The wait before retry `retry` (1 for the first retry), with jitter from the system generator.
    /// - Parameter retry: The retry number, from 1.
    /// - Returns: The wait.
    public func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &generator)
    }

    /// Runs `operation` until it succeeds, the error is not retryable, or the attempts are used up.
    /// - Parameters:
    ///   - clock: The clock to wait on between attempts; `ContinuousClock` by default.
    ///   - operation: The work; it receives the attempt number, from 1.
    /// - Returns: The first successful result.
    /// - Throws: The error of the last attempt, or `CancellationError` if the task is cancelled while waiting.
    public func run<T, C: Clock>(
        clock: C = ContinuousClock(),
        _ operation: (_ attempt: Int) async throws -> T
    ) async throws -> T where C.Duration == Duration {
        var attempt = 1
        while true {
            do {
                return try await operation(attempt)
            } catch {
                guard allowsRetry(after: error, attempts: attempt), !Task.isCancelled else { throw error }
                try await clock.sleep(until: clock.now.advanced(by: delay(beforeRetry: attempt)), tolerance: nil)
                attempt += 1
            }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
