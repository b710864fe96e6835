import StreamKitEngine

/// Cuts a read's entries into `entries` messages by count and by bytes, as ``EntryBatchLimits`` says, so every
/// message can be encoded whatever the entries' sizes.
///
/// Bytes are counted with `EntryBatchCodec.maxEncodedBytes(_:)`, an upper bound of each entry's share of the
/// encoding, so a batch never encodes larger than counted. Counting costs a few additions per entry (and a pass
/// over the metadata of entries that have some); nothing is allocated per entry, and the batch's storage is
/// reused from one message to the next once the sender has let go of it.
struct EntryBatcher {
    private let limits: EntryBatchLimits
    /// The batch being filled.
    private(set) var entries: [Entry] = []
    private var bytes = 0

    /// - Parameter limits: The count and byte limits.
    init(_ limits: EntryBatchLimits) {
        self.limits = limits
        entries.reserveCapacity(min(limits.maxCount, 1024))
    }

    /// Batches `entries` in order and hands each batch to `send` (which must not keep it past its return, for the
    /// storage to be reused).
    ///
    /// - Throws: `limitExceeded` for an entry too large for one message even alone (after sending the batch
    ///   before it), and whatever reading `entries` (after sending the batch read before the failure) or `send`
    ///   throws.
    static func forEachBatch<Entries: AsyncSequence>(
        of entries: Entries, limits: EntryBatchLimits, _ send: ([Entry]) async throws -> Void
    ) async throws where Entries.Element == Entry {
        var batcher = EntryBatcher(limits)
        var iterator = entries.makeAsyncIterator()
        while true {
            let entry: Entry
            do {
                guard let next = try await iterator.next() else { break }
                entry = next
            } catch {
                // A read that fails (a damaged block) still delivers the entries it read before.
                if !batcher.entries.isEmpty { try? await send(batcher.entries) }
                throw error
            }
            let size = EntryBatchCodec.maxEncodedBytes(entry)
            if batcher.mustCut(before: size) {
                try await send(batcher.entries)
                batcher.clear()
            }
            if size > limits.maxEntryBytes { try limits.checkSendable(entry) }
            batcher.append(entry, size: size)
            if batcher.isFull {
                try await send(batcher.entries)
                batcher.clear()
            }
        }
        if !batcher.entries.isEmpty { try await send(batcher.entries) }
    }

    /// Whether the batch must go before an entry of `size` bytes joins it.
    @inline(__always)
    func mustCut(before size: Int) -> Bool {
        !entries.isEmpty && bytes &+ size > limits.maxBytes
    }

    /// Adds an entry whose `EntryBatchCodec.maxEncodedBytes(_:)` is `size`.
    @inline(__always)
    mutating func append(_ entry: Entry, size: Int) {
        entries.append(entry)
        bytes &+= size
    }

    /// Whether the batch is complete: at the count limit, or at or over the byte limit.
    var isFull: Bool { entries.count >= limits.maxCount || bytes >= limits.maxBytes }

    /// Empties the batch, keeping its storage.
    mutating func clear() {
        entries.removeAll(keepingCapacity: true)
        bytes = 0
    }
}
