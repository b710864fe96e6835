import Testing

@testable import StreamKitEngine

/// Leases and worker presence (`Sources/Engine/Coordination`): the value types the store mutates inside its
/// actor. Every test passes explicit `now` readings; nothing sleeps.
@Suite("Coordination", .timeLimit(.minutes(1)))
enum CoordinationTests {
    /// One second in nanoseconds.
    static let second: UInt64 = 1_000_000_000
    /// An arbitrary monotonic clock reading to start from.
    static let t0: UInt64 = 5_000 * second

    /// Runs `body`, expects it to throw a `StreamKitError` with `code`, and returns the error.
    @discardableResult
    static func expectError<Result>(
        _ code: StreamKitError.Code, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Result
    ) -> StreamKitError? {
        do {
            let result = try body()
            Issue.record("expected a \(code) error, got \(result)", sourceLocation: sourceLocation)
            return nil
        } catch let error as StreamKitError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record(error, "expected a StreamKitError with code \(code)", sourceLocation: sourceLocation)
            return nil
        }
    }
}
