import Testing

@testable import StreamKitEngine

/// The keyed queue behind subscriptions' statuses (engine and client): one element per key, the newest, in the
/// order keys first arrived; bounded by the number of keys however many elements come.
struct CoalescingQueueTests {
    @Test func aNewerElementReplacesTheWaitingOneOfItsKeyInItsPlace() {
        var queue = CoalescingQueue<Int>()

        let replaced = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)].map { queue.push($0.1, key: $0.0) }
        let count = queue.count
        var out: [Int] = []
        while let element = queue.popFirst() { out.append(element) }

        #expect(replaced == [false, false, true, false, true])
        #expect(count == 3)
        #expect(out == [3, 5, 4])
        #expect(queue.isEmpty)
    }

    @Test func longRunsOfPushesAndPopsKeepTheOrderAndTheBound() {
        var queue = CoalescingQueue<Int>()
        var out: [Int] = []

        for i in 0..<5_000 {
            queue.push(i, key: "k\(i % 3_000)")
            if i % 2 == 1, let element = queue.popFirst() { out.append(element) }
        }
        let waiting = queue.count
        while let element = queue.popFirst() { out.append(element) }

        #expect(waiting <= 3_000)
        #expect(out.count == Set(out).count, "no element twice")
        #expect(Set(out).isSuperset(of: 4_000..<5_000), "the newest of each key is delivered")
    }

    @Test func removeAllDropsEverythingAndTheQueueIsUsableAgain() {
        var queue = CoalescingQueue<String>()
        queue.push("x", key: "a")
        queue.push("y", key: "b")

        queue.removeAll()
        let afterRemove = queue.popFirst()
        queue.push("z", key: "a")

        #expect(afterRemove == nil)
        #expect(queue.popFirst() == "z")
    }
}
