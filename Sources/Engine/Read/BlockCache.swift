import Synchronization
import StreamKitLogFiles

/// Decoded blocks kept in memory within a byte budget; the least recently used go first.
final class BlockCache: Sendable {
    private struct Slot {
        var entries: [Entry]
        var bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var slots: [Int: Slot] = [:]
        var bytes = 0
        var tick: UInt64 = 0
        var hits = 0
        var misses = 0
        var prefetching: Set<Int> = []
    }

    private let state = Mutex(State())
    let budget: Int

    init(budget: Int) { self.budget = budget }

    /// The decoded block `index`, from the cache or through `load`.
    func entries(ofBlock index: Int, load: () throws -> [Entry]) throws -> [Entry] {
        if let hit = state.withLock({ state -> [Entry]? in
            state.tick += 1
            guard var slot = state.slots[index] else { return nil }
            slot.lastUse = state.tick
            state.slots[index] = slot
            state.hits += 1
            return slot.entries
        }) {
            return hit
        }
        let entries = try load()
        guard budget > 0 else { return entries }
        let bytes = entries.reduce(0) { $0 + TailBuffer.cost($1) }
        state.withLock { state in
            state.misses += 1
            guard state.slots[index] == nil, bytes <= budget else { return }
            while state.bytes + bytes > budget, let victim = state.slots.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.bytes -= victim.value.bytes
                state.slots[victim.key] = nil
            }
            state.tick += 1
            state.slots[index] = Slot(entries: entries, bytes: bytes, lastUse: state.tick)
            state.bytes += bytes
        }
        return entries
    }

    /// Decodes block `index` into the cache on another thread, unless it is cached or already on its way.
    /// Sequential readers call this for the blocks after the one they are in, so that decompression on one
    /// core overlaps their work on the other.
    func prefetch(_ index: Int, load: @escaping @Sendable () throws -> [Entry]) {
        guard budget > 0 else { return }
        let start = state.withLock { state -> Bool in
            guard state.slots[index] == nil, !state.prefetching.contains(index),
                state.prefetching.count < StoreReadContext.readAheadBlocks
            else {
                return false
            }
            state.prefetching.insert(index)
            return true
        }
        guard start else { return }
        Task.detached(priority: .medium) { [self] in
            _ = try? entries(ofBlock: index, load: load)
            state.withLock { _ = $0.prefetching.remove(index) }
        }
    }

    /// (hits, misses) so far.
    var counters: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }
}
