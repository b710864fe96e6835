/// A binary min-heap of `(key, id)` pairs ordered by key, then id. Not thread-safe.
@usableFromInline
struct MinHeap: Sendable {
    @usableFromInline
    struct Entry: Sendable, Equatable {
        @usableFromInline var key: Int64
        @usableFromInline var id: Int

        @inlinable
        init(key: Int64, id: Int) {
            self.key = key
            self.id = id
        }
    }

    @usableFromInline var entries: [Entry] = []

    @inlinable
    init() {}

    @inlinable
    var count: Int { entries.count }

    @inlinable
    var top: Entry? { entries.first }

    @inlinable
    mutating func insert(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable
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
            if left < entries.count, Self.less(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count, Self.less(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    /// Rebuilds the heap from `newEntries` (used to drop stale entries in one pass).
    @inlinable
    mutating func rebuild(_ newEntries: [Entry]) {
        entries = []
        entries.reserveCapacity(newEntries.count)
        for entry in newEntries { insert(entry) }
    }

    @inlinable
    static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.key != b.key ? a.key < b.key : a.id < b.id
    }
}
