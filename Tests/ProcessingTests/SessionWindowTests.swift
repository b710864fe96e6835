import StreamKitProcessing
import Testing

/// A keyed event for session tests.
struct Event: Sendable, Equatable, CustomStringConvertible {
    var key: String
    var second: Int

    var description: String { "\(key)\(second)" }
}

private func at(_ seconds: Int) -> ManualClock.Instant {
    ManualClock.Instant(offset: .seconds(seconds))
}

@Suite("session windows", .timeLimit(.minutes(1)))
struct SessionWindowTests {
    // MARK: - Processing time

    @Test("a session per key closes exactly when the gap has passed since its last value")
    func processingTimeSessions() async {
        let clock = ManualClock()
        let source = TestSource<Event>()
        let collector = Collector(source.items().sessionWindows(gap: .seconds(10), clock: clock) { $0.key })

        await source.send(Event(key: "a", second: 0))
        clock.advance(by: .seconds(5))
        await source.send(Event(key: "b", second: 5))
        clock.advance(by: .seconds(4))
        await source.send(Event(key: "a", second: 9))
        clock.advance(by: .seconds(6))
        let b = await collector.next()?.value
        clock.advance(by: .seconds(4))
        let a = await collector.next()?.value

        #expect(b?.key == "b")
        #expect(b?.window == Window(start: at(5), end: at(15), values: [Event(key: "b", second: 5)]))
        #expect(
            a?.window
                == Window(start: at(0), end: at(19), values: [Event(key: "a", second: 0), Event(key: "a", second: 9)])
        )
    }

    @Test("beyond maxSessions the session ending soonest is emitted early")
    func maxSessions() async {
        let clock = ManualClock()
        let source = TestSource<Event>()
        let collector = Collector(
            source.items().sessionWindows(gap: .seconds(10), maxSessions: 2, clock: clock) { $0.key }
        )

        await source.send(Event(key: "a", second: 0))
        clock.advance(by: .seconds(1))
        await source.send(Event(key: "b", second: 1))
        clock.advance(by: .seconds(1))
        await source.send(Event(key: "c", second: 2))

        #expect(await collector.next()?.value?.key == "a")
    }

    @Test("open sessions are emitted when the input ends; failures pass at every position", arguments: 0...2)
    func flushAndFailures(position: Int) async {
        let clock = ManualClock()
        var source = [StreamItem(Event(key: "a", second: 0)), StreamItem(Event(key: "b", second: 0))]
        source.insert(failureItem(as: Event.self), at: position)

        let result = await collect(ItemSource(source).sessionWindows(gap: .seconds(10), clock: clock) { $0.key })

        #expect(result.filter { !$0.isSuccess }.count == 1)
        #expect(Set(result.compactMap(\.value?.key)) == ["a", "b"])
    }

    @Test("sessions of an empty input: nothing")
    func empty() async {
        let clock = ManualClock()
        #expect(await collect(ItemSource<Event>([]).sessionWindows(gap: .seconds(1), clock: clock) { $0.key }).isEmpty)
    }

    @Test("cancelling the consumer stops the session pump and timer")
    func cancellation() async {
        let clock = ManualClock()
        let source = TestSource<Event>()
        let collector = Collector(source.items().sessionWindows(gap: .seconds(10), clock: clock) { $0.key })
        await source.send(Event(key: "a", second: 0))
        #expect(await clock.waitForSleepers(1))

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
        #expect(await eventually { clock.sleeperCount == 0 })
    }

    // MARK: - Event time

    private func events(_ list: [(String, Int)]) -> ItemSource<Event> {
        ItemSource(list.map { StreamItem(Event(key: $0.0, second: $0.1)) })
    }

    @Test("event-time sessions close when event time passes last value + gap, earliest end first")
    func eventTimeSessions() async {
        let source = events([("a", 0), ("a", 3), ("b", 4), ("a", 20)])

        let result = await collect(
            source.sessionWindows(gap: .seconds(5), timestamp: { .seconds($0.second) }) { $0.key }
        )

        #expect(
            result.compactMap {
                $0.value.map { "\($0.key)[\($0.window.start.components.seconds),\($0.window.end.components.seconds))" }
            } == ["a[0,8)", "b[4,9)", "a[20,25)"]
        )
    }

    @Test("an out-of-order value that bridges two sessions merges them")
    func bridgingMerge() async {
        let source = events([("a", 0), ("a", 8), ("a", 4)])

        let result = await collect(
            source.sessionWindows(gap: .seconds(5), allowedLateness: .seconds(10), timestamp: { .seconds($0.second) }) {
                $0.key
            }
        )

        #expect(result.count == 1)
        #expect(result.first?.value?.window.values.map(\.second) == [0, 8, 4])
        #expect(result.first?.value?.window.end == .seconds(13))
    }

    @Test("a value whose session already closed becomes a lateItem failure carrying it")
    func lateValue() async {
        let source = events([("a", 0), ("b", 100), ("a", 1)])

        let result = await collect(
            source.sessionWindows(gap: .seconds(5), timestamp: { .seconds($0.second) }) { $0.key }
        )

        let late = result.first { !$0.isSuccess }?.failure
        #expect((late?.error as? ProcessingError)?.code == .lateItem)
        #expect(late?.item(as: Event.self) == Event(key: "a", second: 1))
        #expect(result.compactMap(\.value?.key) == ["a", "b"])
    }
}
