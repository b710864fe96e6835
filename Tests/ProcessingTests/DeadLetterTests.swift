import StreamKitProcessing
import Testing

@Suite("splitDeadLetters and retryFailures", .timeLimit(.minutes(1)))
struct DeadLetterTests {
    // MARK: - splitDeadLetters

    @Test("successes and failures go to separate outputs, failures with item, stage and metadata", arguments: 0...3)
    func split(position: Int) async {
        var source = [1, 2, 3].map { StreamItem($0, metadata: ["n": .int($0)]) }
        source.insert(
            StreamItem(failure: ItemFailure(TestError(id: 0), item: "raw", stage: "decode"), metadata: ["n": -1]),
            at: position
        )
        let split = ItemSource(source).splitDeadLetters()
        let successes = Collector(split.successes)
        let deadLetters = Collector(split.deadLetters)

        let values = await successes.rest()
        let failures = await deadLetters.rest()

        #expect(values.compactMap(\.value) == [1, 2, 3])
        #expect(failures.count == 1)
        #expect(failures.first?.failure?.item(as: String.self) == "raw")
        #expect(failures.first?.failure?.stage == "decode")
        #expect(failures.first?.metadata["n"] == -1)
    }

    @Test("a slow dead-letter consumer slows the pipeline instead of losing failures")
    func slowDeadLetterConsumerLosesNothing() async {
        let source = ItemSource((0..<50).map { $0.isMultiple(of: 2) ? StreamItem($0) : failureItem($0) })
        let split = source.splitDeadLetters(successes: .block(capacity: 2), deadLetters: .block(capacity: 2))
        let successes = Collector(split.successes)
        var deadLetters = split.deadLetters.makeAsyncIterator()

        #expect(await deadLetters.next() != nil)
        await settle { split.droppedDeadLetters.value }
        var failures = 1
        while await deadLetters.next() != nil { failures += 1 }

        #expect(failures == 25)
        #expect(await successes.rest().count == 25)
        #expect(split.droppedDeadLetters.value == 0)
    }

    @Test("an empty input ends both outputs")
    func empty() async {
        let split = items([]).splitDeadLetters()
        #expect(await collect(split.successes).isEmpty)
        #expect(await collect(split.deadLetters).isEmpty)
    }

    @Test("cancelling both consumers stops the input")
    func cancellation() async {
        let source = TestSource<Int>()
        let split = source.items().splitDeadLetters()
        let successes = Collector(split.successes)
        let deadLetters = Collector(split.deadLetters)
        await source.send(1)
        #expect(await successes.next()?.value == 1)

        successes.cancel()
        deadLetters.cancel()

        await source.waitForTermination()
    }

    // MARK: - retryFailures

    @Test("a failure recovered by a retry continues as a success with its metadata")
    func retryRecovers() async {
        let clock = ManualClock()
        let policy = ItemRetryPolicy(maxAttempts: 3, initialDelay: .seconds(1), jitter: 0)
        let calls = Box(0)
        let source = ItemSource([
            StreamItem(1),
            StreamItem(failure: ItemFailure(TestError(id: 1), item: 41, stage: "call"), metadata: ["m": 1]),
        ])
        let collector = Collector(
            source.retryFailures(policy, clock: clock) { failure in
                calls.mutate { $0 += 1 }
                if calls.value < 2 { throw TestError(id: 2) }
                return (failure.item(as: Int.self) ?? 0) + 1
            }
        )

        #expect(await collector.next()?.value == 1)
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(1))
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(2))
        let recovered = await collector.next()

        #expect(recovered?.value == 42)
        #expect(recovered?.metadata["m"] == 1)
        #expect(calls.value == 2)
    }

    @Test("a failure that keeps failing continues with its attempt count and last error, then dead-letters")
    func retryExhausted() async {
        let clock = ManualClock()
        let policy = ItemRetryPolicy(maxAttempts: 3, initialDelay: .seconds(1), multiplier: 2, jitter: 0)
        let source = ItemSource([StreamItem<Int>(failure: ItemFailure(TestError(id: 0), item: 7, stage: "call"))])
        let split = source.retryFailures(policy, clock: clock) { failure in
            throw TestError(id: failure.attempts)
        }.splitDeadLetters()
        let deadLetters = Collector(split.deadLetters)
        let successes = Collector(split.successes)

        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(1))
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(2))
        let dead = await deadLetters.next()?.failure

        #expect(dead?.attempts == 3)
        #expect(dead?.error as? TestError == TestError(id: 2))
        #expect(dead?.item(as: Int.self) == 7)
        #expect(await successes.rest().isEmpty)
    }

    @Test("errors the policy does not retry pass at once, untouched")
    func nonRetryable() async {
        let clock = ManualClock()
        let policy = ItemRetryPolicy(shouldRetry: { ($0 as? TestError)?.id != 9 })
        let source = ItemSource([StreamItem<Int>(failure: ItemFailure(TestError(id: 9), stage: "call"))])

        let result = await collect(source.retryFailures(policy, clock: clock) { _ in 0 })

        #expect(result.first?.failure?.attempts == 1)
    }

    @Test("values pass retryFailures untouched; an empty input ends")
    func valuesPass() async {
        let clock = ManualClock()
        #expect(
            await collect(items([1, 2]).retryFailures(.never, clock: clock) { _ in 0 }).compactMap(\.value) == [1, 2]
        )
        #expect(await collect(items([]).retryFailures(.never, clock: clock) { _ in 0 }).isEmpty)
    }

    @Test("cancelling the consumer during a retry wait ends the sequence")
    func retryCancellation() async {
        let clock = ManualClock()
        let source = TestSource<StreamItem<Int>>()
        let collector = Collector(
            source.retryFailures(ItemRetryPolicy(initialDelay: .seconds(60)), clock: clock) { _ in 0 }
        )
        source.yield(failureItem())
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await collector.waitForEnd()
        await source.waitForTermination()
        #expect(clock.sleeperCount == 0)
    }
}
