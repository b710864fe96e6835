import StreamKitLogFiles
import Synchronization

/// Which spaces each sealed block holds, so that space reads skip blocks of other spaces without reading
/// them. Space names are interned to small integers.
final class BlockDirectory: Sendable {
    private struct State {
        var spaceIDs: [String: UInt32] = [:]
        /// Block `base + i` is entry `i` below: retention drops blocks from the front, indexes do not change.
        var base = 0
        /// Per block: its last position and the ids of the spaces it holds (sorted).
        var lastPositions: [UInt64] = []
        var spaces: [[UInt32]] = []
    }

    private let state = Mutex(State())

    /// Adds the next sealed block (blocks come in log order, the same order the storage indexes them).
    func add(_ sealed: SealedBlock) {
        state.withLock { state in
            state.lastPositions.append(sealed.block.lastPosition)
            state.spaces.append(Self.ids(of: sealed.runs, interning: &state))
        }
    }

    /// The sorted ids of the spaces a block's `runs` hold, interning new names.
    private static func ids(of runs: [SegmentRun], interning state: inout State) -> [UInt32] {
        var ids: [UInt32] = []
        for run in runs {
            let id: UInt32
            if let known = state.spaceIDs[run.space] {
                id = known
            } else {
                id = UInt32(state.spaceIDs.count)
                state.spaceIDs[run.space] = id
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids.sorted()
    }

    /// Replaces what blocks `first…` hold (compaction rewrote them: erased records count as a space of their own,
    /// the empty name, so that a rewritten block is never handed out whole).
    func replace(from first: Int, with blocks: [[SegmentRun]]) {
        state.withLock { state in
            for (offset, runs) in blocks.enumerated() {
                let i = first + offset - state.base
                guard state.spaces.indices.contains(i) else { continue }
                state.spaces[i] = Self.ids(of: runs, interning: &state)
            }
        }
    }

    /// One past the index of the last block known.
    var count: Int { state.withLock { $0.base + $0.lastPositions.count } }

    /// Forgets the blocks before `index` (retention dropped them).
    func drop(before index: Int) {
        state.withLock { state in
            let count = min(max(0, index - state.base), state.lastPositions.count)
            state.lastPositions.removeFirst(count)
            state.spaces.removeFirst(count)
            state.base += count
        }
    }

    /// Last position of the last known block (0 when none).
    var lastPosition: UInt64 { state.withLock { $0.lastPositions.last ?? 0 } }

    /// Interned ids of `names` that appear in any block (unknown names are in no block).
    func ids(of names: some Sequence<String>) -> Set<UInt32> {
        state.withLock { state in Set(names.compactMap { state.spaceIDs[$0] }) }
    }

    /// Whether block `index` may hold any of `ids` (true for blocks not registered yet).
    func block(_ index: Int, mayHold ids: Set<UInt32>) -> Bool {
        state.withLock { state in
            guard state.spaces.indices.contains(index - state.base) else { return true }
            return state.spaces[index - state.base].contains { ids.contains($0) }
        }
    }

    /// Whether block `index` holds only spaces among `ids` (false for blocks not registered yet).
    func block(_ index: Int, holdsOnly ids: Set<UInt32>) -> Bool {
        state.withLock { state in
            guard state.spaces.indices.contains(index - state.base) else { return false }
            return state.spaces[index - state.base].allSatisfy { ids.contains($0) }
        }
    }

    /// Bytes the directory uses, roughly.
    var approximateBytes: Int {
        state.withLock { state in
            state.lastPositions.count * 8 + state.spaces.reduce(0) { $0 + 32 + 4 * $1.count } + state.spaceIDs.count
                * 48
        }
    }
}
