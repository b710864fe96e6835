/// Reads one WAL file into memory and finds its valid frames.
struct WALScanner {
    struct Result {
        var path: String
        var header: FileHeader
        var data: [UInt8]
        var frames: [WALFrame.Info]
        /// Byte offset just after the last valid frame.
        var validEnd: Int
        var problem: ScanProblem?

        var fileID: UInt64 { header.fileID }
        /// Position after the last valid frame's last entry.
        var endPosition: UInt64 { frames.last.map { $0.lastPosition + 1 } ?? header.firstPosition }
    }

    let fileSystem: any FileSystem
    let layout: StoreLayout

    func scan(fileID: UInt64) throws -> Result {
        let path = layout.walPath(fileID: fileID)
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let data = try file.readBytes(count: Int(try file.size()), at: 0)
        let header = try data.withUnsafeBytes { (b) in try FileHeader.decode(b, kind: .wal, path: path) }
        var result = Result(path: path, header: header, data: data, frames: [], validEnd: FileHeader.size, problem: nil)
        data.withUnsafeBytes { b in
            var offset = FileHeader.size
            var expected = header.firstPosition
            while offset < b.count {
                if b.count - offset < WALFrame.prefixSize || b.baseAddress!.le(offset, as: UInt32.self) == 0 {
                    // Zero fill or a partial length field: the end, unless non-zero bytes hide there.
                    if b[offset...].allSatisfy({ $0 == 0 }) { break }
                }
                switch WALFrame.validate(b, at: offset, fileID: header.fileID, expectedPosition: expected) {
                case .success(let info):
                    result.frames.append(info)
                    offset = info.records.upperBound
                    expected = info.lastPosition + 1
                case .failure(let why):
                    let followed = Self.validFrameFollows(b, from: offset + 1, fileID: header.fileID, after: expected)
                    if !followed && header.flags & FileHeader.recycledFlag != 0 {
                        // Stale bytes of the file's previous life (or a torn last frame): the end.
                        result.validEnd = offset
                        return
                    }
                    result.problem = ScanProblem(
                        path: path, offset: Int64(offset), reason: why.description, isTail: !followed)
                    result.validEnd = offset
                    return
                }
            }
            result.validEnd = offset
        }
        return result
    }

    /// Whether a valid frame of this file for a position ≥ `after` starts anywhere from `from` on.
    static func validFrameFollows(_ b: UnsafeRawBufferPointer, from: Int, fileID: UInt64, after: UInt64) -> Bool {
        var i = from
        while i + WALFrame.headerSize <= b.count {
            if b.baseAddress!.le(i + 8, as: UInt64.self) == fileID,
                case .success(let info) = WALFrame.validate(b, at: i, fileID: fileID, expectedPosition: nil),
                info.firstPosition >= after
            {
                return true
            }
            i += 1
        }
        return false
    }
}
