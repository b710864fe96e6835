import StreamKitLogFiles
import Synchronization

/// Everything a reader needs to turn positions into entries without going through the store actor: the
/// storage's sealed blocks (through the block cache and the block directory), the decoded tail, and the
/// visible watermark. Shared by the store and every reader; all parts are thread-safe.
final class StoreReadContext: Sendable {
    let storage: any StoreStorage
    /// The storage when it keeps blocks in files (stored blocks, read-ahead hints to the kernel).
    private let files: FileStorage?
    let tail: TailBuffer
    let directory: BlockDirectory
    let cache: BlockCache
    /// Blocks found damaged by readers and the scrub.
    let damage: DamageLog
    /// The store's throughput metrics (readers count what they hand out).
    let metrics: StoreMetrics
    /// Deletions whose entries may still be in the log: no read hands them out.
    let deleted: DeletedEntries
    /// Every position up to here is committed and visible; readers never look past it.
    private let visible: Atomic<UInt64>
    /// The log's first position: retention dropped everything before it, and readers never look before it.
    private let start: Atomic<UInt64>

    init(
        storage: any StoreStorage, tailStart: UInt64, visibleThrough: UInt64, cacheBytes: Int, damage: DamageLog,
        logStart: UInt64 = 1, deletions: [StoreManifest.Deletion] = [],
        metrics: StoreMetrics = StoreMetrics(factory: nil)
    ) {
        self.storage = storage
        self.deleted = DeletedEntries(deletions)
        self.files = storage as? FileStorage
        self.damage = damage
        self.tail = TailBuffer(startPosition: tailStart)
        self.directory = BlockDirectory()
        self.metrics = metrics
        self.cache = BlockCache(
            budget: cacheBytes, counters: (hits: metrics.blockCacheHits, misses: metrics.blockCacheMisses))
        self.visible = Atomic(visibleThrough)
        self.start = Atomic(max(1, logStart))
    }

    /// The position of the log's first entry (1 until retention drops entries).
    var logStart: UInt64 { start.load(ordering: .acquiring) }

    /// Moves the log's start forward after retention dropped the entries before `position`.
    func advanceLogStart(to position: UInt64) {
        _ = start.max(position, ordering: .acquiringAndReleasing)
    }

    /// Blocks a sequential reader has decoded ahead of it (as many as ``BlockCache`` decodes at once): with
    /// one, the decoding core idled between blocks and the reader often decoded the next block itself;
    /// four took `engine.consume.segment` from 4.0–4.6M to 4.7–5.6M entries/s on 2 cores.
    static let readAheadBlocks = 4

    /// The last visible position.
    var visibleThrough: UInt64 { visible.load(ordering: .acquiring) }

    func publishVisible(_ position: UInt64) { visible.store(position, ordering: .releasing) }

    /// Collects entries with positions in `from...through` (clamped to the visible watermark) that `accept`
    /// takes, up to `max`, leaving out deleted entries (unless `includeDeleted`: checking an offset). Blocks that
    /// `skip` rules out are not read. Returns the position after the last one examined (so a caller can continue
    /// from there).
    func scan(
        from: UInt64, through: UInt64, maxCount: Int, into out: inout [Entry], skip: ((Int) -> Bool)? = nil,
        includeDeleted: Bool = false, _ accept: (Entry) -> Bool
    ) throws -> UInt64 {
        let limit = min(through, visibleThrough)
        var position = max(from, logStart)
        let hidden = includeDeleted ? nil : deleted.snapshot(from: position)
        while position <= limit && out.count < maxCount {
            let tailStart = tail.startPosition
            if position >= tailStart {
                guard let hidden else {
                    return tail.collect(from: position, through: limit, max: maxCount, into: &out, accept)
                }
                return tail.collect(from: position, through: limit, max: maxCount, into: &out) {
                    !hidden.hides($0) && accept($0)
                }
            }
            guard let index = storage.blockIndex(containing: position), let block = storage.block(at: index),
                block.firstPosition <= position || block.firstPosition < tailStart
            else {
                position = tailStart  // not in a block: it is in the tail
                continue
            }
            if block.firstPosition > position { position = block.firstPosition }
            if let skip, skip(index) {
                position = block.lastPosition + 1
                continue
            }
            let entries = try cache.entries(ofBlock: index) { try readBlock(index, block) }
            readAhead(after: index, block, limit: limit, tailStart: tailStart, skip: skip)
            var i = Int(position - block.firstPosition)
            while i < entries.count, position <= limit, out.count < maxCount {
                let entry = entries[i]
                if hidden?.hides(entry) != true, accept(entry) { out.append(entry) }
                i += 1
                position += 1
            }
        }
        return position
    }

    /// A stretch of one decoded sealed block that a reader hands out as it is (no copy per entry).
    struct BlockWindow {
        /// The whole block (shared with the block cache).
        var entries: [Entry]
        /// The indices of `entries` in the window.
        var range: Range<Int>
    }

    /// `last`, or the last of `count` positions from `from` when that comes first: the `through` of a window
    /// for a read with `count` entries left to hand out.
    static func lastPosition(_ last: UInt64, from: UInt64, count: Int) -> UInt64 {
        let (end, overflow) = from.addingReportingOverflow(UInt64(Swift.max(count, 1)) - 1)
        return overflow ? last : Swift.min(last, end)
    }

    /// What ``window(from:through:waitForPrefetch:accept:)`` found.
    enum WindowLookup {
        /// The entries, in a decoded block.
        case window(BlockWindow)
        /// The block is being decoded ahead (``BlockCache/awaitPrefetch(_:)`` then look again).
        case prefetching(block: Int)
    }

    /// The entries at positions `from...through` (clamped to the visible watermark) that the sealed block
    /// holding `from` has, when `accept` takes that block (by index); nil when `from` is not visible, lies in
    /// the tail or in no block, or the block is not taken (the caller then scans). A block being decoded ahead
    /// is reported as such when `waitForPrefetch` (so the caller awaits it instead of decoding it twice), else
    /// read. Starts decoding the next blocks ahead, as ``scan(from:through:maxCount:into:skip:_:)`` does.
    func window(
        from: UInt64, through: UInt64, waitForPrefetch: Bool = true, accept: (Int) -> Bool = { _ in true }
    ) throws -> WindowLookup? {
        let limit = min(through, visibleThrough)
        let tailStart = tail.startPosition
        guard from >= logStart, from <= limit, from < tailStart, let index = storage.blockIndex(containing: from),
            let block = storage.block(at: index), block.firstPosition <= from, accept(index),
            !mayHideEntries(inBlock: index, firstPosition: block.firstPosition)
        else { return nil }
        let entries: [Entry]
        switch cache.lookup(index) {
        case .hit(let cached):
            entries = cached
        case .prefetching where waitForPrefetch:
            return .prefetching(block: index)
        case .prefetching, .miss:
            entries = try cache.entries(ofBlock: index, sequential: true) { try readBlock(index, block) }
        }
        readAhead(after: index, block, limit: limit, tailStart: tailStart, skip: nil)
        let lower = Int(from - block.firstPosition)
        let upper = Swift.min(entries.count, Int(Swift.min(limit, block.lastPosition) - block.firstPosition) + 1)
        guard lower < upper else { return nil }
        return .window(BlockWindow(entries: entries, range: lower..<upper))
    }

    /// ``window(from:through:waitForPrefetch:accept:)`` through ``loading(canRetry:_:)``, awaiting a block
    /// being decoded ahead (once; then it reads the block itself).
    nonisolated(nonsending) func window(
        from: UInt64, through: UInt64, accept: (Int) -> Bool = { _ in true }
    ) async throws -> BlockWindow? {
        var wait = true
        while true {
            var found: WindowLookup?
            try await loading {
                found = try window(from: from, through: through, waitForPrefetch: wait, accept: accept)
            }
            switch found {
            case .none: return nil
            case .window(let window)?: return window
            case .prefetching(let index)?:
                await cache.awaitPrefetch(index)
                wait = false
            }
        }
    }

    /// The entries at positions `from...through` (clamped to the visible watermark) as the sealed block holding
    /// `from` stores them, with the indices of those entries in the block: when the storage keeps blocks in
    /// files, the block holds `from`, `accept` takes it and it stores at most `maxBytes`; nil otherwise. The
    /// block is read, not checked or decoded (its reader does both).
    func storedWindow(
        from: UInt64, through: UInt64, maxBytes: Int, accept: (Int) -> Bool = { _ in true }
    ) throws -> (block: StoredBlock, range: Range<Int>)? {
        guard let files else { return nil }
        let limit = min(through, visibleThrough)
        // Sealed entries still in the tail go as their block too: sent as stored, they cost the sender nothing.
        guard from >= logStart, from <= limit, let index = storage.blockIndex(containing: from),
            let block = storage.block(at: index), block.firstPosition <= from, block.storedBytes <= maxBytes,
            accept(index), !mayHideEntries(inBlock: index, firstPosition: block.firstPosition)
        else { return nil }
        let stored: StoredBlock
        do { stored = try files.storedBlock(at: index) } catch {
            damage.report(error, index: index, block: block, foundBy: .read)
            throw error
        }
        let lower = Int(from - block.firstPosition)
        let upper = Int(Swift.min(limit, block.lastPosition) - block.firstPosition) + 1
        guard lower < upper, upper <= stored.header.entryCount else { return nil }
        return (stored, lower..<upper)
    }

    /// Whether sealed block `index` (starting at `firstPosition`) may hold an entry a deletion covers: then it is
    /// not handed out whole (the scan leaves those entries out).
    private func mayHideEntries(inBlock index: Int, firstPosition: UInt64) -> Bool {
        guard let snapshot = deleted.snapshot(from: firstPosition) else { return false }
        return directory.block(index, mayHold: directory.ids(of: snapshot.spaces(coveringFrom: firstPosition)))
    }

    /// Decodes the blocks after `index` that a read up to `limit` will need, on the other core, while the
    /// reader works on this one.
    private func readAhead(
        after index: Int, _ block: LogBlock, limit: UInt64, tailStart: UInt64, skip: ((Int) -> Bool)?
    ) {
        guard block.lastPosition < limit, block.lastPosition + 1 < tailStart else { return }
        let storage = self.storage
        let damage = self.damage
        for next in (index + 1)...(index + Self.readAheadBlocks) {
            guard let nextBlock = storage.block(at: next), nextBlock.firstPosition <= limit,
                nextBlock.firstPosition < tailStart
            else { break }
            if let skip, skip(next) { continue }
            cache.prefetch(next) {
                do { return try storage.readBlock(at: next) } catch is BlockNotLoaded {
                    throw BlockNotLoaded(index: next)
                } catch let dropped as BlockDropped {
                    throw dropped
                } catch {
                    damage.report(error, index: next, block: nextBlock, foundBy: .read)
                    throw error
                }
            }
        }
    }

    /// Reads block `index` from the storage, reporting damage it finds.
    private func readBlock(_ index: Int, _ block: LogBlock) throws -> [Entry] {
        do { return try storage.readBlock(at: index) } catch let notLoaded as BlockNotLoaded {
            throw notLoaded
        } catch let dropped as BlockDropped {
            throw dropped
        } catch {
            damage.report(error, index: index, block: block, foundBy: .read)
            throw error
        }
    }

    /// The entry at `position`, if visible (also when deleted: an offset issued for it stays valid).
    nonisolated(nonsending) func entry(at position: UInt64) async throws -> Entry? {
        var out: [Entry] = []
        try await loading {
            _ = try scan(from: position, through: position, maxCount: 1, into: &out, includeDeleted: true) { _ in true }
        }
        return out.first
    }

    /// Most times a read loads a block it was told to load and still finds it missing (other readers' loads
    /// pushed it out) before it gives up with `storeUnavailable`.
    static let maxLoads = 16

    /// Runs `body` (a scan), and when it finds a block the storage must load first (``BlockNotLoaded``) and
    /// `canRetry` says nothing was collected yet, awaits the load and runs it again. With entries collected,
    /// the signal is rethrown for the caller to deliver them first.
    nonisolated(nonsending) func loading(canRetry: () -> Bool = { true }, _ body: () throws -> Void) async throws {
        var loads = 0
        while true {
            do {
                try body()
                return
            } catch let dropped as BlockDropped {
                // Retention elsewhere dropped it: read on from the log's new start (the follow loop trims the rest).
                advanceLogStart(to: dropped.logStart)
                loads += 1
                guard canRetry(), loads <= Self.maxLoads else { throw BlockNotLoaded(index: dropped.index) }
            } catch let notLoaded as BlockNotLoaded {
                guard canRetry() else { throw notLoaded }
                loads += 1
                guard loads <= Self.maxLoads else {
                    throw StreamKitError(
                        code: .storeUnavailable, message: "block \(notLoaded.index) could not be kept loaded")
                }
                try await storage.loadBlocks(from: notLoaded.index)
            }
        }
    }
}
