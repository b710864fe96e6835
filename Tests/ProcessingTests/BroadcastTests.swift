import StreamKitProcessing
import Testing

@Suite("broadcast", .timeLimit(.minutes(1)))
struct BroadcastTests {
    @Test("every output receives every item, failures included, in order", arguments: 0...3)
    func everyOutputGetsEverything(position: Int) async {
        let fanOut = items([1, 2, 3], failureAt: position).broadcast(consumers: 3)

        let a = Collector(fanOut.outputs[0])
        let b = Collector(fanOut.outputs[1])
        let c = Collector(fanOut.outputs[2])

        let expected = describe(await collect(items([1, 2, 3], failureAt: position)))
        #expect(describe(await a.rest()) == expected)
        #expect(describe(await b.rest()) == expected)
        #expect(describe(await c.rest()) == expected)
    }

    @Test("with dropping outputs a slow consumer loses items (counted) and does not stall the others")
    func slowConsumerDoesNotStall() async {
        let source = CountingSource(1_000)
        let fanOut = source.items().broadcast([.block(capacity: 4), .dropOldest(capacity: 2)])
        let fast = Collector(fanOut.outputs[0])
        var slow = fanOut.outputs[1].makeAsyncIterator()
        #expect(await slow.next() != nil)

        let all = await fast.rest()

        #expect(all.count == 1_000)
        var rest: [Int] = []
        while let item = await slow.next() { rest.append(item.value ?? -1) }
        #expect(rest.count <= 2)
        #expect(fanOut.dropped[1].value == 1_000 - 1 - rest.count)
        #expect(fanOut.dropped[0].value == 0)
    }

    @Test("with blocking outputs the slowest consumer holds back the input (nothing lost)")
    func blockingStallsInput() async {
        let source = CountingSource(1_000)
        let fanOut = source.items().broadcast(consumers: 2, policy: .block(capacity: 4))
        let fast = Collector(fanOut.outputs[0])
        var slow = fanOut.outputs[1].makeAsyncIterator()
        #expect(await slow.next()?.value == 0)

        await settle { source.counter.value }

        #expect(source.counter.value <= 7)
        var count = 1
        while await slow.next() != nil { count += 1 }
        #expect(count == 1_000)
        #expect(await fast.rest().count == 1_000)
    }

    @Test("a consumer that starts late still receives items from the start, within its buffer")
    func lateConsumer() async {
        let fanOut = items([1, 2, 3]).broadcast(consumers: 2, policy: .block(capacity: 8))

        let first = await collect(fanOut.outputs[0])
        let second = await collect(fanOut.outputs[1])

        #expect(first.compactMap(\.value) == [1, 2, 3])
        #expect(second.compactMap(\.value) == [1, 2, 3])
    }

    @Test("an output whose consumer stops is detached: the others go on and its items are counted")
    func detachedOutput() async {
        let source = TestSource<Int>()
        let fanOut = source.items().broadcast(consumers: 2, policy: .block(capacity: 1))
        let stays = Collector(fanOut.outputs[0])
        let leaves = Collector(fanOut.outputs[1])
        await source.send(1)
        #expect(await leaves.next()?.value == 1)
        leaves.cancel()
        await leaves.waitForEnd()

        await source.send(contentsOf: [2, 3, 4])
        source.finish()

        #expect(await stays.rest().compactMap(\.value) == [1, 2, 3, 4])
        #expect(fanOut.dropped[1].value == 3)
    }

    @Test("an empty input ends every output; a second iterator of an output yields nothing")
    func emptyAndSecondIterator() async {
        let fanOut = items([]).broadcast(consumers: 2)
        #expect(await collect(fanOut.outputs[0]).isEmpty)
        #expect(await collect(fanOut.outputs[1]).isEmpty)
        #expect(await collect(fanOut.outputs[1]).isEmpty)
    }

    @Test("cancelling every consumer stops the input")
    func cancellation() async {
        let source = TestSource<Int>()
        let fanOut = source.items().broadcast(consumers: 2)
        let a = Collector(fanOut.outputs[0])
        let b = Collector(fanOut.outputs[1])
        await source.send(1)
        #expect(await a.next()?.value == 1)

        a.cancel()
        b.cancel()

        await source.waitForTermination()
    }
}
