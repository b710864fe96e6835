import StreamKitProcessing
import Testing

@Suite("pipelines of several operators", .timeLimit(.minutes(1)))
struct PipelineTests {
    @Test("a failure raised early reaches the dead-letter output with its original item, through every stage")
    func failureFlowsThroughEveryStage() async {
        let clock = ManualClock()
        let split = CountingSource(20).items { ["offset": .int($0)] }
            .mapValues(stage: "parse") { value -> Int in
                if value == 7 { throw TestError(id: 7) }
                return value
            }
            .filterValues { $0 != 3 }
            .concurrentMap(workers: 3) { $0 * 10 }
            .buffer(.block(capacity: 4))
            .debounce(for: .zero, clock: clock)
            .throttle(for: .zero, clock: clock)
            .dedupe(by: { $0 })
            .splitDeadLetters()
        let successes = Collector(split.successes)
        let deadLetters = Collector(split.deadLetters)

        let values = await successes.rest()
        let dead = await deadLetters.rest()

        #expect(values.count == 18)
        #expect(dead.count == 1)
        #expect(dead.first?.failure?.item(as: Int.self) == 7)
        #expect(dead.first?.failure?.stage == "parse")
        #expect(dead.first?.metadata["offset"] == 7)
        #expect(values.allSatisfy { $0.metadata["offset"]?.intValue.map { $0 * 10 } == $0.value })
    }

    @Test("cancelling the consumer of a long pipeline stops every stage, timers included, and releases the source")
    func cancellationStopsEverything() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(
            source.items()
                .mapValues { $0 + 1 }
                .concurrentMap(workers: 2) { $0 }
                .buffer(.dropOldest(capacity: 8))
                .batch(size: 2, latency: .seconds(5), clock: clock)
                .flatten()
                .monitor(every: .seconds(1), clock: clock) { _ in }
                .tumblingWindows(of: .seconds(10), clock: clock)
        )
        await source.send(1)
        // The batch timer (one value pending) and the monitor timer sleep; the window has no value yet.
        #expect(await eventually { clock.sleeperCount == 2 })

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { clock.sleeperCount == 0 })
    }

    @Test("leaving the loop early (take) stops a pipeline with background stages")
    func earlyExitStops() async {
        let source = TestSource<Int>()
        let pipeline = source.items()
            .concurrentMap(workers: 2) { $0 }
            .buffer(.block(capacity: 4))
            .take(2)
        let collector = Collector(pipeline)

        source.yield(1)
        source.yield(2)
        source.yield(3)

        #expect(await collector.rest().compactMap(\.value) == [1, 2])
        await source.waitForTermination()
    }

    @Test("fan-in of partitions gives back every value exactly once")
    func partitionThenFanIn() async {
        let partitions = CountingSource(300).items().partition(into: 3, by: .hash { String($0) })

        let merged = await collect(fanIn(partitions.outputs))

        #expect(merged.compactMap(\.value).sorted() == Array(0..<300))
    }
}
