import StreamKitProcessing
import Testing

@Suite("chunk, flatten, batch", .timeLimit(.minutes(1)))
struct GroupingTests {
    // MARK: - chunk

    @Test(
        "chunk groups by size, lets failures bypass at every position and flushes the partial chunk",
        arguments: 0...3
    )
    func chunkFailureBypass(position: Int) async {
        let expected: [[String]] = [
            ["!upstream", "[1, 2]", "[3]"],
            ["!upstream", "[1, 2]", "[3]"],
            ["[1, 2]", "!upstream", "[3]"],
            ["[1, 2]", "!upstream", "[3]"],
        ]

        let result = await collect(items([1, 2, 3], failureAt: position).chunk(size: 2))

        #expect(describe(result) == expected[position])
    }

    @Test("chunk of an empty sequence is empty; size below 1 counts as 1")
    func chunkBoundaries() async {
        #expect(await collect(items([]).chunk(size: 3)).isEmpty)
        #expect(describe(await collect(items([1, 2]).chunk(size: 0))) == ["[1]", "[2]"])
    }

    // MARK: - flatten

    @Test("flatten delivers each element with its container's metadata; failures pass; empty containers vanish")
    func flattenElements() async {
        let source = ItemSource<[Int]>([
            StreamItem([1, 2], metadata: ["batch": 1]),
            StreamItem([]),
            StreamItem(failure: ItemFailure(TestError(id: 0), stage: "upstream")),
            StreamItem([3], metadata: ["batch": 2]),
        ])

        let result = await collect(source.flatten())

        #expect(describe(result) == ["1", "2", "!upstream", "3"])
        #expect(result.map { $0.metadata["batch"] } == [1, 1, nil, 2])
    }

    @Test("chunk then flatten gives back the original values")
    func chunkFlattenRoundTrip() async {
        let result = await collect(CountingSource(10).items().chunk(size: 3).flatten())

        #expect(result.compactMap(\.value) == Array(0..<10))
    }

    // MARK: - batch

    @Test("batch delivers a full batch at size without waiting for the clock")
    func batchBySize() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().batch(size: 3, latency: .seconds(10), clock: clock))

        await source.send(contentsOf: [1, 2, 3])

        #expect(await collector.next()?.value == [1, 2, 3])
    }

    @Test("batch latency counts from the first value of the batch, not the last")
    func batchLatencyFromFirst() async {
        let clock = ManualClock()
        let source = TestSource<StreamItem<Int>>()
        let collector = Collector(source.batch(size: 100, latency: .seconds(10), clock: clock))

        await source.send(StreamItem(1))
        clock.advance(by: .seconds(4))
        await source.send(StreamItem(2))
        clock.advance(by: .seconds(5))
        // t = 9 s: the batch is not due; a failure sent now bypasses it and comes out first.
        await source.send(failureItem())

        #expect(await collector.next()?.failure != nil)
        clock.advance(by: .seconds(1))
        #expect(await collector.next()?.value == [1, 2])
    }

    @Test("batch lets failures bypass at every position and flushes the partial batch at the end", arguments: 0...3)
    func batchFailureBypass(position: Int) async {
        let clock = ManualClock()
        let expected: [[String]] = [
            ["!upstream", "[1, 2]", "[3]"],
            ["!upstream", "[1, 2]", "[3]"],
            ["[1, 2]", "!upstream", "[3]"],
            ["[1, 2]", "!upstream", "[3]"],
        ]

        let result = await collect(
            items([1, 2, 3], failureAt: position).batch(size: 2, latency: .seconds(60), clock: clock)
        )

        #expect(describe(result) == expected[position])
    }

    @Test("batch of an empty sequence is empty; a latency of zero means size only")
    func batchBoundaries() async {
        let clock = ManualClock()
        #expect(await collect(items([]).batch(size: 2, latency: .seconds(1), clock: clock)).isEmpty)
        #expect(
            describe(await collect(items([1, 2, 3]).batch(size: 2, latency: .zero, clock: clock))) == ["[1, 2]", "[3]"]
        )
    }

    @Test("batch keeps emitting on an endless source as the clock advances")
    func batchEndless() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().batch(size: 100, latency: .seconds(1), clock: clock))

        for round in 0..<3 {
            await source.send(round)
            clock.advance(by: .seconds(1))
            #expect(await collector.next()?.value == [round])
        }
    }

    @Test("cancelling the consumer mid-batch stops the pump and the timer and releases the source")
    func batchCancellation() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().batch(size: 10, latency: .seconds(5), clock: clock))
        await source.send(1)
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { clock.sleeperCount == 0 })
    }

    @Test("a slow consumer makes batch stop pulling: a bounded number of values is read ahead")
    func batchBackpressure() async {
        let clock = ManualClock()
        let source = CountingSource(100_000)
        var iterator = source.items().batch(size: 10, latency: .seconds(60), clock: clock).makeAsyncIterator()

        let first = await iterator.next()
        await settle { source.counter.value }

        #expect(first?.value == Array(0..<10))
        // One batch delivered, at most two waiting, one being filled, one value in hand.
        #expect(source.counter.value <= 41)
    }
}
