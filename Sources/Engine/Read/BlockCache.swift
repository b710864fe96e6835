import Metrics
import StreamKitLogFiles
import Synchronization

/// Decoded blocks kept in memory within a byte budget; the least recently used go first.
///
/// Blocks that sequential readers decode (ahead of them, or as they reach them) go to a short ring of recent
/// blocks instead, the oldest dropped first: a reader streaming a store much larger than the budget does not
/// push out what other readers use, and the memory of the blocks it is done with is soon reused for the next
/// ones (still in the processor's cache) instead of new pages for every block.
///
/// Blocks also come in ahead of readers: ``prefetch(_:load:)`` decodes a block on another thread, and a reader
/// that reaches a block still being decoded awaits it (``awaitPrefetch(_:)``) rather than decoding it a second
/// time.
final class BlockCache: Sendable {
    /// A cached block, linked into the recency list: `older` and `newer` are the neighbouring blocks' indexes.
    private struct Slot {
        var entries: [Entry]
        var bytes: Int
        var older: Int?
        var newer: Int?
    }

    /// What the cache knows of a block.
    enum Lookup {
        /// Decoded and cached.
        case hit([Entry])
        /// Being decoded ahead of its reader.
        case prefetching
        /// Neither.
        case miss
    }

    private struct State {
        /// Cached blocks, in a doubly linked list from the least recently used (`oldest`) to the most (`newest`):
        /// a hit moves its block to the end, eviction takes from the front, each in O(1).
        var slots: [Int: Slot] = [:]
        var oldest: Int?
        var newest: Int?
        var bytes = 0
        var hits = 0
        var misses = 0
        /// Blocks decoded for sequential readers, oldest first (at most ``BlockCache/recentBlocks``).
        var recent: [(index: Int, entries: [Entry])] = []
        /// Blocks being prefetched, each with the readers waiting for it.
        var prefetching: [Int: [CheckedContinuation<Void, Never>]] = [:]
        /// Bumped when blocks are evicted because their bytes changed (compaction): a block decoded before is
        /// not cached.
        var generation: UInt64 = 0

        /// The cached entries of block `index`, marked as just used.
        mutating func hit(_ index: Int) -> [Entry]? {
            guard let slot = slots[index] else {
                guard let found = recent.first(where: { $0.index == index }) else { return nil }
                hits += 1
                return found.entries
            }
            if newest != index {
                unlink(index)
                link(index)
            }
            hits += 1
            return slot.entries
        }

        /// Caches `entries` as the most recently used block.
        mutating func add(_ index: Int, entries: [Entry], bytes: Int) {
            slots[index] = Slot(entries: entries, bytes: bytes)
            link(index)
            self.bytes += bytes
        }

        /// Forgets block `index`, if cached.
        mutating func remove(_ index: Int) {
            guard let slot = slots[index] else { return }
            unlink(index)
            slots[index] = nil
            bytes -= slot.bytes
        }

        /// Puts cached block `index` (not linked) at the newest end of the list.
        private mutating func link(_ index: Int) {
            slots[index]?.older = newest
            slots[index]?.newer = nil
            if let newest { slots[newest]?.newer = index } else { oldest = index }
            newest = index
        }

        /// Takes cached block `index` out of the list (its slot stays).
        private mutating func unlink(_ index: Int) {
            guard let slot = slots[index] else { return }
            if let older = slot.older { slots[older]?.newer = slot.newer } else { oldest = slot.newer }
            if let newer = slot.newer { slots[newer]?.older = slot.older } else { newest = slot.older }
        }
    }

    private let state = Mutex(State())
    let budget: Int

    /// Blocks the ring of sequential reads holds: the blocks decoded ahead and as many again.
    static let recentBlocks = 2 * StoreReadContext.readAheadBlocks

    /// Counted on every lookup that finds a block (hits) or goes on to decode it (misses).
    private let metrics: (hits: Counter, misses: Counter)?

    init(budget: Int, counters: (hits: Counter, misses: Counter)? = nil) {
        self.budget = budget
        self.metrics = counters
    }

    /// Whether block `index` is cached (counted as a hit), on its way, or neither.
    func lookup(_ index: Int) -> Lookup {
        let found = state.withLock { state -> Lookup in
            if let entries = state.hit(index) { return .hit(entries) }
            return state.prefetching[index] == nil ? .miss : .prefetching
        }
        if case .hit = found { metrics?.hits.increment() }
        return found
    }

    /// Returns once block `index` is no longer being prefetched (at once if it is not).
    func awaitPrefetch(_ index: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state -> Bool in
                guard state.prefetching[index] != nil else { return false }
                state.prefetching[index]!.append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
    }

    /// The decoded block `index`, from the cache or through `load` (kept as a block of a sequential read when
    /// `sequential`).
    func entries(ofBlock index: Int, sequential: Bool = false, load: () throws -> [Entry]) throws -> [Entry] {
        let (hit, generation) = state.withLock { ($0.hit(index), $0.generation) }
        if let hit {
            metrics?.hits.increment()
            return hit
        }
        let entries = try load()
        insert(entries, index: index, sequential: sequential, generation: generation)
        return entries
    }

    /// Forgets the blocks with indexes in `ranges` (their stored bytes changed); blocks being decoded now are
    /// not cached when they arrive.
    func evict(_ ranges: [Range<Int>]) {
        state.withLock { state in
            state.generation += 1
            for range in ranges {
                for index in range { state.remove(index) }
                state.recent.removeAll { range.contains($0.index) }
            }
        }
    }

    private func insert(_ entries: [Entry], index: Int, sequential: Bool, generation: UInt64) {
        metrics?.misses.increment()
        guard budget > 0 else { return }
        if sequential {
            state.withLock { state in
                state.misses += 1
                guard state.generation == generation, state.slots[index] == nil,
                    !state.recent.contains(where: { $0.index == index })
                else { return }
                if state.recent.count >= Self.recentBlocks { state.recent.removeFirst() }
                state.recent.append((index, entries))
            }
            return
        }
        let bytes = entries.reduce(0) { $0 + TailBuffer.cost($1) }
        state.withLock { state in
            state.misses += 1
            guard state.generation == generation, state.slots[index] == nil, bytes <= budget else { return }
            while state.bytes + bytes > budget, let victim = state.oldest { state.remove(victim) }
            state.add(index, entries: entries, bytes: bytes)
        }
    }

    /// Decodes block `index` into the cache on another thread, unless it is cached or already on its way.
    /// Sequential readers call this for the blocks after the one they are in, so that decompression on one
    /// core overlaps their work on the other.
    func prefetch(_ index: Int, load: @escaping @Sendable () throws -> [Entry]) {
        guard budget > 0 else { return }
        let start = state.withLock { state -> UInt64? in
            guard state.slots[index] == nil, state.prefetching[index] == nil,
                !state.recent.contains(where: { $0.index == index }),
                state.prefetching.count < StoreReadContext.readAheadBlocks
            else {
                return nil
            }
            state.prefetching[index] = []
            return state.generation
        }
        guard let generation = start else { return }
        Task.detached(priority: .medium) { [self] in
            if let entries = try? load() { insert(entries, index: index, sequential: true, generation: generation) }
            let waiters = state.withLock { $0.prefetching.removeValue(forKey: index) ?? [] }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// (hits, misses) so far.
    var counters: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }
}
