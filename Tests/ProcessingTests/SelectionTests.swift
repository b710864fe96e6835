import StreamKitProcessing
import StreamKitTestSupport
import Testing

@Suite("take, skip, sample, dedupe")
struct SelectionTests {
    // MARK: - take

    @Test("take delivers the first n values, failures among them pass and do not count", arguments: 0...2)
    func takeCountsValuesOnly(position: Int) async {
        let result = await collect(items([1, 2, 3, 4], failureAt: position).take(3))

        #expect(result.compactMap(\.value) == [1, 2, 3])
        #expect(result.filter { !$0.isSuccess }.count == 1)
    }

    @Test("take ends at the nth value: a failure after it is not delivered")
    func takeEndsBeforeLaterFailure() async {
        let result = await collect(items([1, 2, 3, 4], failureAt: 3).take(3))

        #expect(describe(result) == ["1", "2", "3"])
    }

    @Test("take ends right after the nth value and releases the upstream without pulling more")
    func takeStopsPulling() async {
        let source = CountingSource(1_000)

        let result = await collect(source.items().take(2))

        #expect(result.map(\.value) == [0, 1])
        #expect(source.counter.value == 2)
    }

    @Test("take(0) and take of an empty sequence deliver nothing")
    func takeBoundaries() async {
        let source = CountingSource(10)
        #expect(await collect(source.items().take(0)).isEmpty)
        #expect(source.counter.value == 0)
        #expect(await collect(items([]).take(3)).isEmpty)
    }

    @Test("take cancels a background stage upstream when it has enough")
    func takeCancelsBackgroundUpstream() async {
        let source = TestSource<Int>()
        let collector = Collector(source.items().buffer(.block(capacity: 4)).take(1))

        source.yield(1)
        #expect(await collector.next()?.value == 1)

        #expect(await collector.next() == nil)
        await source.waitForTermination()
    }

    // MARK: - skip

    @Test("skip drops the first n values and keeps every failure", arguments: 0...3)
    func skipKeepsFailures(position: Int) async {
        let result = await collect(items([1, 2, 3], failureAt: position).skip(2))

        #expect(result.compactMap(\.value) == [3])
        #expect(result.filter { !$0.isSuccess }.count == 1)
    }

    @Test("skip of more than there is, or of an empty sequence, delivers only failures")
    func skipBoundaries() async {
        #expect(await collect(items([1, 2]).skip(5)).isEmpty)
        #expect(await collect(items([]).skip(1)).isEmpty)
        #expect(await collect(items([1]).skip(-1)).compactMap(\.value) == [1])
    }

    // MARK: - sample

    @Test("sample with rate 1 keeps everything and with rate 0 only failures")
    func sampleExtremes() async {
        let all = await collect(items([1, 2, 3], failureAt: 1).sample(rate: 1))
        let none = await collect(items([1, 2, 3], failureAt: 1).sample(rate: 0))
        let nan = await collect(items([1, 2, 3]).sample(rate: .nan))

        #expect(all.count == 4)
        #expect(describe(none) == ["!upstream"])
        #expect(nan.isEmpty)
    }

    @Test("sample with a seeded generator keeps a reproducible share close to the rate")
    func sampleReproducible() async {
        let source = CountingSource(2_000).items()

        let first = await collect(source.sample(rate: 0.25, using: SplitMix64(seed: 42))).compactMap(\.value)
        let second = await collect(source.sample(rate: 0.25, using: SplitMix64(seed: 42))).compactMap(\.value)

        #expect(first == second)
        #expect((400...600).contains(first.count))
    }

    // MARK: - dedupe

    @Test("dedupe drops repeated keys and counts them; failures pass", arguments: 0...5)
    func dedupeDropsDuplicates(position: Int) async {
        let dropped = ItemCounter()

        let result = await collect(items([1, 2, 1, 3, 2], failureAt: position).dedupe(by: { $0 }, dropped: dropped))

        #expect(result.compactMap(\.value) == [1, 2, 3])
        #expect(result.filter { !$0.isSuccess }.count == 1)
        #expect(dropped.value == 2)
    }

    @Test("dedupe lets a key through again once its TTL has passed on the clock")
    func dedupeTTL() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().dedupe(by: { $0 }, ttl: .seconds(10), clock: clock))

        await source.send(7)
        clock.advance(by: .seconds(9))
        await source.send(7)
        clock.advance(by: .seconds(1))
        await source.send(7)
        source.finish()

        #expect(await collector.rest().compactMap(\.value) == [7, 7])
    }

    @Test("dedupe remembers at most `capacity` keys, forgetting the oldest first")
    func dedupeCapacity() async {
        let result = await collect(items([1, 2, 3, 1, 3]).dedupe(by: { $0 }, capacity: 2))

        #expect(result.compactMap(\.value) == [1, 2, 3, 1])
    }

    @Test("dedupe of an empty sequence is empty")
    func dedupeEmpty() async {
        #expect(await collect(items([]).dedupe(by: { $0 })).isEmpty)
    }

    // MARK: - Slow consumer

    @Test("take, skip, sample and dedupe pull only what the consumer asks for")
    func pullOnDemand() async {
        let source = CountingSource(1_000)
        var iterator = source.items().skip(2).take(100).sample(rate: 1).dedupe(by: { $0 }).makeAsyncIterator()

        let first = await iterator.next()
        let second = await iterator.next()

        #expect(first?.value == 2)
        #expect(second?.value == 3)
        #expect(source.counter.value == 4)
    }

    // MARK: - Cancellation

    @Test("cancelling the consumer mid-way stops take, skip, sample and dedupe and releases the source")
    func cancellation() async {
        let source = TestSource<Int>()
        let collector = Collector(source.items().skip(1).take(10).sample(rate: 1).dedupe(by: { $0 }))
        await source.send(1)
        await source.send(2)
        #expect(await collector.next()?.value == 2)

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
    }
}
