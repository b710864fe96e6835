import StreamKitLogFiles

/// The entries a read hands out next: `entries[index..<end]`, a stretch of a decoded block shared with the block
/// cache or a batch the read collected. Taking the next one is an index increment, inlined into the caller's loop.
@usableFromInline
struct EntryWindow: Sendable {
    @usableFromInline var entries: [Entry] = []
    @usableFromInline var index = 0
    @usableFromInline var end = 0

    init() {}

    /// The next entry of the window, or nil when it is used up.
    @inlinable
    mutating func next() -> Entry? {
        guard index < end else { return nil }
        defer { index &+= 1 }
        return entries[index]
    }

    /// Hands out `entries[range]` next, except the first, which is returned (the caller hands it out now).
    mutating func start(_ entries: [Entry], _ range: Range<Int>) -> Entry {
        self.entries = entries
        index = range.lowerBound + 1
        end = range.upperBound
        return entries[range.lowerBound]
    }

    /// Lets go of the entries (a cached block's array is not kept alive by a read that moved on).
    mutating func clear() {
        entries = []
        index = 0
        end = 0
    }
}
