import StreamKitProcessing
import Testing

@Suite("buffer", .timeLimit(.minutes(1)))
struct BufferTests {
    @Test("a blocking buffer delivers everything in order and reads ahead at most its capacity")
    func blockingBuffer() async {
        let source = CountingSource(1_000)
        var iterator = source.items().buffer(.block(capacity: 8)).makeAsyncIterator()

        let first = await iterator.next()
        await settle { source.counter.value }

        #expect(first?.value == 0)
        // 8 waiting, 1 delivered, 1 in the pump's hand.
        #expect(source.counter.value <= 10)
        var rest: [Int] = []
        while let item = await iterator.next() { rest.append(item.value ?? -1) }
        #expect(rest == Array(1..<1_000))
    }

    @Test("dropNewest keeps the oldest items of a full buffer and counts the drops")
    func dropNewest() async {
        let source = TestSource<Int>()
        let dropped = ItemCounter()
        var iterator = source.items().buffer(.dropNewest(capacity: 2), dropped: dropped).makeAsyncIterator()
        source.yield(0)
        #expect(await iterator.next()?.value == 0)

        await source.send(contentsOf: [1, 2, 3, 4])
        source.finish()

        var rest: [Int] = []
        while let item = await iterator.next() { rest.append(item.value ?? -1) }
        #expect(rest == [1, 2])
        #expect(dropped.value == 2)
    }

    @Test("dropOldest keeps the newest items of a full buffer and counts the drops")
    func dropOldest() async {
        let source = TestSource<Int>()
        let dropped = ItemCounter()
        var iterator = source.items().buffer(.dropOldest(capacity: 2), dropped: dropped).makeAsyncIterator()
        source.yield(0)
        #expect(await iterator.next()?.value == 0)

        await source.send(contentsOf: [1, 2, 3, 4])
        source.finish()

        var rest: [Int] = []
        while let item = await iterator.next() { rest.append(item.value ?? -1) }
        #expect(rest == [3, 4])
        #expect(dropped.value == 2)
    }

    @Test("buffer passes failures at every position and ends with the input", arguments: 0...3)
    func failuresPass(position: Int) async {
        let result = await collect(items([1, 2, 3], failureAt: position).buffer(.block(capacity: 2)))

        #expect(result.count == 4)
        #expect(result[position].failure?.stage == "upstream")
    }

    @Test("buffer of an empty input is empty; capacity below 1 counts as 1")
    func boundaries() async {
        #expect(await collect(items([]).buffer(.block(capacity: 4))).isEmpty)
        #expect(BufferPolicy.block(capacity: 0).capacity == 1)
        #expect(await collect(items([1, 2]).buffer(.block(capacity: 0))).count == 2)
    }

    @Test("cancelling the consumer cancels the buffer's task and releases the source")
    func cancellation() async {
        let source = TestSource<Int>()
        let collector = Collector(source.items().buffer(.block(capacity: 4)))
        await source.send(1)
        #expect(await collector.next()?.value == 1)

        collector.cancel()

        await source.waitForTermination()
        await collector.waitForEnd()
    }

    @Test("releasing the iterator without cancelling also stops the buffer's task")
    func releaseIterator() async {
        let source = TestSource<Int>()
        do {
            var iterator = source.items().buffer(.block(capacity: 4)).makeAsyncIterator()
            source.yield(1)
            #expect(await iterator.next()?.value == 1)
        }

        await source.waitForTermination()
    }
}
