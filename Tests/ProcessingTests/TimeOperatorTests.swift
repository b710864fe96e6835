import StreamKitProcessing
import Testing

@Suite("debounce, throttle, rateLimit, monitor", .timeLimit(.minutes(1)))
struct TimeOperatorTests {
    // MARK: - debounce

    @Test("debounce delivers a value only after a quiet period, newest wins (trailing edge)")
    func debounceTrailing() async {
        let clock = ManualClock()
        let source = TestSource<StreamItem<Int>>()
        let collector = Collector(source.debounce(for: .milliseconds(100), clock: clock))

        await source.send(StreamItem(1))
        clock.advance(by: .milliseconds(50))
        await source.send(StreamItem(2, metadata: ["latest": true]))
        clock.advance(by: .milliseconds(99))
        // t = 149 ms: 2 is not due yet (due at 150 ms); a failure passes at once and comes first.
        await source.send(failureItem())
        #expect(await collector.next()?.failure != nil)

        clock.advance(by: .milliseconds(1))
        let settled = await collector.next()

        #expect(settled?.value == 2)
        #expect(settled?.metadata["latest"] == true)
    }

    @Test("debounce flushes the pending value when the input ends")
    func debounceFlushes() async {
        let clock = ManualClock()

        let result = await collect(items([1, 2, 3]).debounce(for: .seconds(1), clock: clock))

        #expect(describe(result) == ["3"])
    }

    @Test("debounce lets failures through at every position", arguments: 0...2)
    func debounceFailures(position: Int) async {
        let clock = ManualClock()

        let result = await collect(items([1, 2], failureAt: position).debounce(for: .seconds(1), clock: clock))

        #expect(result.filter { !$0.isSuccess }.count == 1)
        #expect(result.last?.value == 2)
    }

    @Test("debounce of an empty input is empty; a zero interval passes everything")
    func debounceBoundaries() async {
        let clock = ManualClock()
        #expect(await collect(items([]).debounce(for: .seconds(1), clock: clock)).isEmpty)
        #expect(describe(await collect(items([1, 2]).debounce(for: .zero, clock: clock))) == ["1", "2"])
    }

    @Test("cancelling a debounce mid-way stops its tasks and releases the source")
    func debounceCancellation() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().debounce(for: .seconds(1), clock: clock))
        await source.send(1)
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await source.waitForTermination()
        #expect(await eventually { clock.sleeperCount == 0 })
    }

    @Test("a slow consumer of debounce: the input is still drained but only the newest value is held")
    func debounceSlowConsumer() async {
        let clock = ManualClock()
        let source = CountingSource(10_000)
        var iterator = source.items().debounce(for: .seconds(1), clock: clock).makeAsyncIterator()

        let last = await iterator.next()

        #expect(last?.value == 9_999)
        #expect(source.counter.value == 10_000)
    }

    // MARK: - throttle

    @Test("throttle passes the first value, drops the rest of the interval, and counts drops")
    func throttleLeadingEdge() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let dropped = ItemCounter()
        let collector = Collector(source.items().throttle(for: .seconds(1), clock: clock, dropped: dropped))

        await source.send(1)
        await source.send(2)
        clock.advance(by: .milliseconds(999))
        await source.send(3)
        clock.advance(by: .milliseconds(1))
        await source.send(4)
        source.finish()

        #expect(await collector.rest().compactMap(\.value) == [1, 4])
        #expect(dropped.value == 2)
    }

    @Test("throttle always passes failures; a zero interval passes everything", arguments: 0...3)
    func throttleFailures(position: Int) async {
        let clock = ManualClock()

        let throttled = await collect(items([1, 2, 3], failureAt: position).throttle(for: .seconds(1), clock: clock))
        let unthrottled = await collect(items([1, 2, 3]).throttle(for: .zero, clock: clock))

        #expect(throttled.compactMap(\.value) == [1])
        #expect(throttled.filter { !$0.isSuccess }.count == 1)
        #expect(unthrottled.count == 3)
    }

    @Test("throttle and rateLimit pull only what the consumer asks for")
    func pullOnDemand() async {
        let clock = ManualClock()
        let source = CountingSource(1_000)
        var iterator = source.items()
            .throttle(for: .zero, clock: clock)
            .rateLimit(1, per: .seconds(1), burst: 10, clock: clock)
            .makeAsyncIterator()

        _ = await iterator.next()
        _ = await iterator.next()

        #expect(source.counter.value == 2)
    }

    // MARK: - rateLimit

    @Test("rateLimit lets a burst through, then paces values one per interval, dropping none")
    func rateLimitPaces() async {
        let clock = ManualClock()
        let collector = Collector(items([1, 2, 3, 4]).rateLimit(1, per: .seconds(1), burst: 2, clock: clock))

        #expect(await collector.next(2).compactMap(\.value) == [1, 2])
        #expect(await clock.waitForSleepers(1))
        #expect(collector.buffered == 0)

        clock.advance(by: .seconds(1))
        #expect(await collector.next()?.value == 3)
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(1))
        #expect(await collector.next()?.value == 4)
        #expect(await collector.next() == nil)
    }

    @Test("rateLimit passes failures without waiting or using a permit")
    func rateLimitFailures() async {
        let clock = ManualClock()
        let collector = Collector(items([1, 2], failureAt: 1).rateLimit(1, per: .seconds(1), clock: clock))

        #expect(describe(await collector.next(2)) == ["1", "!upstream"])
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(1))
        #expect(await collector.next()?.value == 2)
    }

    @Test("rateLimit of an empty input ends; a non-positive period disables the limit")
    func rateLimitBoundaries() async {
        let clock = ManualClock()
        #expect(await collect(items([]).rateLimit(1, per: .seconds(1), clock: clock)).isEmpty)
        #expect(await collect(items([1, 2, 3]).rateLimit(1, per: .zero, clock: clock)).count == 3)
    }

    @Test("cancelling the consumer while it waits for a permit ends the sequence")
    func rateLimitCancellation() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().rateLimit(1, per: .seconds(10), clock: clock))
        await source.send(1)
        source.yield(2)
        #expect(await collector.next()?.value == 1)
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await collector.waitForEnd()
        await source.waitForTermination()
        #expect(clock.sleeperCount == 0)
    }

    // MARK: - monitor

    @Test("monitor reports count, failures and rate per interval, idle intervals included")
    func monitorReports() async {
        let clock = ManualClock()
        let log = ReportLog()
        let source = TestSource<StreamItem<Int>>()
        let collector = Collector(source.monitor(every: .seconds(2), clock: clock, report: log.report))

        await source.send(StreamItem(1))
        await source.send(StreamItem(2))
        await source.send(failureItem())
        #expect(await collector.next(3).count == 3)
        clock.advance(by: .seconds(2))
        let first = await log.next()
        clock.advance(by: .seconds(2))
        let idle = await log.next()

        #expect(first == MonitorReport(count: 3, failures: 1, interval: .seconds(2)))
        #expect(first.ratePerSecond == 1.5)
        #expect(idle.count == 0)
        #expect(idle.ratePerSecond == 0)
    }

    @Test("monitor passes items unchanged and reports the partial last interval at the end")
    func monitorFinalReport() async {
        let clock = ManualClock()
        let log = ReportLog()

        let result = await collect(
            items([1, 2], failureAt: 2).monitor(every: .seconds(5), clock: clock, report: log.report)
        )
        let last = await log.next()

        #expect(describe(result) == ["1", "2", "!upstream"])
        #expect(last.count == 3)
        #expect(last.failures == 1)
        #expect(last.interval == .zero)
    }

    @Test("monitor of an empty input reports one empty interval")
    func monitorEmpty() async {
        let clock = ManualClock()
        let log = ReportLog()

        #expect(await collect(items([]).monitor(every: .seconds(1), clock: clock, report: log.report)).isEmpty)
        #expect(await log.next().count == 0)
    }

    @Test("cancelling a monitored pipeline stops the monitor's timer")
    func monitorCancellation() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let collector = Collector(source.items().monitor(every: .seconds(1), clock: clock) { _ in })
        await source.send(1)
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { clock.sleeperCount == 0 })
    }
}
