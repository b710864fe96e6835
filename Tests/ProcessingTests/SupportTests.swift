import StreamKitTestSupport
import Testing

@testable import StreamKitProcessing

@Suite("internal building blocks")
struct SupportTests {
    @Test("the ring keeps FIFO order across growth and wrap-around")
    func ringOrder() {
        var ring = Ring<Int>(capacity: 2)
        var expected: [Int] = []
        var popped: [Int] = []

        for value in 0..<100 {
            ring.append(value)
            expected.append(value)
            if value.isMultiple(of: 3), let first = ring.popFirst() { popped.append(first) }
        }
        while let first = ring.popFirst() { popped.append(first) }

        #expect(popped == expected)
        #expect(ring.isEmpty)
        #expect(ring.first == nil)
    }

    @Test("the heap pops entries by key, then id")
    func heapOrder() {
        var heap = MinHeap()
        var generator = SplitMix64(seed: 3)
        let keys = (0..<200).map { _ in Int64.random(in: -50...50, using: &generator) }
        for (id, key) in keys.enumerated() { heap.insert(.init(key: key, id: id)) }

        var popped: [MinHeap.Entry] = []
        while let top = heap.popTop() { popped.append(top) }

        #expect(popped.map(\.key) == keys.sorted())
        #expect(zip(popped, popped.dropFirst()).allSatisfy { $0.key < $1.key || ($0.key == $1.key && $0.id < $1.id) })
    }

    @Test("duration arithmetic saturates instead of trapping")
    func durationMath() {
        #expect(DurationMath.nanoseconds(.seconds(2)) == 2_000_000_000)
        #expect(DurationMath.nanoseconds(.seconds(Int64.max)) == .max)
        #expect(DurationMath.nanoseconds(.seconds(Int64.min)) == .min)
        #expect(DurationMath.position(.seconds(Int64.max)) == DurationMath.maxPosition)
        #expect(DurationMath.span(.zero) == 1)
        #expect(DurationMath.span(.seconds(-5)) == 1)
        #expect(DurationMath.nonNegativeSpan(.seconds(-5)) == 0)
        #expect(DurationMath.floorDivide(-1, 5) == -1)
        #expect(DurationMath.floorDivide(-5, 5) == -1)
        #expect(DurationMath.floorDivide(4, 5) == 0)
    }

    @Test("FNV-1a matches the reference vectors")
    func fnv() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test("a window book at extreme positions neither traps nor loses values")
    func windowBookExtremes() {
        var book = WindowBook<Int>(size: DurationMath.maxSpan, slide: DurationMath.maxSpan)

        let first = book.insert(1, at: DurationMath.maxPosition)
        let second = book.insert(2, at: -DurationMath.maxPosition)
        let closed = book.close(through: DurationMath.maxPosition) + book.closeAll()

        #expect(first && second)
        #expect(closed.flatMap(\.values).sorted() == [1, 2])
    }

    @Test("a session book bounds its heap of stale entries")
    func sessionBookCompaction() {
        var book = SessionBook<String, Int>(gap: 10, maxSessions: 4)

        for position in 0..<10_000 { _ = book.insert(position, key: "k", at: Int64(position)) }

        let closed = book.closeAll()
        #expect(closed.count == 1)
        #expect(closed.first?.values.count == 10_000)
    }
}
