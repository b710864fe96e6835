/// Layout of one WAL frame: a whole transaction, checksummed.
///
/// ```
/// off size field
///   0   4  body length N
///   4   4  CRC32C of the body
///   8   8  body: WAL file id (equals the file header's; stale frames of another file never match)
///  16   8  body: first position
///  24   4  body: entry count
///  28   4  body: reserved, 0
///  32   …  body: the transaction's records (RecordCodec layout), all of one segment, the last one flagged
/// ```
enum WALFrame {
    static let prefixSize = 8
    static let bodyHeaderSize = 24
    static let headerSize = prefixSize + bodyHeaderSize

    struct Info: Sendable {
        var offset: Int
        var firstPosition: UInt64
        var count: Int
        /// Byte range of the records inside the scanned file data.
        var records: Range<Int>
        var lastPosition: UInt64 { firstPosition + UInt64(count) - 1 }
    }

    /// Validates the frame at `offset` in `data`; returns its info or why it is invalid.
    static func validate(
        _ data: UnsafeRawBufferPointer, at offset: Int, fileID: UInt64, expectedPosition: UInt64?
    ) -> Result<Info, FrameProblem> {
        let available = data.count - offset
        guard available >= headerSize else { return .failure(.truncated) }
        let p = data.baseAddress! + offset
        let length = Int(p.le(0, as: UInt32.self))
        guard length >= bodyHeaderSize + RecordCodec.fixedSize else { return .failure(.badLength) }
        guard length <= available - prefixSize else { return .failure(.truncated) }
        guard p.le(8, as: UInt64.self) == fileID else { return .failure(.foreign) }
        guard CRC32C.checksum(UnsafeRawBufferPointer(start: p + prefixSize, count: length)) == p.le(4, as: UInt32.self)
        else { return .failure(.badChecksum) }
        let first: UInt64 = p.le(16)
        let count = Int(p.le(24, as: UInt32.self))
        if let expectedPosition, first != expectedPosition { return .failure(.positionGap(first, expectedPosition)) }
        // Records: framing, count, one segment, only the last flagged as ending the transaction.
        let records = UnsafeRawBufferPointer(start: p + headerSize, count: length - bodyHeaderSize)
        var o = 0
        var n = 0
        var names: UnsafeRawBufferPointer?
        while o < records.count {
            guard let size = RecordCodec.validatedSize(at: records.baseAddress! + o, available: records.count - o)
            else {
                return .failure(.badRecords)
            }
            let view = RecordView(base: records.baseAddress! + o)
            let own = UnsafeRawBufferPointer(start: view.space.baseAddress, count: view.spaceCount + view.segmentCount)
            if let names {
                guard names.elementsEqual(own) else { return .failure(.badRecords) }
            } else {
                names = own
            }
            o += size
            n += 1
            guard view.endsTransaction == (o == records.count) else { return .failure(.badRecords) }
        }
        guard n == count, count > 0 else { return .failure(.badRecords) }
        let start = offset + headerSize
        return .success(
            Info(offset: offset, firstPosition: first, count: count, records: start..<(start + records.count)))
    }
}

/// Why a WAL frame is invalid.
enum FrameProblem: Error, CustomStringConvertible {
    case truncated, badLength, foreign, badChecksum, badRecords
    case positionGap(UInt64, UInt64)

    var description: String {
        switch self {
        case .truncated: "frame runs past end of file"
        case .badLength: "frame length too small"
        case .foreign: "frame belongs to another WAL file"
        case .badChecksum: "frame checksum mismatch"
        case .badRecords: "frame records are badly framed"
        case .positionGap(let got, let expected): "frame starts at position \(got), expected \(expected)"
        }
    }
}
