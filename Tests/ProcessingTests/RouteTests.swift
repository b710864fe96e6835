import StreamKitProcessing
import Testing

@Suite("route (switch by key)", .timeLimit(.minutes(1)))
struct RouteTests {
    @Test("values go to the output of their key; unmatched values go to the default output and are counted")
    func routesByKey() async throws {
        let source = ItemSource(["a1", "b1", "c1", "a2", "z9"].map { StreamItem($0) })
        let routes = source.route(by: { String($0.prefix(1)) }, to: ["a", "b"])
        let a = Collector(try #require(routes.output(for: "a")))
        let b = Collector(try #require(routes.output(for: "b")))
        let other = Collector(routes.defaultOutput)

        #expect(await a.rest().compactMap(\.value) == ["a1", "a2"])
        #expect(await b.rest().compactMap(\.value) == ["b1"])
        #expect(await other.rest().compactMap(\.value) == ["c1", "z9"])
        #expect(routes.unmatched.value == 2)
        #expect(routes.output(for: "c") == nil)
        #expect(Set(routes.keys) == ["a", "b"])
    }

    @Test("failures go to the default output at every position, without counting as unmatched", arguments: 0...2)
    func failuresToDefault(position: Int) async throws {
        let routes = items([1, 2], failureAt: position).route(by: { $0 }, to: [1, 2])
        let one = Collector(try #require(routes.output(for: 1)))
        let two = Collector(try #require(routes.output(for: 2)))
        let other = Collector(routes.defaultOutput)

        #expect(await one.rest().count == 1)
        #expect(await two.rest().count == 1)
        #expect(describe(await other.rest()) == ["!upstream"])
        #expect(routes.unmatched.value == 0)
    }

    @Test("no routes at all: everything reaches the default output, nothing recurses or is lost")
    func noRoutes() async {
        let routes = items([1, 2, 3]).route(by: { $0 }, to: [])

        let result = await collect(routes.defaultOutput)

        #expect(result.compactMap(\.value) == [1, 2, 3])
        #expect(routes.unmatched.value == 3)
    }

    @Test("duplicate keys count once; an empty input ends every output")
    func boundaries() async {
        let routes = items([]).route(by: { $0 }, to: [1, 1, 2])

        #expect(routes.keys.count == 2)
        #expect(await collect(routes.defaultOutput).isEmpty)
    }

    @Test("a route whose consumer stopped counts its items as dropped instead of stalling the others")
    func stoppedRoute() async throws {
        let routes = CountingSource(20).items().route(by: { $0 % 2 }, to: [0, 1], buffer: .block(capacity: 1))
        let evens = Collector(try #require(routes.output(for: 0)))
        let defaults = Collector(routes.defaultOutput)
        var odds = try #require(routes.output(for: 1)).makeAsyncIterator()
        #expect(await odds.next()?.value == 1)
        _ = consume odds

        #expect(await evens.rest().count == 10)
        #expect(await defaults.rest().isEmpty)
        #expect(try #require(routes.dropped(for: 1)).value == 9)
    }

    @Test("cancelling every route's consumer stops the input")
    func cancellation() async throws {
        let source = TestSource<Int>()
        let routes = source.items().route(by: { $0 }, to: [1])
        let one = Collector(try #require(routes.output(for: 1)))
        let other = Collector(routes.defaultOutput)
        await source.send(1)
        #expect(await one.next()?.value == 1)

        one.cancel()
        other.cancel()

        await source.waitForTermination()
    }
}
