/// Recently closed stream ids, bounded in count and age, so late frames for them are ignored.
///
/// A FIFO of (id, closed at) plus a set for lookups; ids leave when the FIFO is over `maxCount` or their age
/// is over `lifetime`. Memory: O(`maxCount`).
struct MuxTombstones {
    private var ids: Set<UInt64> = []
    private var queue: [(id: UInt64, at: ContinuousClock.Instant)] = []
    private var head = 0
    let maxCount: Int
    let lifetime: Duration

    init(maxCount: Int, lifetime: Duration) {
        self.maxCount = maxCount
        self.lifetime = lifetime
    }

    var count: Int { ids.count }

    func contains(_ id: UInt64) -> Bool { ids.contains(id) }

    mutating func insert(_ id: UInt64, now: ContinuousClock.Instant) {
        guard maxCount > 0, ids.insert(id).inserted else { return }
        queue.append((id, now))
        while ids.count > maxCount { popFirst() }
        compact()
    }

    /// Forgets ids older than the lifetime.
    mutating func expire(now: ContinuousClock.Instant) {
        while head < queue.count, now - queue[head].at > lifetime { popFirst() }
        compact()
    }

    private mutating func popFirst() {
        ids.remove(queue[head].id)
        head += 1
    }

    private mutating func compact() {
        if head == queue.count {
            queue.removeAll(keepingCapacity: queue.count <= 4 * max(maxCount, 16))
            head = 0
        } else if head >= 64, head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }
}
