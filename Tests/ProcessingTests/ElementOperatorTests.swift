import StreamKitProcessing
import Testing

@Suite("items, mapValues, filterValues, tap")
struct ElementOperatorTests {
    // MARK: - items()

    @Test("items() lifts every element into a successful item with the computed metadata")
    func liftAddsMetadata() async {
        let source = CountingSource(3).items { ["n": .int($0)] }

        let result = await collect(source)

        #expect(result.map(\.value) == [0, 1, 2])
        #expect(result.map { $0.metadata["n"] } == [0, 1, 2])
    }

    @Test("items() turns a thrown error into one final failure and ends")
    func liftThrowingSource() async {
        let (stream, continuation) = AsyncThrowingStream<Int, any Error>.makeStream()
        continuation.yield(1)
        continuation.finish(throwing: TestError(id: 7))

        let result = await collect(stream.items(stage: "feed"))

        #expect(describe(result) == ["1", "!feed"])
        #expect(result.last?.failure?.error as? TestError == TestError(id: 7))
    }

    @Test("items() of an empty sequence is empty")
    func liftEmpty() async {
        #expect(await collect(CountingSource(0).items()).isEmpty)
    }

    // MARK: - mapValues

    @Test("mapValues transforms values in order and keeps metadata")
    func mapTransforms() async {
        let source = CountingSource(4).items { _ in ["k": "v"] }

        let result = await collect(source.mapValues { $0 * 10 })

        #expect(result.map(\.value) == [0, 10, 20, 30])
        #expect(result.allSatisfy { $0.metadata["k"] == "v" })
    }

    @Test("mapValues turns a throw into a failure with the original item and goes on", arguments: 0..<4)
    func mapThrowAtEveryPosition(position: Int) async {
        let source = CountingSource(4).items()

        let result = await collect(
            source.mapValues(stage: "boom") { value -> String in
                if value == position { throw TestError(id: value) }
                return "v\(value)"
            }
        )

        #expect(result.count == 4)
        #expect(result[position].failure?.item(as: Int.self) == position)
        #expect(result[position].failure?.stage == "boom")
        #expect(result.filter(\.isSuccess).count == 3)
    }

    @Test("mapValues forwards upstream failures unchanged at every position", arguments: 0...3)
    func mapForwardsFailures(position: Int) async {
        let result = await collect(items([1, 2, 3], failureAt: position).mapValues { $0 + 1 })

        #expect(result.count == 4)
        #expect(result[position].failure?.stage == "upstream")
        #expect(result[position].failure?.error as? TestError == TestError(id: position))
        #expect(result.compactMap(\.value) == [2, 3, 4])
    }

    @Test("mapValues over an empty sequence is empty")
    func mapEmpty() async {
        #expect(await collect(items([]).mapValues { $0 }).isEmpty)
    }

    // MARK: - filterValues

    @Test("filterValues keeps matching values and every failure", arguments: 0...4)
    func filterKeepsFailures(position: Int) async {
        let result = await collect(items([1, 2, 3, 4], failureAt: position).filterValues { $0.isMultiple(of: 2) })

        #expect(result.compactMap(\.value) == [2, 4])
        #expect(result.filter { !$0.isSuccess }.count == 1)
    }

    @Test("a throwing predicate turns the item into a failure carrying it")
    func filterThrows() async {
        let result = await collect(
            items([1, 2]).filterValues(stage: "check") { value in
                if value == 2 { throw TestError(id: 2) }
                return true
            }
        )

        #expect(describe(result) == ["1", "!check"])
        #expect(result[1].failure?.item(as: Int.self) == 2)
    }

    @Test("filterValues over an empty sequence is empty")
    func filterEmpty() async {
        #expect(await collect(items([]).filterValues { _ in true }).isEmpty)
    }

    // MARK: - tap

    @Test("tap sees every item, values and failures, in order, and passes them on", arguments: 0...2)
    func tapSeesAll(position: Int) async {
        let seen = Box<[String]>([])

        let result = await collect(
            items([1, 2], failureAt: position).tap { item in
                seen.mutate { $0.append(describe([item])[0]) }
            }
        )

        #expect(seen.value == describe(result))
        #expect(result.count == 3)
    }

    // MARK: - Cancellation and slow consumers

    @Test("cancelling the consumer mid-way ends a chain of element operators and releases the source")
    func cancellationStopsChain() async {
        let source = TestSource<Int>()
        let collector = Collector(source.items().mapValues { $0 * 2 }.filterValues { _ in true }.tap { _ in })
        await source.send(1)
        #expect(await collector.next()?.value == 2)

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(source.isTerminated)
    }

    @Test("element operators pull only what the consumer asks for (no buffering)")
    func noReadAhead() async {
        let source = CountingSource(1_000)
        var iterator = source.items().mapValues { $0 }.filterValues { _ in true }.makeAsyncIterator()

        _ = await iterator.next()
        _ = await iterator.next()

        #expect(source.counter.value == 2)
    }
}
