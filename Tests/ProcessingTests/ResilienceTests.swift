import StreamKitProcessing
import StreamKitTestSupport
import Testing

@Suite("ItemRetryPolicy and CircuitBreaker", .timeLimit(.minutes(1)))
struct ResilienceTests {
    // MARK: - ItemRetryPolicy

    @Test("backoff starts at the initial delay, grows by the multiplier and stops at the cap")
    func backoffWithoutJitter() {
        let policy = ItemRetryPolicy(
            initialDelay: .milliseconds(100),
            multiplier: 2,
            maxDelay: .milliseconds(500),
            jitter: 0
        )

        let delays = (1...5).map { policy.delay(beforeRetry: $0) }

        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500),
            ]
        )
    }

    @Test("jitter keeps each delay within [1 - jitter, 1] of the backoff")
    func jitterBounds() {
        let policy = ItemRetryPolicy(initialDelay: .seconds(1), jitter: 0.5)
        var generator = SplitMix64(seed: 7)

        let delays = (0..<200).map { _ in policy.delay(beforeRetry: 1, using: &generator) }

        #expect(delays.allSatisfy { $0 >= .milliseconds(500) && $0 <= .seconds(1) })
        #expect(Set(delays).count > 100)
    }

    @Test("out-of-range settings are clamped instead of trapping")
    func clamping() {
        let policy = ItemRetryPolicy(maxAttempts: 0, initialDelay: .seconds(-1), multiplier: .nan, jitter: 7)

        #expect(policy.maxAttempts == 1)
        #expect(policy.initialDelay == .zero)
        #expect(policy.multiplier == 1)
        #expect(policy.jitter == 1)
    }

    @Test("run retries until success, waiting the backoff on the clock")
    func runRetries() async throws {
        let clock = ManualClock()
        let policy = ItemRetryPolicy(maxAttempts: 4, initialDelay: .seconds(1), jitter: 0)
        let task = Task {
            try await policy.run(clock: clock) { attempt in
                if attempt < 3 { throw TestError(id: attempt) }
                return attempt
            }
        }

        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(1))
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(2))

        #expect(try await task.value == 3)
    }

    @Test("run rethrows the last error when attempts run out or the classifier refuses")
    func runGivesUp() async {
        let clock = ManualClock()
        let refuse = ItemRetryPolicy(maxAttempts: 5, shouldRetry: { _ in false })
        let once = ItemRetryPolicy.never

        await #expect(throws: TestError(id: 1)) {
            try await refuse.run(clock: clock) { attempt -> Int in throw TestError(id: attempt) }
        }
        await #expect(throws: TestError(id: 1)) {
            try await once.run(clock: clock) { attempt -> Int in throw TestError(id: attempt) }
        }
    }

    @Test("cancellation is never retried")
    func cancellationNotRetried() {
        #expect(!ItemRetryPolicy(maxAttempts: 9).allowsRetry(after: CancellationError(), attempts: 1))
        #expect(ItemRetryPolicy(maxAttempts: 9).allowsRetry(after: TestError(id: 0), attempts: 1))
        #expect(!ItemRetryPolicy(maxAttempts: 2).allowsRetry(after: TestError(id: 0), attempts: 2))
    }

    // MARK: - CircuitBreaker

    private func fail(_ breaker: CircuitBreaker<ManualClock>, times: Int) async {
        for _ in 0..<times {
            _ = try? await breaker.run { () async throws -> Int in throw TestError(id: 0) }
        }
    }

    private func succeed(_ breaker: CircuitBreaker<ManualClock>, times: Int) async {
        for _ in 0..<times {
            _ = try? await breaker.run { 1 }
        }
    }

    @Test("the breaker stays closed below the minimum requests, then opens at the failure-rate threshold")
    func opensAtThreshold() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: .init(failureRateThreshold: 0.5, minimumRequests: 4), clock: clock)

        await fail(breaker, times: 3)
        #expect(breaker.state == .closed)
        await succeed(breaker, times: 1)
        #expect(breaker.state == .closed)
        await fail(breaker, times: 1)

        #expect(breaker.state == .open)
        #expect(breaker.statistics.timesOpened == 1)
    }

    @Test("an open breaker rejects at once with circuitOpen and the time left")
    func rejectsWhenOpen() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: .init(minimumRequests: 1, openTimeout: .seconds(30)), clock: clock)
        await fail(breaker, times: 1)
        clock.advance(by: .seconds(10))
        let called = Box(false)

        await #expect {
            try await breaker.run { called.mutate { $0 = true } }
        } throws: { error in
            let error = error as? ProcessingError
            return error?.code == .circuitOpen && error?.retryAfter == .seconds(20)
        }
        #expect(!called.value)
        #expect(breaker.statistics.rejected == 1)
    }

    @Test("after the open timeout the breaker is half-open; all trials succeeding closes it")
    func halfOpenCloses() async {
        let clock = ManualClock()
        let changes = Box<[String]>([])
        let breaker = CircuitBreaker(
            configuration: .init(minimumRequests: 1, openTimeout: .seconds(30), halfOpenTrials: 2),
            clock: clock
        ) { old, new in changes.mutate { $0.append("\(old)->\(new)") } }
        await fail(breaker, times: 1)

        clock.advance(by: .seconds(30))
        #expect(breaker.state == .halfOpen)
        await succeed(breaker, times: 2)

        #expect(breaker.state == .closed)
        #expect(changes.value == ["closed->open", "open->halfOpen", "halfOpen->closed"])
    }

    @Test("a failed trial reopens the breaker; extra calls during half-open are rejected")
    func halfOpenReopens() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(
            configuration: .init(minimumRequests: 1, openTimeout: .seconds(5), halfOpenTrials: 1),
            clock: clock
        )
        await fail(breaker, times: 1)
        clock.advance(by: .seconds(5))
        let gate = Gate()
        let trial = Task {
            try await breaker.run {
                await gate.pass(1)
                return 1
            }
        }
        #expect(await eventually { gate.started.count == 1 })

        await #expect(throws: ProcessingError.self) { try await breaker.run { 2 } }
        gate.release(1)
        #expect(try await trial.value == 1)
        #expect(breaker.state == .closed)

        await fail(breaker, times: 1)
        clock.advance(by: .seconds(5))
        await fail(breaker, times: 1)
        #expect(breaker.state == .open)
    }

    @Test("the rolling window forgets outcomes older than its span")
    func rollingWindow() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(
            configuration: .init(
                failureRateThreshold: 0.5,
                minimumRequests: 4,
                rollingWindow: .seconds(10),
                windowBuckets: 10
            ),
            clock: clock
        )
        await fail(breaker, times: 3)
        #expect(breaker.statistics.failures == 3)

        clock.advance(by: .seconds(10))
        await succeed(breaker, times: 3)
        await fail(breaker, times: 1)

        #expect(breaker.state == .closed)
        #expect(breaker.statistics.successes == 3)
        #expect(breaker.statistics.failures == 1)
        #expect(breaker.statistics.failureRate == 0.25)
    }

    @Test("errors the classifier ignores count as neither success nor failure")
    func ignoredErrors() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: .init(minimumRequests: 1, isFailure: { _ in false }), clock: clock)

        await fail(breaker, times: 5)

        #expect(breaker.state == .closed)
        #expect(breaker.statistics.failures == 0)
        #expect(breaker.statistics.successes == 0)
    }

    @Test("reset closes an open breaker")
    func reset() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: .init(minimumRequests: 1), clock: clock)
        await fail(breaker, times: 1)

        breaker.reset()

        #expect(breaker.state == .closed)
    }

    @Test("inside concurrentMap, a rejected call becomes a failed item carrying its input")
    func breakerInPipeline() async {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: .init(minimumRequests: 1), clock: clock)
        await fail(breaker, times: 1)

        let result = await collect(items([5]).concurrentMap(workers: 1) { value in try await breaker.run { value } })

        #expect(result.first?.failure?.item(as: Int.self) == 5)
        #expect((result.first?.failure?.error as? ProcessingError)?.code == .circuitOpen)
    }
}
