import Synchronization

/// Where each sealed block is, for reads while the writer runs. The commit thread appends; readers look up.
final class ReadIndex: Sendable {
    struct Location: Sendable {
        var header: BlockHeader
        var fileFirstPosition: UInt64
        var offset: Int64
    }

    private struct State {
        var blocks: [Location] = []
        var fresh: [BlockSummary] = []
        var files: [UInt64: any StorageFile] = [:]
    }

    private let state = Mutex(State())
    private let fileSystem: any FileSystem
    private let layout: StoreLayout

    init(fileSystem: any FileSystem, layout: StoreLayout, blocks: [BlockSummary]) {
        self.fileSystem = fileSystem
        self.layout = layout
        state.withLock { state in
            state.blocks = blocks.map { Location(header: $0.header, fileFirstPosition: $0.fileFirstPosition, offset: $0.offset) }
        }
    }

    func publish(_ summary: BlockSummary) {
        state.withLock { state in
            state.blocks.append(
                Location(header: summary.header, fileFirstPosition: summary.fileFirstPosition, offset: summary.offset))
            state.fresh.append(summary)
        }
    }

    var count: Int { state.withLock { $0.blocks.count } }

    var lastPosition: UInt64 { state.withLock { $0.blocks.last?.header.lastPosition ?? 0 } }

    func location(at index: Int) -> Location? {
        state.withLock { $0.blocks.indices.contains(index) ? $0.blocks[index] : nil }
    }

    func takeFresh() -> [BlockSummary] {
        state.withLock { state in
            defer { state.fresh.removeAll() }
            return state.fresh
        }
    }

    /// Index of the block holding `position`, or of the first block after it; nil past the last block.
    func index(containing position: UInt64) -> Int? {
        state.withLock { state in
            let index = state.blocks.partitioningIndex { $0.header.lastPosition >= position }
            return index < state.blocks.count ? index : nil
        }
    }

    func file(_ fileFirstPosition: UInt64) throws -> any StorageFile {
        if let file = state.withLock({ $0.files[fileFirstPosition] }) { return file }
        let file = try fileSystem.open(layout.logPath(firstPosition: fileFirstPosition), mode: .read)
        return state.withLock { state in
            if let existing = state.files[fileFirstPosition] { return existing }
            state.files[fileFirstPosition] = file
            return file
        }
    }

    func closeFiles() {
        state.withLock { state in
            for file in state.files.values { file.close() }
            state.files.removeAll()
        }
    }
}
