import Foundation
import StreamKitLogFiles
import Synchronization
import Testing

@testable import StreamKitEngine

@Suite(.timeLimit(.minutes(1))) struct BlockCacheTests {
    private static func block(_ index: Int) -> [Entry] {
        [
            Entry(
                position: UInt64(index + 1), space: "s", segment: "g", sequence: UInt64(index + 1),
                timestamp: Int64(index),
                transactionID: UUID(), transactionNumber: UInt64(index + 1), endsTransaction: true, payload: [1, 2, 3])
        ]
    }

    private static func isHit(_ lookup: BlockCache.Lookup) -> Bool {
        if case .hit = lookup { return true }
        return false
    }

    @Test("blocks decoded for sequential reads stay in a short ring and never push cached blocks out")
    func sequentialBlocksStayInTheRing() throws {
        let cache = BlockCache(budget: 1 << 20)
        _ = try cache.entries(ofBlock: 0) { Self.block(0) }

        let streamed = BlockCache.recentBlocks + 10
        for index in 1...streamed {
            _ = try cache.entries(ofBlock: index, sequential: true) { Self.block(index) }
        }

        #expect(Self.isHit(cache.lookup(0)))
        #expect(Self.isHit(cache.lookup(streamed)))
        #expect(Self.isHit(cache.lookup(streamed - BlockCache.recentBlocks + 1)))
        #expect(!Self.isHit(cache.lookup(streamed - BlockCache.recentBlocks)))
        #expect(!Self.isHit(cache.lookup(1)))
    }

    @Test("a reader that reaches a block being decoded ahead awaits it and finds it cached, decoded once")
    func readerAwaitsPrefetch() async throws {
        // The load does not block: a test that parks a cooperative thread can starve the others of a 2-core pool.
        let cache = BlockCache(budget: 1 << 20)
        let loads = Atomic<Int>(0)
        cache.prefetch(7) {
            loads.add(1, ordering: .relaxed)
            return Self.block(7)
        }
        cache.prefetch(7) {
            loads.add(1, ordering: .relaxed)
            return Self.block(7)
        }

        await cache.awaitPrefetch(7)

        #expect(Self.isHit(cache.lookup(7)))
        let entries = try cache.entries(ofBlock: 7) {
            loads.add(1, ordering: .relaxed)
            return Self.block(7)
        }
        #expect(entries.map(\.sequence) == [8])
        #expect(loads.load(ordering: .relaxed) == 1)
    }

    @Test("awaiting a block nobody is decoding returns at once")
    func awaitWithoutPrefetchReturns() async {
        let cache = BlockCache(budget: 1 << 20)
        await cache.awaitPrefetch(3)
        guard case .miss = cache.lookup(3) else {
            Issue.record("block 3 should be unknown")
            return
        }
    }

    @Test("over its budget the cache drops the least recently used block, also after hits and evictions in between")
    func leastRecentlyUsedGoesFirst() throws {
        let cost = Self.block(0).reduce(0) { $0 + TailBuffer.cost($1) }
        let cache = BlockCache(budget: 3 * cost)
        for index in 1...3 { _ = try cache.entries(ofBlock: index) { Self.block(index) } }

        _ = cache.lookup(1)  // 2 is now the least recently used
        _ = try cache.entries(ofBlock: 4) { Self.block(4) }
        let afterFirst = (1...4).map { Self.isHit(cache.lookup($0)) }  // order of use now 1, 3, 4
        cache.evict([3..<4])
        _ = try cache.entries(ofBlock: 5) { Self.block(5) }
        _ = try cache.entries(ofBlock: 6) { Self.block(6) }  // 1 goes; 4, 5, 6 stay
        let afterSecond = (1...6).map { Self.isHit(cache.lookup($0)) }

        #expect(afterFirst == [true, false, true, true])
        #expect(afterSecond == [false, false, false, true, true, true])
    }
}
