import StreamKitProcessing
import Testing

@Suite("fanIn", .timeLimit(.minutes(1)))
struct FanInTests {
    @Test("fanIn merges every item of every source and ends when all have ended")
    func mergesAll() async {
        let result = await collect(
            fanIn([CountingSource(50).items(), CountingSource(30).items(), CountingSource(0).items()])
        )

        #expect(result.count == 80)
        #expect(result.compactMap(\.value).sorted() == (Array(0..<50) + Array(0..<30)).sorted())
    }

    @Test("fanIn keeps each source's own order")
    func perSourceOrder() async {
        let even = ItemSource((0..<100).filter { $0.isMultiple(of: 2) }.map { StreamItem($0) })
        let odd = ItemSource((0..<100).filter { !$0.isMultiple(of: 2) }.map { StreamItem($0) })

        let result = await collect(fanIn(even, odd)).compactMap(\.value)

        #expect(result.filter { $0.isMultiple(of: 2) } == Array(stride(from: 0, to: 100, by: 2)))
        #expect(result.filter { !$0.isMultiple(of: 2) } == Array(stride(from: 1, to: 100, by: 2)))
    }

    @Test("failures from any source flow through at every position", arguments: 0...2)
    func failures(position: Int) async {
        let result = await collect(fanIn([items([1, 2], failureAt: position), items([3])]))

        #expect(result.count == 4)
        #expect(result.filter { !$0.isSuccess }.count == 1)
    }

    @Test("fanIn of no source, or of empty sources, is empty")
    func empty() async {
        #expect(await collect(fanIn([ItemSource<Int>]())).isEmpty)
        #expect(await collect(fanIn(items([]), items([]))).isEmpty)
    }

    @Test("a slow consumer holds every source back: bounded read-ahead")
    func backpressure() async {
        let first = CountingSource(10_000)
        let second = CountingSource(10_000)
        var iterator = fanIn([first.items(), second.items()], capacity: 4).makeAsyncIterator()

        _ = await iterator.next()
        await settle { first.counter.value + second.counter.value }

        // 4 buffered + 1 delivered + 1 in each pump's hand.
        #expect(first.counter.value + second.counter.value <= 7)
    }

    @Test("cancelling the consumer stops every source")
    func cancellation() async {
        let a = TestSource<Int>()
        let b = TestSource<Int>()
        let collector = Collector(fanIn(a.items(), b.items()))
        await a.send(1)
        await b.send(2)
        #expect(await collector.next(2).count == 2)

        collector.cancel()

        await a.waitForTermination()
        await b.waitForTermination()
        await collector.waitForEnd()
    }
}
