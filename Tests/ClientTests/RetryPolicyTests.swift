import Foundation
import Logging
import Testing

@testable import StreamKitClient

struct RetryPolicyTests {
    private static let ms: UInt64 = 1_000_000

    private func noJitter(_ policy: RetryPolicy) -> RetryPolicy {
        var policy = policy
        policy.jitter = 0
        return policy
    }

    // MARK: - Numbers

    @Test func defaultPolicyHasTheReferenceNumbers() {
        let policy = noJitter(.default)
        #expect(policy.maxAttempts == 5)
        #expect(
            (1...8).map { policy.delayNanoseconds(beforeRetry: $0) / Self.ms } == [
                100, 200, 400, 800, 1600, 3200, 5000, 5000,
            ])
    }

    @Test func aggressivePolicyHasTheReferenceNumbers() {
        let policy = noJitter(.aggressive)
        #expect(policy.maxAttempts == 8)
        #expect(
            (1...10).map { policy.delayNanoseconds(beforeRetry: $0) / Self.ms }
                == [200, 300, 450, 675, 1012, 1518, 2278, 3417, 5125, 7688])
        #expect(policy.delayNanoseconds(beforeRetry: 20) == 15_000 * Self.ms)
    }

    @Test func jitterStaysWithinAQuarterAndUnderTheCap() {
        for (random, expected) in [(0.0, 75), (0.5, 100), (0.999_999, 124)] as [(Double, UInt64)] {
            var policy = RetryPolicy.default
            policy.random = { random }  // truncated to whole ms: 124.99995
            #expect(policy.delayNanoseconds(beforeRetry: 1) / Self.ms == expected)
        }
        var high = RetryPolicy.default
        high.random = { 0.999_999 }
        #expect(high.delayNanoseconds(beforeRetry: 30) == 5_000 * Self.ms)
        var low = RetryPolicy.default
        low.random = { 0 }
        #expect(low.delayNanoseconds(beforeRetry: 30) == 3_750 * Self.ms)
    }

    @Test func zeroValuesFallBack() {
        let policy = RetryPolicy(
            maxAttempts: 0, initialBackoff: .zero, maxBackoff: .zero, multiplier: 0, jitter: 0)
        #expect(policy.effectiveMaxAttempts == 1)
        #expect(policy.delayNanoseconds(beforeRetry: 1) == 100 * Self.ms)
        #expect(policy.delayNanoseconds(beforeRetry: 2) == 200 * Self.ms)
        #expect(policy.delayNanoseconds(beforeRetry: 20) == 10_000 * Self.ms)
    }

    // MARK: - Running

    private static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    private func run(
        _ policy: RetryPolicy, failures: [any Error]
    ) async -> (attempts: Int, sleeps: [UInt64], error: (any Error)?) {
        let clock = RecordingClock()
        let attempts = Box(0)
        do {
            try await policy.run(clock: clock.engineClock, logger: Self.quiet) {
                let attempt = attempts.update { value -> Int in
                    value += 1
                    return value
                }
                if attempt <= failures.count { throw failures[attempt - 1] }
            }
            return (attempts.get, clock.sleeps, nil)
        } catch {
            return (attempts.get, clock.sleeps, error)
        }
    }

    @Test func retriesRetryableErrorsUpToMaxAttemptsWithBackoff() async {
        let overloaded = StreamKitError(code: .overloaded, message: "busy")
        let outcome = await run(noJitter(.default), failures: Array(repeating: overloaded, count: 10))
        #expect(outcome.attempts == 5)
        #expect(outcome.sleeps.map { $0 / Self.ms } == [100, 200, 400, 800])
        #expect((outcome.error as? StreamKitError)?.code == .overloaded)
    }

    @Test func succeedsAfterTransientFailures() async {
        let unavailable = StreamKitError(code: .storeUnavailable, message: "breaker open")
        let outcome = await run(noJitter(.default), failures: [unavailable, unavailable])
        #expect(outcome.attempts == 3)
        #expect(outcome.error == nil)
        #expect(outcome.sleeps.count == 2)
    }

    @Test(arguments: [StreamKitError.Code.invalidArgument, .notFound, .unauthorized, .sequenceConflict, .storage])
    func neverRetriesPermanentCodes(_ code: StreamKitError.Code) async {
        let outcome = await run(
            .default, failures: [StreamKitError(code: code, message: "service unavailable, timeout")])
        #expect(outcome.attempts == 1)
        #expect(outcome.sleeps.isEmpty)
    }

    @Test func neverRetriesByMessageTextOrCancellation() async {
        struct Foreign: Error, CustomStringConvertible { var description: String { "connection refused: 503 timeout" } }
        #expect(await run(.default, failures: [Foreign()]).attempts == 1)
        #expect(await run(.default, failures: [CancellationError()]).attempts == 1)
    }

    // MARK: - Through the client

    @Test func clientRetriesRetryableOpenFailures() async throws {
        let clock = RecordingClock()
        let opens = Box(0)
        var configuration = RegistryConfiguration()
        configuration.store.logger = Self.quiet
        configuration.inMemory = true
        configuration.opener = { id, _, storeConfiguration in
            let attempt = opens.update { value -> Int in
                value += 1
                return value
            }
            if attempt <= 2 { throw StreamKitError(code: .overloaded, message: "warming up") }
            return Store.inMemory(id: id, configuration: storeConfiguration)
        }
        let registry = StoreRegistry(root: "/nonexistent", configuration: configuration)
        var policy = RetryPolicy.default
        policy.jitter = 0
        let client = StreamKitClient(
            transport: .inProcess(registry),
            configuration: ClientConfiguration(retryPolicy: policy, clock: clock.engineClock, logger: Self.quiet))
        let status = try await client.publish(store: UUID(), space: "s", segment: "g", payload: [1])
        #expect(status.lastSequence == 1)
        #expect(opens.get == 3)
        #expect(clock.sleeps.map { $0 / Self.ms } == [100, 200])
        await client.close()
        await registry.shutdown()
    }

    @Test func clientDoesNotRetryPermanentOpenFailures() async {
        let clock = RecordingClock()
        let opens = Box(0)
        var configuration = RegistryConfiguration()
        configuration.store.logger = Self.quiet
        configuration.opener = { _, _, _ in
            opens.update { $0 += 1 }
            throw StreamKitError(code: .corrupt, message: "bad block")
        }
        let registry = StoreRegistry(root: "/nonexistent", configuration: configuration)
        let client = StreamKitClient(
            transport: .inProcess(registry),
            configuration: ClientConfiguration(clock: clock.engineClock, logger: Self.quiet))
        let code = await errorCode { _ = try await client.peek(store: UUID(), space: "s", segment: "g") }
        #expect(code == .corrupt)
        #expect(opens.get == 1)
        #expect(clock.sleeps.isEmpty)
        await client.close()
        await registry.shutdown()
    }
}

/// `import StreamKitClient` also brings the processing operators: each retry policy has a name of its own, so both
/// are reachable unqualified (before, Processing's `RetryPolicy` was shadowed by the client's).
struct RetryPolicyNamesTests {
    private struct Once: Error {}

    @Test func theClientsAndTheOperatorsRetryPoliciesAreBothReachableByName() async throws {
        let opening: RetryPolicy = .none
        let items = ItemRetryPolicy(maxAttempts: 2, initialDelay: .zero)

        let value = try await items.run { attempt in
            if attempt == 1 { throw Once() }
            return attempt * 10
        }

        #expect(opening.maxAttempts == 1)
        #expect(value == 20)
    }
}
