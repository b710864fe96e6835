/// A binary min-heap of `(key, id)` pairs ordered by key, then id. Not thread-safe.
struct MinHeap: Sendable {
    struct Entry: Sendable, Equatable {
        var key: Int64
        var id: Int
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var top: Entry? { entries.first }

    mutating func insert(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popTop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, less(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count, less(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    /// Rebuilds the heap from `entries` (used to drop stale entries in one pass).
    mutating func rebuild(_ newEntries: [Entry]) {
        entries = []
        entries.reserveCapacity(newEntries.count)
        for entry in newEntries { insert(entry) }
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool {
        a.key != b.key ? a.key < b.key : a.id < b.id
    }
}
