import Synchronization
import StreamKitLogFiles

/// Everything a reader needs to turn positions into entries without going through the store actor: the
/// storage's sealed blocks (through the block cache and the block directory), the decoded tail, and the
/// visible watermark. Shared by the store and every reader; all parts are thread-safe.
final class StoreReadContext: Sendable {
    let storage: any StoreStorage
    let tail: TailBuffer
    let directory: BlockDirectory
    let cache: BlockCache
    /// Blocks found damaged by readers and the scrub.
    let damage: DamageLog
    /// Every position up to here is committed and visible; readers never look past it.
    private let visible: Atomic<UInt64>

    init(storage: any StoreStorage, tailStart: UInt64, visibleThrough: UInt64, cacheBytes: Int, damage: DamageLog) {
        self.storage = storage
        self.damage = damage
        self.tail = TailBuffer(startPosition: tailStart)
        self.directory = BlockDirectory()
        self.cache = BlockCache(budget: cacheBytes)
        self.visible = Atomic(visibleThrough)
    }

    /// Blocks a sequential reader has decoded ahead of it (as many as ``BlockCache`` decodes at once): with
    /// one, the decoding core idled between blocks and the reader often decoded the next block itself;
    /// four took `engine.consume.segment` from 4.0–4.6M to 4.7–5.6M entries/s on 2 cores.
    static let readAheadBlocks = 4

    /// The last visible position.
    var visibleThrough: UInt64 { visible.load(ordering: .acquiring) }

    func publishVisible(_ position: UInt64) { visible.store(position, ordering: .releasing) }

    /// Collects entries with positions in `from...through` (clamped to the visible watermark) that `accept`
    /// takes, up to `max`. Blocks that `skip` rules out are not read. Returns the position after the last one
    /// examined (so a caller can continue from there).
    func scan(
        from: UInt64, through: UInt64, maxCount: Int, into out: inout [Entry], skip: ((Int) -> Bool)? = nil,
        _ accept: (Entry) -> Bool
    ) throws -> UInt64 {
        let limit = min(through, visibleThrough)
        var position = max(from, 1)
        while position <= limit && out.count < maxCount {
            let tailStart = tail.startPosition
            if position >= tailStart {
                return tail.collect(from: position, through: limit, max: maxCount, into: &out, accept)
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
            if block.lastPosition < limit, block.lastPosition + 1 < tailStart {
                // Decode the next blocks of the range on the other core while this reader works.
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
                        } catch {
                            damage.report(error, index: next, block: nextBlock, foundBy: .read)
                            throw error
                        }
                    }
                }
            }
            var i = Int(position - block.firstPosition)
            while i < entries.count, position <= limit, out.count < maxCount {
                let entry = entries[i]
                if accept(entry) { out.append(entry) }
                i += 1
                position += 1
            }
        }
        return position
    }

    /// Reads block `index` from the storage, reporting damage it finds.
    private func readBlock(_ index: Int, _ block: LogBlock) throws -> [Entry] {
        do { return try storage.readBlock(at: index) } catch let notLoaded as BlockNotLoaded {
            throw notLoaded
        } catch {
            damage.report(error, index: index, block: block, foundBy: .read)
            throw error
        }
    }

    /// The entry at `position`, if visible.
    nonisolated(nonsending) func entry(at position: UInt64) async throws -> Entry? {
        var out: [Entry] = []
        try await loading { _ = try scan(from: position, through: position, maxCount: 1, into: &out) { _ in true } }
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
            } catch let notLoaded as BlockNotLoaded {
                guard canRetry() else { throw notLoaded }
                loads += 1
                guard loads <= Self.maxLoads else {
                    throw StreamKitError(code: .storeUnavailable, message: "block \(notLoaded.index) could not be kept loaded")
                }
                try await storage.loadBlocks(from: notLoaded.index)
            }
        }
    }
}
