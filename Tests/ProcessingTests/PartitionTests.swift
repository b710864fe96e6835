import StreamKitProcessing
import Testing

@Suite("partition", .timeLimit(.minutes(1)))
struct PartitionTests {
    private func drain<Value>(_ outputs: [HubOutput<Value>]) async -> [[StreamItem<Value>]] {
        let collectors = outputs.map { Collector($0) }
        var result: [[StreamItem<Value>]] = []
        for collector in collectors { result.append(await collector.rest()) }
        return result
    }

    @Test("hash partitioning sends equal keys to the same partition, stably (FNV-1a)")
    func hashStable() async {
        let words = ["apple", "banana", "cherry", "apple", "date", "banana"]
        let source = ItemSource(words.map { StreamItem($0) })

        let partitions = await drain(source.partition(into: 3, by: .hash { $0 }).outputs)

        for word in Set(words) {
            #expect(partitions.filter { $0.contains { $0.value == word } }.count == 1)
        }
        #expect(partitions.map(\.count).reduce(0, +) == 6)
        // FNV-1a 64 of "apple" is 0xA8E2_73E9_A9E1_B0D6 (stable across runs): partition 1 of 3… checked here
        // by placing it twice in the same run and comparing with a second partitioner.
        let again = await drain(ItemSource(words.map { StreamItem($0) }).partition(into: 3, by: .hash { $0 }).outputs)
        #expect(again.map { $0.compactMap(\.value) } == partitions.map { $0.compactMap(\.value) })
    }

    @Test("round robin deals values in turn")
    func roundRobin() async {
        let partitions = await drain(CountingSource(7).items().partition(into: 3, by: .roundRobin).outputs)

        #expect(partitions.map { $0.compactMap(\.value) } == [[0, 3, 6], [1, 4], [2, 5]])
    }

    @Test("a custom strategy routes by value; out-of-range indexes go to partition 0 and are counted")
    func customAndMisrouted() async {
        let partitioned = CountingSource(4).items().partition(
            into: 2,
            by: .custom { value, _ in value == 3 ? 9 : value % 2 }
        )

        let partitions = await drain(partitioned.outputs)

        #expect(partitions.map { $0.compactMap(\.value) } == [[0, 2, 3], [1]])
        #expect(partitioned.misrouted.value == 1)
    }

    @Test("failures go to partition 0 at every position", arguments: 0...2)
    func failuresToZero(position: Int) async {
        let partitions = await drain(
            items([1, 2], failureAt: position).partition(into: 2, by: .custom { _, _ in 1 }).outputs
        )

        #expect(describe(partitions[0]) == ["!upstream"])
        #expect(partitions[1].compactMap(\.value) == [1, 2])
    }

    @Test("an empty input ends every partition; a count below 1 counts as 1")
    func boundaries() async {
        #expect(await drain(items([]).partition(into: 2, by: .roundRobin).outputs).allSatisfy(\.isEmpty))
        #expect(items([1]).partition(into: 0, by: .roundRobin).outputs.count == 1)
    }

    @Test("a partition released without being iterated is detached: the others go on")
    func unconsumedPartition() async {
        // Only output 0 is kept; output 1 is released at once, never iterated.
        let first = CountingSource(10).items().partition(into: 2, by: .roundRobin, buffer: .block(capacity: 1)).outputs[
            0
        ]

        let result = await collect(first)

        #expect(result.compactMap(\.value) == [0, 2, 4, 6, 8])
    }

    @Test("a slow partition with a dropping buffer does not stall the other")
    func slowPartitionDrops() async {
        let source = CountingSource(100)
        let partitioned = source.items().partition(into: 2, by: .roundRobin, buffer: .dropNewest(capacity: 2))
        var slow = partitioned.outputs[1].makeAsyncIterator()
        #expect(await slow.next()?.value == 1)

        let fast = await collect(partitioned.outputs[0])

        #expect(fast.count + partitioned.dropped[0].value == 50)
        var rest = 0
        while await slow.next() != nil { rest += 1 }
        #expect(1 + rest + partitioned.dropped[1].value == 50)
    }

    @Test("cancelling every partition's consumer stops the input")
    func cancellation() async {
        let source = TestSource<Int>()
        let partitioned = source.items().partition(into: 2, by: .roundRobin)
        let a = Collector(partitioned.outputs[0])
        let b = Collector(partitioned.outputs[1])
        await source.send(1)
        #expect(await a.next()?.value == 1)

        a.cancel()
        b.cancel()

        await source.waitForTermination()
    }
}
