import StreamKitProcessing
import Testing

private func at(_ seconds: Int) -> ManualClock.Instant {
    ManualClock.Instant(offset: .seconds(seconds))
}

@Suite("tumbling and sliding windows (processing time)", .timeLimit(.minutes(1)))
struct WindowTests {
    @Test("tumbling windows close on the clock and hold the values of their span")
    func tumblingOnClock() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().tumblingWindows(of: .seconds(5), clock: clock))

        await source.send(1)
        clock.advance(by: .seconds(3))
        await source.send(2)
        clock.advance(by: .seconds(2))
        let first = await collector.next()?.value
        clock.advance(by: .seconds(2))
        await source.send(3)
        clock.advance(by: .seconds(3))
        let second = await collector.next()?.value

        #expect(first == Window(start: at(0), end: at(5), values: [1, 2]))
        #expect(second == Window(start: at(5), end: at(10), values: [3]))
    }

    @Test("tumbling windows skip empty spans and keep their alignment")
    func tumblingSkipsEmpty() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().tumblingWindows(of: .seconds(5), clock: clock))
        await source.waitForDemand()

        clock.advance(by: .seconds(12))
        await source.send(1)
        clock.advance(by: .seconds(3))

        #expect(await collector.next()?.value == Window(start: at(10), end: at(15), values: [1]))
    }

    @Test("windows let failures through at once and emit the open window when the input ends", arguments: 0...2)
    func failuresAndFlush(position: Int) async {
        let clock = ManualClock()

        let result = await collect(items([1, 2], failureAt: position).tumblingWindows(of: .seconds(5), clock: clock))

        #expect(describe(result).filter { $0.hasPrefix("!") } == ["!upstream"])
        #expect(result.compactMap(\.value).map(\.values) == [[1, 2]])
    }

    @Test("windows of an empty input: nothing")
    func emptyInput() async {
        let clock = ManualClock()
        #expect(await collect(items([]).tumblingWindows(of: .seconds(1), clock: clock)).isEmpty)
        #expect(await collect(items([]).slidingWindows(of: .seconds(2), every: .seconds(1), clock: clock)).isEmpty)
    }

    @Test("sliding windows put a value in every window covering its arrival and close in order")
    func slidingOverlap() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().slidingWindows(of: .seconds(10), every: .seconds(5), clock: clock))

        await source.send(1)
        clock.advance(by: .seconds(5))
        let first = await collector.next()?.value
        clock.advance(by: .seconds(2))
        await source.send(2)
        clock.advance(by: .seconds(3))
        let second = await collector.next()?.value
        clock.advance(by: .seconds(5))
        let third = await collector.next()?.value

        #expect(first == Window(start: at(-5), end: at(5), values: [1]))
        #expect(second == Window(start: at(0), end: at(10), values: [1, 2]))
        #expect(third == Window(start: at(5), end: at(15), values: [2]))
    }

    @Test("a clock jump closes every window that ended, earliest first")
    func clockJump() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().slidingWindows(of: .seconds(4), every: .seconds(2), clock: clock))

        await source.send(1)
        clock.advance(by: .seconds(1))
        await source.send(2)
        clock.advance(by: .seconds(30))

        #expect(await collector.next(2).compactMap(\.value?.end) == [at(2), at(4)])
    }

    @Test("cancelling the consumer stops the window's pump and timer and releases the source")
    func cancellation() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().slidingWindows(of: .seconds(4), every: .seconds(2), clock: clock))
        await source.send(1)
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { clock.sleeperCount == 0 })
    }

    @Test("aggregate computes count, sum, min, max and average per window")
    func aggregate() async {
        let clock = ManualClock()

        let result = await collect(
            items([2, 4, 9]).tumblingWindows(of: .seconds(5), clock: clock).aggregate { Double($0) }
        )

        let summary = result.first?.value
        #expect(summary?.count == 3)
        #expect(summary?.sum == 15)
        #expect(summary?.min == 2)
        #expect(summary?.max == 9)
        #expect(summary?.average == 5)
        #expect(Window<Int, Int>(start: 0, end: 1, values: []).aggregate { Double($0) }.average == nil)
    }
}

@Suite("tumbling and sliding windows (event time)")
struct EventTimeWindowTests {
    private func stamped(_ seconds: [Int]) -> ItemSource<Int> {
        ItemSource(seconds.map { StreamItem($0) })
    }

    @Test("event-time tumbling windows are aligned to the epoch and close when event time passes their end")
    func tumbling() async {
        let result = await collect(stamped([1, 2, 6, 12]).tumblingWindows(of: .seconds(5)) { .seconds($0) })

        #expect(
            result.compactMap(\.value) == [
                Window(start: .seconds(0), end: .seconds(5), values: [1, 2]),
                Window(start: .seconds(5), end: .seconds(10), values: [6]),
                Window(start: .seconds(10), end: .seconds(15), values: [12]),
            ]
        )
    }

    @Test("a value whose windows are closed becomes a lateItem failure carrying it, never dropped")
    func lateValue() async {
        let result = await collect(stamped([1, 6, 3, 7]).tumblingWindows(of: .seconds(5)) { .seconds($0) })

        #expect(result.map { $0.value?.values ?? [] } == [[1], [], [6, 7]])
        let late = result[1].failure
        #expect((late?.error as? ProcessingError)?.code == .lateItem)
        #expect(late?.item(as: Int.self) == 3)
    }

    @Test("allowed lateness keeps windows open for out-of-order values")
    func allowedLateness() async {
        let result = await collect(
            stamped([1, 6, 3, 8]).tumblingWindows(of: .seconds(5), allowedLateness: .seconds(2)) { .seconds($0) }
        )

        #expect(result.compactMap(\.value?.values) == [[1, 3], [6, 8]])
    }

    @Test("event-time sliding windows include a value in each covering window")
    func sliding() async {
        let result = await collect(
            stamped([1, 3, 9]).slidingWindows(of: .seconds(4), every: .seconds(2)) { .seconds($0) }
        )

        #expect(
            result.compactMap(\.value).map { [$0.start, $0.end] } == [
                [.seconds(-2), .seconds(2)], [.seconds(0), .seconds(4)], [.seconds(2), .seconds(6)],
                [.seconds(6), .seconds(10)], [.seconds(8), .seconds(12)],
            ]
        )
        #expect(result.compactMap(\.value?.values) == [[1], [1, 3], [3], [9], [9]])
    }

    @Test("failures pass through event-time windows at every position", arguments: 0...2)
    func failures(position: Int) async {
        let result = await collect(
            items([1, 2], failureAt: position).tumblingWindows(of: .seconds(5)) { .seconds($0) }
        )

        #expect(describe(result).filter { $0.hasPrefix("!") } == ["!upstream"])
        #expect(result.compactMap(\.value?.values) == [[1, 2]])
    }

    @Test("event-time windows of an empty input: nothing")
    func empty() async {
        #expect(await collect(items([]).tumblingWindows(of: .seconds(5)) { .seconds($0) }).isEmpty)
    }
}
