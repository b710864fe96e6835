import StreamKitProcessing
import Testing

@Suite("concurrentMap", .timeLimit(.minutes(1)))
struct ConcurrentMapTests {
    @Test("ordered mode delivers results in input order even when later items finish first")
    func orderedDelivery() async {
        let gate = Gate()
        let collector = Collector(
            CountingSource(3).items().concurrentMap(workers: 3) { value in
                await gate.pass(value)
                return value * 10
            }
        )
        #expect(await eventually { gate.started.count == 3 })

        gate.release(2)
        gate.release(1)
        gate.release(0)

        #expect(await collector.rest().map(\.value) == [0, 10, 20])
    }

    @Test("unordered mode delivers results as they complete")
    func unorderedDelivery() async {
        let gate = Gate()
        let collector = Collector(
            CountingSource(3).items().concurrentMap(workers: 3, ordered: false) { value in
                await gate.pass(value)
                return value
            }
        )
        #expect(await eventually { gate.started.count == 3 })

        gate.release(2)
        #expect(await collector.next()?.value == 2)
        gate.release(0)
        #expect(await collector.next()?.value == 0)
        gate.release(1)
        #expect(await collector.next()?.value == 1)
        #expect(await collector.next() == nil)
    }

    @Test("no more than `workers` transforms run at once")
    func workerLimit() async {
        let gate = Gate()
        let collector = Collector(
            CountingSource(8).items().concurrentMap(workers: 2, bufferLimit: 8) { value in
                await gate.pass(value)
                return value
            }
        )

        for value in 0..<8 {
            #expect(await eventually { gate.started.contains(value) })
            gate.release(value)
        }

        #expect(await collector.rest().compactMap(\.value) == Array(0..<8))
        #expect(gate.maxRunning <= 2)
    }

    @Test("a slow item bounds the reorder buffer: the input is not pulled beyond bufferLimit")
    func slowItemBoundsMemory() async {
        let gate = Gate()
        let source = CountingSource(1_000)
        let collector = Collector(
            source.items().concurrentMap(workers: 4, bufferLimit: 6) { value in
                if value == 0 { await gate.pass(0) }
                return value
            }
        )

        await settle { source.counter.value }
        #expect(source.counter.value <= 6)
        #expect(collector.buffered == 0)

        gate.release(0)
        #expect(await collector.rest().count == 1_000)
    }

    @Test("a slow consumer bounds unordered results as well")
    func slowConsumerUnordered() async {
        let source = CountingSource(1_000)
        var iterator = source.items().concurrentMap(workers: 2, ordered: false, bufferLimit: 5) { $0 }
            .makeAsyncIterator()

        _ = await iterator.next()
        await settle { source.counter.value }

        #expect(source.counter.value <= 6)
    }

    @Test("a thrown error becomes a failure carrying the input; metadata is kept", arguments: 0..<4)
    func throwAtEveryPosition(position: Int) async {
        let result = await collect(
            CountingSource(4).items { ["n": .int($0)] }.concurrentMap(workers: 2, stage: "enrich") { value -> Int in
                if value == position { throw TestError(id: value) }
                return value
            }
        )

        #expect(result.count == 4)
        #expect(result[position].failure?.item(as: Int.self) == position)
        #expect(result[position].failure?.stage == "enrich")
        #expect(result.map { $0.metadata["n"]?.intValue } == [0, 1, 2, 3])
    }

    @Test("upstream failures keep their place in ordered output", arguments: 0...3)
    func upstreamFailuresInOrder(position: Int) async {
        let result = await collect(items([1, 2, 3], failureAt: position).concurrentMap(workers: 3) { $0 })

        #expect(result.count == 4)
        #expect(result[position].failure?.stage == "upstream")
    }

    @Test("an empty input ends at once")
    func emptyInput() async {
        #expect(await collect(items([]).concurrentMap(workers: 4) { $0 }).isEmpty)
    }

    @Test("cancelling the consumer cancels the pump and every running transform")
    func cancellation() async {
        let source = TestSource<Int>()
        let clock = ManualClock()
        let cancelled = Box(0)
        let collector = Collector(
            source.items().concurrentMap(workers: 2) { value -> Int in
                do {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(3_600)))
                } catch {
                    cancelled.mutate { $0 += 1 }
                }
                return value
            }
        )
        await source.send(1)
        await source.send(2)
        #expect(await clock.waitForSleepers(2))

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { cancelled.value == 2 })
    }
}
