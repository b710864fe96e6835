/// Reads one WAL file into memory and finds its valid frames — or, salvaging, also every valid frame past
/// damaged bytes.
struct WALScanner {
    struct Result {
        var path: String
        var header: FileHeader
        var data: [UInt8]
        /// The valid frames before `problem`; salvaging, every valid frame of the file.
        var frames: [WALFrame.Info]
        /// Byte offset just after the last valid frame before `problem`.
        var validEnd: Int
        /// The first problem.
        var problem: ScanProblem?
        /// Every problem in file order: `problem` and, salvaging, those met past it.
        var problems: [ScanProblem] = []
        /// Salvaging: the file header did not decode, so `header` was made up from the file's name.
        var headerDamaged = false

        var fileID: UInt64 { header.fileID }
        /// Position after the last valid frame's last entry.
        var endPosition: UInt64 { frames.last.map { $0.lastPosition + 1 } ?? header.firstPosition }
    }

    let fileSystem: any FileSystem
    let layout: StoreLayout

    /// Scans WAL file `fileID`.
    ///
    /// - Parameter salvage: Read past damage — a file header that does not decode, a frame that fails its
    ///   checks with valid frames of the file after it — to every valid frame, listing each damaged spot in
    ///   `problems`. Without it the scan ends at the first problem, and an unreadable header throws.
    /// - Throws: `LogFilesError` — `.corrupt` for a file header that does not decode (unless salvaging),
    ///   `.unsupportedVersion`, `.io`.
    func scan(fileID: UInt64, salvage: Bool = false) throws -> Result {
        let path = layout.walPath(fileID: fileID)
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let data = try file.readBytes(count: Int(try file.size()), at: 0)
        var result: Result
        do {
            let header = try data.withUnsafeBytes { (b) in try FileHeader.decode(b, kind: .wal, path: path) }
            result = Result(path: path, header: header, data: data, frames: [], validEnd: FileHeader.size, problem: nil)
        } catch let error as LogFilesError where salvage && error.code == .corrupt {
            // Frames carry the file id of the name; the first valid one says where the file starts. Bytes no
            // frame of this file claims are taken as stale (a recycled file's earlier life).
            let header = FileHeader(
                kind: .wal, flags: FileHeader.recycledFlag, firstPosition: 0, fileID: fileID, createdAt: 0)
            let problem = ScanProblem(
                path: path, offset: error.offset ?? 0, reason: error.message, isTail: data.count <= FileHeader.size)
            result = Result(
                path: path, header: header, data: data, frames: [], validEnd: FileHeader.size, problem: problem,
                problems: [problem], headerDamaged: true)
        }
        let header = result.header
        let headerDamaged = result.headerDamaged
        data.withUnsafeBytes { b in
            var offset = FileHeader.size
            var expected: UInt64? = headerDamaged ? nil : header.firstPosition
            if headerDamaged {
                guard let first = Self.nextValidFrame(b, from: offset, fileID: fileID, after: 0) else { return }
                offset = first
            }
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
                    if result.problem == nil { result.validEnd = offset }
                case .failure(let why):
                    let after = expected ?? 0
                    let next = Self.nextValidFrame(b, from: offset + 1, fileID: header.fileID, after: after)
                    if next == nil && header.flags & FileHeader.recycledFlag != 0 {
                        // Stale bytes of the file's previous life (or a torn last frame): the end.
                        return
                    }
                    let problem = ScanProblem(
                        path: path, offset: Int64(offset), reason: why.description, isTail: next == nil,
                        position: expected)
                    if result.problem == nil { result.problem = problem }
                    result.problems.append(problem)
                    guard salvage, let next else { return }
                    offset = next
                    expected = nil  // on from the next valid frame, wherever it starts
                }
            }
        }
        return result
    }

    /// Whether a valid frame of this file for a position ≥ `after` starts anywhere from `from` on.
    static func validFrameFollows(_ b: UnsafeRawBufferPointer, from: Int, fileID: UInt64, after: UInt64) -> Bool {
        nextValidFrame(b, from: from, fileID: fileID, after: after) != nil
    }

    /// The offset of the first valid frame of this file for a position ≥ `after` from `from` on.
    static func nextValidFrame(_ b: UnsafeRawBufferPointer, from: Int, fileID: UInt64, after: UInt64) -> Int? {
        var i = from
        while i + WALFrame.headerSize <= b.count {
            if b.baseAddress!.le(i + 8, as: UInt64.self) == fileID,
                case .success(let info) = WALFrame.validate(b, at: i, fileID: fileID, expectedPosition: nil),
                info.firstPosition >= after
            {
                return i
            }
            i += 1
        }
        return nil
    }
}
